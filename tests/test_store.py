"""The Oxigraph query path: same answers as rdflib's engine, and persistent stores that reopen right."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from rdflib import Literal
from rdflib.compare import to_isomorphic

from kg.cli import main
from kg.graph import KG, KGD, QUERIES_DIR, RDF, RDFS, bundled_files, load_graph, sparql_prologue
from kg.store import MANIFEST_NAME, load_store, open_store

QUERY_FILES = sorted(QUERIES_DIR.glob("*.rq"))


#: Longest either engine may take on one stored query over the bundled data before the test fails.
ENGINE_CAP_SECONDS = 20

# Runs one stored query on one engine in a child process (so a runaway rdflib evaluation can be
# killed) and prints its answer in a comparable form: blank nodes are all alike (their labels are
# engine-local) and literals compare by datatype and value (1.0 and 1.00 are both xsd:decimal 1).
_WORKER = r"""
import json, sys
from decimal import Decimal, InvalidOperation
from rdflib import BNode, Literal, URIRef
from rdflib.compare import to_isomorphic
from kg.graph import load_graph
from kg.queries import find_query, prepare_query, run_query

def key(term):
    if term is None:
        return ["unbound"]
    if isinstance(term, BNode):
        return ["bnode"]
    if isinstance(term, URIRef):
        return ["iri", str(term)]
    if term.language:
        return ["lang", str(term), term.language.lower()]
    datatype = str(term.datatype or "http://www.w3.org/2001/XMLSchema#string")
    if datatype.endswith(("#decimal", "#integer", "#double", "#float", "#int", "#long")):
        try:
            return ["number", str(Decimal(str(term)).normalize())]
        except InvalidOperation:
            pass
    return ["literal", datatype, str(term)]

path, engine = sys.argv[1], sys.argv[2]
graph = load_graph(store=engine)
outcome = run_query(graph, prepare_query(graph, find_query(path)))  # parameters at their defaults
if outcome.kind == "SELECT":
    answer = {"head": [str(v) for v in outcome.variables], "rows": [[key(t) for t in row] for row in outcome.rows]}
elif outcome.kind == "ASK":
    answer = {"head": "ASK", "rows": [[outcome.boolean]]}
else:
    answer = {"head": outcome.kind, "rows": sorted([[key(t) for t in triple] for triple in to_isomorphic(outcome.graph)])}
