"""Stored answers kept with a persistent store (kg.answers): `kg load` keeps each stored query's whole
answer; `kg query NAME` on the store prints it, byte for byte what the engine prints, and ignores it
(the engine answers) when it is stale, tampered with, of another store, or when the query text or its
parameters differ. ``KG_STORED_ANSWERS=0`` makes kg ask the engine: the tests compare the two.

Expected counts come from the article (its four circular deals, each seen from both sides) and from
how `kg synth` builds its network (``deals // 20`` circular pairs, each two deals that no other deal
connects, docs of kg.synth), not from kg's output.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.answers import ANSWERS_DIR, OFF_NAME, answer_path, find_answer
from kg.cli import main
from kg.queries import PAGE_ROWS, stored_queries

FIXTURE = Path(__file__).parent / "fixtures" / "flows" / "new_loop.ttl"
QUERIES = [query.name for query in stored_queries()]
#: Lines 39, 41, 43 and 50-51 of the article: four circular deals, each a row from either side.
ARTICLE_CIRCULAR_ROWS = 8
SYNTH_DEALS = 2400


def kg(*args, engine: bool = False) -> str:
    env = {"KG_STORED_ANSWERS": "0"} if engine else {}
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes.decode("utf-8")  # as written (click's .stdout turns \r\n into \n)


def load(directory: Path, *args) -> str:
    return kg("load", "--store", str(directory), *args)


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture(scope="module")
def bundled(tmp_path_factory):
    directory = tmp_path_factory.mktemp("answers") / "bundled"
    output = load(directory)
    assert f"stored the answers of {len(QUERIES)} queries" in output
    return directory


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("answers-synth")
    data = folder / "synth.ttl"
    kg("synth", "--deals", str(SYNTH_DEALS), "--seed", "7", "-o", str(data))
    load(folder / "store", str(data))
    return folder / "store"


def circular_rows(directory: Path, engine: bool = False) -> int:
    return len(csv_rows(kg("--store", str(directory), "query", "circular-deals", "--format", "csv", engine=engine))) - 1


def test_every_stored_query_is_stored_once(bundled):
    files = sorted((bundled / ANSWERS_DIR).glob("*.jsonl"))
    assert len(files) == len(QUERIES)  # every stored query is a SELECT
    names = sorted(json.loads(path.read_text(encoding="utf-8").splitlines()[0])["name"] for path in files)
    assert names == sorted(QUERIES)


@pytest.mark.parametrize("name", QUERIES)
def test_the_stored_answer_is_the_engines_in_every_format(bundled, name):
    for fmt in ("table", "csv", "tsv", "json", "md"):
        stored = kg("--store", str(bundled), "query", name, "--format", fmt)
        assert stored == kg("--store", str(bundled), "query", name, "--format", fmt, engine=True), fmt
    for option in (("--limit", "0"), ("--limit", "2"), ("--timeout", "60")):
        assert (kg("--store", str(bundled), "query", name, *option)
                == kg("--store", str(bundled), "query", name, *option, engine=True)), option


@pytest.mark.parametrize("name", QUERIES)
def test_the_stored_answer_is_the_engines_on_a_synthetic_network(synthetic, name):
    store = str(synthetic)
    for fmt in ("table", "csv", "json"):
        assert kg("--store", store, "query", name, "--format", fmt) == kg("--store", store, "query", name,
                                                                           "--format", fmt, engine=True), fmt


def test_counts_from_the_article_and_the_synthetic_network(bundled, synthetic):
    assert circular_rows(bundled) == ARTICLE_CIRCULAR_ROWS
    pairs = SYNTH_DEALS // 20
    assert circular_rows(synthetic) == ARTICLE_CIRCULAR_ROWS + 2 * pairs


def test_a_table_pages_a_stored_answer_with_the_right_count(synthetic):
    rows = len(csv_rows(kg("--store", str(synthetic), "query", "figures", "--format", "csv"))) - 1
    assert rows > PAGE_ROWS  # else there is nothing to page
    lines = kg("--store", str(synthetic), "query", "figures").splitlines()
    assert len(lines) == 2 + PAGE_ROWS + 1
    assert lines[-1] == (f"(first 1,000 rows shown; {rows - PAGE_ROWS:,} more not shown: "
                         "--limit 0 shows them all, --format csv writes them all)")
    everything = kg("--store", str(synthetic), "query", "figures", "--limit", "0").splitlines()
    assert len(everything) == 2 + rows + 1 and everything[-1] == f"({rows} rows)"
    assert everything[:2 + PAGE_ROWS] == lines[:2 + PAGE_ROWS]


def test_streamed_output_is_the_output_read_whole(synthetic):
    """CSV streamed from the stored answer is the CSV of the engine's answer read whole (--timeout)."""
    streamed = kg("--store", str(synthetic), "query", "investments", "--format", "csv")
    whole = kg("--store", str(synthetic), "query", "investments", "--format", "csv", "--timeout", "120", engine=True)
    assert streamed == whole
    as_json = json.loads(kg("--store", str(synthetic), "query", "investments", "--format", "json"))
    assert len(as_json["results"]["bindings"]) == len(csv_rows(streamed)) - 1


