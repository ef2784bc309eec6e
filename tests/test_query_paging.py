"""`kg query` on answers too long for a screen: a table shows its first page and says how many rows it
left out; CSV, TSV and JSON are written row by row as the engine yields them, and say exactly what the
answer read whole says.

The expected counts come from rdflib's own parser and triple index over the same files, not from kg.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from rdflib import Graph
from rdflib.namespace import RDFS

from kg.cli import main
from kg.graph import bundled_files
from kg.queries import PAGE_ROWS, find_query, format_select, prepare_query, run_query

LABELS = "SELECT ?thing ?label WHERE { ?thing rdfs:label ?label } ORDER BY ?thing ?label"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    path = tmp_path_factory.mktemp("paging") / "s.ttl"
    result = CliRunner().invoke(main, ["synth", "--deals", "1200", "--seed", "3", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def label_count(synthetic):
    """How many rdfs:label triples the bundled files and the synthetic file hold, by rdflib."""
    graph = Graph()
    for path in [*bundled_files(), synthetic]:
        graph.parse(path)
    return len(list(graph.triples((None, RDFS.label, None))))


def kg(*args):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout_bytes.decode("utf-8")  # as written (click's .stdout turns \r\n into \n)


def test_a_table_shows_the_first_page_and_how_many_more(synthetic, label_count):
    assert label_count > PAGE_ROWS + 100  # else there is nothing to page
    lines = kg("--data", str(synthetic), "query", LABELS).splitlines()
    assert len(lines) == 2 + PAGE_ROWS + 1  # heading, rule, the page, the note
    more = label_count - PAGE_ROWS
    assert lines[-1] == (f"(first 1,000 rows shown; {more:,} more not shown: "
                         "--limit 0 shows them all, --format csv writes them all)")


def test_limit_0_shows_every_row_and_limit_n_n_rows(synthetic, label_count):
    lines = kg("--data", str(synthetic), "query", LABELS, "--limit", "0").splitlines()
    assert len(lines) == 2 + label_count + 1 and lines[-1] == f"({label_count} rows)"
    lines = kg("--data", str(synthetic), "query", LABELS, "--limit", "7").splitlines()
    assert len(lines) == 2 + 7 + 1 and lines[-1] == "(7 rows)"


def test_a_short_answer_is_not_paged():
    assert kg("query", "people").splitlines()[-1] == "(6 rows)"  # the article's six people


def test_csv_streams_every_row(synthetic, label_count):
    rows = list(csv.reader(io.StringIO(kg("--data", str(synthetic), "query", LABELS, "--format", "csv"))))
    assert rows[0] == ["thing", "label"] and len(rows) == 1 + label_count


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json"])
def test_streamed_output_equals_the_answer_read_whole(synthetic, fmt):
    """The CLI streams (rows as the engine yields them); --timeout reads the answer whole first; the
    library's format_select formats a list of rows. All three must be the same text."""
    streamed = kg("--data", str(synthetic), "query", "figures", "--format", fmt)
    whole = kg("--data", str(synthetic), "query", "figures", "--format", fmt, "--timeout", "120")
    assert streamed == whole
    from kg.graph import load_graph

    graph = load_graph([synthetic], store="oxigraph")
    outcome = run_query(graph, prepare_query(graph, find_query("figures")))
    assert isinstance(outcome.rows, list) and len(outcome.rows) > PAGE_ROWS
    assert streamed == format_select(outcome, fmt)
    if fmt == "json":
        assert len(json.loads(streamed)["results"]["bindings"]) == len(outcome.rows)


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json"])
def test_streamed_empty_answer_equals_the_answer_read_whole(fmt):
    query = "SELECT ?x WHERE { ?x kg:noSuchProperty ?y }"
    assert kg("query", query, "--format", fmt) == kg("query", query, "--format", fmt, "--timeout", "60")


def test_streaming_on_rdflib_s_engine_gives_the_same_rows():
    from kg.graph import load_graph

    graph = load_graph()  # rdflib's own store
    text = prepare_query(graph, find_query("people"))
    streamed = run_query(graph, text, stream=True)
    assert not isinstance(streamed.rows, list)
    assert list(streamed.rows) == run_query(graph, text).rows