print(json.dumps(answer))
"""


def _answer(path: Path, engine: str) -> dict:
    try:
        done = subprocess.run([sys.executable, "-c", _WORKER, str(path), engine], capture_output=True,
                              text=True, timeout=ENGINE_CAP_SECONDS, cwd=Path(__file__).resolve().parent.parent)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{path.name}: the {engine} engine took over {ENGINE_CAP_SECONDS} s on the bundled data "
                    "(rewrite the query so both engines can answer it)")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["?"])[-1]
        pytest.fail(f"{path.name}: the {engine} engine failed: {last}")
    return json.loads(done.stdout)


def test_there_are_stored_queries_to_compare():
    assert QUERY_FILES, "queries/ holds no .rq files"


@pytest.mark.parametrize("path", QUERY_FILES, ids=[p.stem for p in QUERY_FILES])
def test_oxigraph_and_rdflib_give_the_same_rows(path):
    by_rdflib, by_oxigraph = _answer(path, "default"), _answer(path, "oxigraph")
    assert by_oxigraph["head"] == by_rdflib["head"]
    rows_r, rows_o = by_rdflib["rows"], by_oxigraph["rows"]
    assert sorted(map(json.dumps, rows_o)) == sorted(map(json.dumps, rows_r)), f"{path.name}: engines disagree"
    keys = _order_keys(path.read_text(encoding="utf-8"), by_rdflib["head"])
    if keys:  # same order of the sort keys (rows tied on every key may come in any order)
        assert [[row[i] for i in keys] for row in rows_o] == [[row[i] for i in keys] for row in rows_r], (
            f"{path.name}: the engines sort differently (ORDER BY on a column mixing strings with and "
            "without a language, or numbers with strings? sort on STR(?x) or a single type)")


def _order_keys(text: str, head) -> list[int]:
    """Columns of the outermost ORDER BY when it sorts on projected variables only (else [])."""
    match = re.search(r"\bORDER\s+BY\b(.*?)(\bLIMIT\b|\bOFFSET\b|$)", text, re.IGNORECASE | re.DOTALL)
    if not match or not isinstance(head, list):
        return []
    keys = []
    for item in re.finditer(r"(?:(?:ASC|DESC)\s*\(\s*\?(\w+)\s*\))|\?(\w+)|(\S+)", match.group(1), re.IGNORECASE):
        name = item.group(1) or item.group(2)
        if name is None or name not in head:
            return keys  # an expression or an unprojected variable: order checked up to here
        keys.append(head.index(name))
    return keys


def _canonical(graph):
    """``graph`` with numbers in one lexical form: Oxigraph stores 30000000000.0 as 30000000000."""
    from decimal import Decimal

    from rdflib import Graph

    def norm(term):
        if isinstance(term, Literal) and term.datatype is not None and str(term.datatype).endswith(("#decimal", "#integer")):
            return Literal(str(Decimal(str(term)).normalize()), datatype=term.datatype)
        return term
    out = Graph()
    out += ((s, p, norm(o)) for s, p, o in graph)
    return to_isomorphic(out)


@pytest.fixture(scope="module")
def rdflib_graph():
    return load_graph()


@pytest.fixture(scope="module")
def oxigraph_graph():
    return load_graph(store="oxigraph")


def test_the_circular_deal_join_finds_the_articles_loops_on_both_engines(rdflib_graph, oxigraph_graph):
    # The article (lines 39, 41, 43) describes three loops, all with OpenAI: Nvidia, AMD, CoreWeave.
    query = sparql_prologue() + """
        SELECT DISTINCT ?a ?b WHERE {
          ?d1 kg:payer ?a ; kg:payee ?b .
          ?d2 kg:payer|kg:grantor ?b ; kg:payee|kg:grantee ?a . }"""
    for graph in (rdflib_graph, oxigraph_graph):
        pairs = {frozenset((a, b)) for a, b in graph.query(query)}
        for other in (KGD.Nvidia, KGD.AMD, KGD.CoreWeave):
            assert frozenset((KGD.OpenAI, other)) in pairs


def test_oxigraph_graph_holds_exactly_the_bundled_triples(rdflib_graph, oxigraph_graph):
    assert len(oxigraph_graph) == len(rdflib_graph)
    assert _canonical(oxigraph_graph) == _canonical(rdflib_graph)
    assert (KGD.Nvidia, RDFS.label, Literal("英伟达", lang="zh")) in oxigraph_graph


# ----------------------------------------------------------------------------- persistent store

def test_kg_load_then_reopen_gives_the_same_content(tmp_path):
    store = tmp_path / "store"
    result = CliRunner().invoke(main, ["load", "--store", str(store)])
    assert result.exit_code == 0, result.output
    assert "loaded" in result.output and (store / MANIFEST_NAME).is_file()
    reopened = open_store(store)
    assert _canonical(reopened) == _canonical(load_graph())
    reopened.close()
    again = CliRunner().invoke(main, ["--store", str(store), "load"])
    assert again.exit_code == 0 and "up to date" in again.output


def test_store_refreshes_when_a_source_file_changes(tmp_path):
    data = tmp_path / "extra.ttl"
    data.write_text("@prefix kgd: <https://w3id.org/aimoney/id/> .\n"
                    "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
                    'kgd:Acme rdfs:label "Acme"@en .\n', encoding="utf-8")
    store = tmp_path / "store"
    info = load_store(store, [data])
    assert info.rebuilt and len(info.files) == len(bundled_files()) + 1
    graph = open_store(store)
    assert (KGD.Acme, RDFS.label, Literal("Acme", lang="en")) in graph
    graph.close()
    data.write_text(data.read_text(encoding="utf-8").replace('"Acme"@en', '"Acme Corp"@en'), encoding="utf-8")
    graph = open_store(store)
    assert (KGD.Acme, RDFS.label, Literal("Acme Corp", lang="en")) in graph
    assert (KGD.Acme, RDFS.label, Literal("Acme", lang="en")) not in graph
    graph.close()


def test_data_given_with_store_is_added_to_it(tmp_path):
    data = tmp_path / "more.ttl"
    data.write_text("@prefix kgd: <https://w3id.org/aimoney/id/> .\n"
                    "@prefix kg: <https://w3id.org/aimoney/ontology#> .\n"
                    "kgd:Acme a kg:AILab .\n", encoding="utf-8")
    store = tmp_path / "store"
    assert CliRunner().invoke(main, ["load", "--store", str(store)]).exit_code == 0
    result = CliRunner().invoke(main, ["--store", str(store), "--data", str(data), "validate"])
    # kgd:Acme has no label: validation (on rdflib's store, re-read from the store's files) must see it.
    assert result.exit_code != 0 and "label" in result.output
    graph = open_store(store)
    assert (KGD.Acme, RDF.type, KG.AILab) in graph
    graph.close()


def test_store_errors_are_one_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["--store", str(tmp_path / "missing"), "cycles"])
    assert result.exit_code == 2 and "no kg store there" in result.output
    assert "Traceback" not in result.output
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix kgd: <https://w3id.org/aimoney/id/> .\nkgd:a kgd:b \"unterminated .\n", encoding="utf-8")
    result = runner.invoke(main, ["load", "--store", str(tmp_path / "s"), str(bad)])
    assert result.exit_code == 2 and "bad.ttl:2:" in result.output and "syntax error" in result.output
    assert not (tmp_path / "s" / MANIFEST_NAME).exists()
    notstore = tmp_path / "notstore"
    notstore.mkdir()
    (notstore / "x.txt").write_text("hello", encoding="utf-8")
    result = runner.invoke(main, ["load", "--store", str(notstore)])
    assert result.exit_code == 2 and "not a kg store" in result.output
    result = runner.invoke(main, ["load"])
    assert result.exit_code == 2 and "--store" in result.output


def test_commands_run_on_a_reopened_store(tmp_path):
    store = tmp_path / "store"
    assert CliRunner().invoke(main, ["load", "--store", str(store)]).exit_code == 0
    direct = CliRunner().invoke(main, ["cycles", "--max-length", "2", "--format", "json"])
    stored = CliRunner().invoke(main, ["--store", str(store), "cycles", "--max-length", "2", "--format", "json"])
    assert direct.exit_code == 0 and stored.exit_code == 0
    assert stored.output == direct.output
    shutil.rmtree(store)