def _forge(directory: Path, name: str, change) -> Path:
    """Rewrite the stored answer of query ``name`` with ``change`` applied to its lines and seal it
    again with this user's key: what kg then prints shows that the file is what it reads."""
    from kg.sealed import write_sealed

    path = next(p for p in (directory / ANSWERS_DIR).glob("*.jsonl")
                if json.loads(p.read_text(encoding="utf-8").splitlines()[0])["name"] == name)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)[:-1]
    write_sealed(path, change(lines))
    return path


def test_kg_query_reads_the_stored_answer_and_trusts_only_its_seal(bundled, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(bundled, copy)
    engine = kg("--store", str(copy), "query", "people", "--format", "csv", engine=True)
    # a forged row, sealed as kg seals: printed (so the file is what kg query reads)
    path = _forge(copy, "people", lambda lines: [lines[0], '["SZhang San"]\n', '{"rows": 1}\n'])
    assert csv_rows(kg("--store", str(copy), "query", "people", "--format", "csv"))[1][0] == "Zhang San"
    # with the same default parameter given, and with --limit: the same text, the same answer
    assert "Zhang San" in kg("--store", str(copy), "query", "people", "--limit", "1")
    # the same bytes with the seal broken: ignored, the engine answers
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"Zhang San", b"Zhang Sam"))
    assert kg("--store", str(copy), "query", "people", "--format", "csv") == engine
    for damage in (b"", b"{not json\n", raw[: len(raw) // 2], b"\n".join(raw.split(b"\n")[-2:])):
        path.write_bytes(damage)
        assert kg("--store", str(copy), "query", "people", "--format", "csv") == engine


def test_other_parameters_or_text_run_the_engine(bundled, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(bundled, copy)
    _forge(copy, "money-into", lambda lines: [lines[0], '{"rows": 0}\n'])  # a stored answer with no rows
    assert kg("--store", str(copy), "query", "money-into", "--format", "csv").count("\n") == 1
    assert kg("--store", str(copy), "query", "money-into", "--param", "company=kgd:OpenAI",
              "--format", "csv").count("\n") == 1  # the default, given: the same text
    for args in (("--param", "company=Anthropic"),):
        assert (kg("--store", str(copy), "query", "money-into", *args, "--format", "csv")
                == kg("--store", str(copy), "query", "money-into", *args, "--format", "csv", engine=True))
    edited = tmp_path / "money-into.rq"
    edited.write_text((Path(__file__).parent.parent / "queries" / "money-into.rq").read_text(encoding="utf-8")
                      + "\n# edited\n", encoding="utf-8")
    answer = kg("--store", str(copy), "query", str(edited), "--format", "csv")
    assert answer.count("\n") > 1 and answer == kg("--store", str(copy), "query", str(edited), "--format", "csv",
                                                   engine=True)


def test_answers_of_another_store_are_ignored(bundled, synthetic, tmp_path):
    copy = tmp_path / "store"
    shutil.copytree(synthetic, copy)
    shutil.rmtree(copy / ANSWERS_DIR)
    shutil.copytree(bundled / ANSWERS_DIR, copy / ANSWERS_DIR)  # same query texts, other content
    assert circular_rows(copy) == ARTICLE_CIRCULAR_ROWS + 2 * (SYNTH_DEALS // 20)


def test_answers_are_remade_when_a_file_of_the_store_changes(tmp_path):
    data = tmp_path / "extra.ttl"
    data.write_text("@prefix kg: <https://w3id.org/aimoney/ontology#> .\n", encoding="utf-8")
    directory = tmp_path / "store"
    load(directory, str(data))
    assert circular_rows(directory) == ARTICLE_CIRCULAR_ROWS
    before = sorted(p.name for p in (directory / ANSWERS_DIR).iterdir())
    shutil.copy(FIXTURE, data)  # NeoCloud: Nvidia invests in it, it buys Nvidia GPUs (new_loop.txt)
    assert circular_rows(directory) == ARTICLE_CIRCULAR_ROWS + 2  # refreshed: the store and its answers
    after = sorted(p.name for p in (directory / ANSWERS_DIR).iterdir())
    assert after == before  # the same query texts ...
    from kg.queries import find_query, prepare_query
    text = prepare_query(None, find_query("circular-deals"), {}, None)
    assert find_answer(directory, text) is not None  # ... answered anew for the new content
    assert circular_rows(directory, engine=True) == ARTICLE_CIRCULAR_ROWS + 2


def test_no_answers_turns_them_off_until_answers(tmp_path):
    directory = tmp_path / "store"
    output = load(directory, "--no-answers")
    assert "stored the answers" not in output and not (directory / ANSWERS_DIR).exists()
    assert (directory / OFF_NAME).exists()
    load(directory, "--force")  # a rebuild keeps the choice
    assert not (directory / ANSWERS_DIR).exists()
    assert circular_rows(directory) == ARTICLE_CIRCULAR_ROWS
    assert "stored the answers of" in load(directory, "--answers")  # up to date: only the answers are made
    assert len(list((directory / ANSWERS_DIR).iterdir())) == len(QUERIES)
    assert "stored the answers" not in load(directory)  # fresh already: nothing to do


def test_a_stored_answer_holds_every_kind_of_term(tmp_path):
    """IRIs, blank nodes, plain, language-tagged and typed literals (XSD and others) and unbound cells
    come back as the engine gives them."""
    data = tmp_path / "terms.ttl"
    data.write_text('@prefix ex: <https://example.org/> .\n'
                    'ex:a ex:p "plain" , "中文"@zh , "1.50"^^<http://www.w3.org/2001/XMLSchema#decimal> ,\n'
                    '  "x"^^ex:type , [ ex:q ex:b ] , "2026-01-14"^^<http://www.w3.org/2001/XMLSchema#date> .\n',
                    encoding="utf-8")
    query = tmp_path / "terms.rq"
    query.write_text("SELECT ?o ?q WHERE { <https://example.org/a> <https://example.org/p> ?o "
                     "OPTIONAL { ?o <https://example.org/q> ?q } } ORDER BY STR(?o)\n", encoding="utf-8")
    directory = tmp_path / "store"
    load(directory, "--no-bundled", str(data))
    from kg.answers import build_answers
    from kg.queries import find_query, prepare_query
    text = prepare_query(None, find_query(str(query)), {}, None)
    assert find_answer(directory, text) is None  # not a stored query: not stored
    report = build_answers(directory, queries=[find_query(str(query))])  # as `kg load` stores the stored queries'
    assert report.answers == 1 and report.rows == 6
    assert find_answer(directory, text) is not None
    for fmt in ("table", "csv", "tsv", "json"):
        stored = kg("--store", str(directory), "query", str(query), "--format", fmt)
        assert stored == kg("--store", str(directory), "query", str(query), "--format", fmt, engine=True), fmt
    assert '"xml:lang": "zh"' in kg("--store", str(directory), "query", str(query), "--format", "json")
