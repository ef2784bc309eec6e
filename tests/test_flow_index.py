"""The flow index kept with a persistent store: made by `kg load`, remade when the store's files change,
used by the flow commands when it fits the store, and ignored (the commands read the RDF) when it is
missing, damaged or computed from other content. With or without it, every answer is the same.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.flow_index import INDEX_NAME, content_key, load_index
from kg.store import read_manifest

FIXTURE = Path(__file__).parent / "fixtures" / "flows" / "new_loop.ttl"
NEOCLOUD = "https://example.org/flows-test/NeoCloud"

COMMANDS = [
    ("cycles", "--max-length", "4"),
    ("cycles", "--assume", "restructuring=failed"),
    ("trace", "SoftBank", "Nvidia"),
    ("trace", "OpenAI", "--kind", "purchase"),
    ("flows",),
    ("flows", "OpenAI"),
    ("flows", "SoftBank", "--assume", "restructuring=failed"),
    ("flows", "--kind", "investment"),
]


def kg(*args) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def answers(*prefix) -> dict:
    return {command: json.loads(kg(*prefix, *command, "--format", "json")) for command in COMMANDS}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    directory = tmp_path_factory.mktemp("indexed") / "store"
    kg("load", "--store", str(directory))
    return directory


@pytest.fixture(scope="module")
def from_rdf():
    """The answers on the bundled data read from RDF files (no store, no index)."""
    return answers()


def test_kg_load_writes_an_index_that_fits_the_store(store):
    assert (store / INDEX_NAME).is_file()
    assert load_index(store) is not None
    assert _key(store) == content_key(read_manifest(store))


def test_answers_with_the_index_are_those_of_the_rdf(store, from_rdf):
    assert answers("--store", str(store)) == from_rdf


def test_a_missing_or_damaged_index_is_ignored(store, from_rdf, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    (copy / INDEX_NAME).unlink()
    assert load_index(copy) is None
    assert answers("--store", str(copy)) == from_rdf
    for damage in ("{not json", "[]", json.dumps({"format": "kg-flow-index", "version": 1,
                                                   "key": content_key(read_manifest(copy))})):
        (copy / INDEX_NAME).write_text(damage)
        assert load_index(copy) is None
        assert answers("--store", str(copy)) == from_rdf


def test_an_index_of_other_content_is_ignored(store, tmp_path):
    """A store holding a new loop, given the index of the bundled store (which has no such loop)."""
    other = tmp_path / "other"
    kg("load", "--store", str(other), str(FIXTURE))
    expected = answers("--data", str(FIXTURE))
    shutil.copy(store / INDEX_NAME, other / INDEX_NAME)
    assert load_index(other) is None
    got = answers("--store", str(other))
    assert got == expected
    assert any(NEOCLOUD in c["nodes"] for c in got[("cycles", "--max-length", "4")]["cycles"])


def test_the_index_is_remade_when_a_file_of_the_store_changes(tmp_path):
    data = tmp_path / "extra.ttl"
    data.write_text("@prefix kg: <https://w3id.org/aimoney/ontology#> .\n", encoding="utf-8")
    directory = tmp_path / "store"
    kg("load", "--store", str(directory), str(data))
    before = _key(directory)
    cycles = json.loads(kg("--store", str(directory), "cycles", "--format", "json"))["cycles"]
    assert not any(NEOCLOUD in c["nodes"] for c in cycles)
    shutil.copy(FIXTURE, data)  # the file now holds the new loop
    cycles = json.loads(kg("--store", str(directory), "cycles", "--format", "json"))["cycles"]
    assert any(NEOCLOUD in c["nodes"] for c in cycles)  # the store and its index were refreshed
    after = _key(directory)
    assert after != before and after == content_key(read_manifest(directory))
    assert load_index(directory) is not None


@pytest.mark.parametrize("options", [(), ("--focus", "OpenAI"), ("--top", "5", "--assume", "restructuring=failed")])
def test_the_deal_web_with_the_index_is_the_page_from_the_rdf(store, options):
    assert kg("--store", str(store), "viz", "-o", "-", *options) == kg("viz", "-o", "-", *options)


@pytest.mark.parametrize("fmt", ["csv", "graphml", "gexf"])
def test_export_of_the_flows_kept_with_the_store_is_the_export_from_the_rdf(store, fmt, tmp_path):
    from kg.flow_index import EDGES_NAME

    assert (store / EDGES_NAME).is_file()
    kg("--store", str(store), "export", "--flows", "--format", fmt, "-o", str(tmp_path / "stored"))
    kg("export", "--flows", "--format", fmt, "-o", str(tmp_path / "rdf"))
    assert (tmp_path / "stored").read_bytes() == (tmp_path / "rdf").read_bytes()
    # a what-if is not kept with the store: read from the RDF
    assume = ("--assume", "restructuring=failed")
    kg("--store", str(store), "export", "--flows", "--format", fmt, *assume, "-o", str(tmp_path / "stored-if"))
    kg("export", "--flows", "--format", fmt, *assume, "-o", str(tmp_path / "rdf-if"))
    assert (tmp_path / "stored-if").read_bytes() == (tmp_path / "rdf-if").read_bytes()
    assert (tmp_path / "stored-if").read_bytes() != (tmp_path / "stored").read_bytes()


def test_a_stale_stored_flow_graph_is_ignored(store, tmp_path):
    from kg.flow_index import EDGES_NAME

    other = tmp_path / "other"
    kg("load", "--store", str(other), str(FIXTURE))
    shutil.copy(store / EDGES_NAME, other / EDGES_NAME)  # the bundled store's flows: no NeoCloud
    kg("--store", str(other), "export", "--flows", "--format", "csv", "-o", str(tmp_path / "stored.csv"))
    kg("--data", str(FIXTURE), "export", "--flows", "--format", "csv", "-o", str(tmp_path / "rdf.csv"))
    assert (tmp_path / "stored.csv").read_text() == (tmp_path / "rdf.csv").read_text()
    assert NEOCLOUD in (tmp_path / "stored.csv").read_text()


def test_an_index_not_sealed_by_kg_for_this_user_is_ignored(store, from_rdf, tmp_path):
    """Someone who can write to the store's folder edits a party's name in the index, keeping its key:
    the seal no longer checks, and the answers come from the RDF."""
    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    text = (copy / INDEX_NAME).read_text(encoding="utf-8")
    assert '"OpenAI"' in text
    (copy / INDEX_NAME).write_text(text.replace('"OpenAI"', '"0penAI"'), encoding="utf-8")
    assert load_index(copy) is None
    assert answers("--store", str(copy)) == from_rdf


def _key(directory: Path) -> str:
    """The store content the index says it was computed from (its first line)."""
    return json.loads((directory / INDEX_NAME).read_text(encoding="utf-8").splitlines()[0])["key"]


def test_details_changed_in_the_store_are_ignored(store, from_rdf, tmp_path):
    """A party's name edited in flow-details.jsonl (its line's seal no longer checks): the answers and
    the page are those read from the RDF."""
    from kg.flow_index import DETAILS_NAME

    copy = tmp_path / "store"
    shutil.copytree(store, copy)
    text = (copy / DETAILS_NAME).read_text(encoding="utf-8")
    assert '"OpenAI"' in text
    (copy / DETAILS_NAME).write_text(text.replace('"OpenAI"', '"0penAI"'), encoding="utf-8")
    assert load_index(copy) is not None  # the index itself still fits
    assert answers("--store", str(copy)) == from_rdf
    assert kg("--store", str(copy), "viz", "-o", "-") == kg("viz", "-o", "-")


def test_details_and_csv_of_other_content_are_ignored(store, tmp_path):
    """A store holding a new loop, given the details and the CSV of the bundled store."""
    from kg.flow_index import CSV_NAME, DETAILS_NAME

    other = tmp_path / "other"
    kg("load", "--store", str(other), str(FIXTURE))
    assert (other / CSV_NAME).is_file() and (other / DETAILS_NAME).is_file()
    for name in (CSV_NAME, DETAILS_NAME):
        shutil.copy(store / name, other / name)
    assert load_index(other) is not None
    assert answers("--store", str(other)) == answers("--data", str(FIXTURE))
    kg("--store", str(other), "export", "--flows", "--format", "csv", "-o", str(tmp_path / "stored.csv"))
    kg("--data", str(FIXTURE), "export", "--flows", "--format", "csv", "-o", str(tmp_path / "rdf.csv"))
    assert (tmp_path / "stored.csv").read_text() == (tmp_path / "rdf.csv").read_text()
    assert NEOCLOUD in (tmp_path / "stored.csv").read_text()
