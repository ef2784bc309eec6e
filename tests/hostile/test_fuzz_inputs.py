"""Fuzzing the Turtle and SPARQL entry points with random mutations of the bundled data and the
stored queries: whatever the input, the answer is a result or a one-line kg error (KgError) — never
another exception, a crash or a hang.

Turtle goes through both loading paths (Oxigraph's, used by most commands, and rdflib's, used by
`kg validate` and `kg export`). SPARQL runs on a small graph, so that a mutation that turns a join
into a cross product stays cheap; the guard and the engine's parser are what is under test.
"""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings, strategies as st
from rdflib import Graph

from kg.errors import KgError
from kg.graph import FACTS_FILE, QUERIES_DIR, parse_file, sparql_prologue
from kg.queries import run_query
from kg.store import load_oxigraph

SETTINGS = settings(max_examples=80, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

FACT_LINES = FACTS_FILE.read_text(encoding="utf-8").splitlines(keepends=True)
PREFIX_LINES = [line for line in FACT_LINES if line.startswith("@prefix")]
PROLOGUE_END = max(i for i, line in enumerate(FACT_LINES) if line.startswith("@prefix")) + 1
QUERIES = [path.read_text(encoding="utf-8") for path in sorted(QUERIES_DIR.glob("*.rq"))]

HOSTILE_CHUNKS = ["{", "}", "(", ")", "[", "]", "<", ">", '"', "'", '"""', "#", "\\", "\\u0000", "\\U0010FFFF",
                  ".", ";", ",", "a", "@en", "^^", "_:b", ":", "?x", "$y", "!", "^", "/", "|", "*", "+", "-",
                  "\x00", "\x1b]0;x\x07", "\u202e", "\ud7ff", "9" * 60, "1e999", " ", "\n",
                  "SERVICE <http://127.0.0.1:9/> { ?s ?p ?o }", "FROM <file:///etc/passwd>", "LOAD <file:///etc/passwd>",
                  "@prefix x: <file:///etc/passwd> .", "@base <http://127.0.0.1:9/> .", "<http://127.0.0.1:9/x>",
                  "OPTIONAL {", "UNION {", "FILTER(", "GRAPH ?g {", "VALUES ?x { 1 }", "SELECT * WHERE {"]


@st.composite
def mutated(draw, text: str):
    """``text`` after 1-4 random edits: delete, insert a hostile chunk, repeat a slice (nesting)."""
    for _ in range(draw(st.integers(1, 4))):
        if not text:
            text = draw(st.sampled_from(HOSTILE_CHUNKS))
            continue
        start = draw(st.integers(0, len(text) - 1))
        end = min(len(text), start + draw(st.integers(0, 40)))
        action = draw(st.sampled_from(["delete", "insert", "insert", "repeat"]))
        if action == "delete":
            text = text[:start] + text[end:]
        elif action == "insert":
            chunk = draw(st.one_of(st.sampled_from(HOSTILE_CHUNKS), st.text(max_size=8)))
            text = text[:start] + chunk + text[start:]
        else:
            text = text[:start] + text[start:end] * draw(st.integers(2, 300)) + text[end:]
    return text


@st.composite
def turtle_snippets(draw):
    start = draw(st.integers(PROLOGUE_END, len(FACT_LINES) - 1))
    block = "".join(PREFIX_LINES + FACT_LINES[start:start + draw(st.integers(1, 30))])
    return draw(mutated(block))


def _only_kg_errors(call, *args):
    """Run ``call``; a KgError must be one line, and anything else fails the test."""
    try:
        return call(*args)
    except KgError as exc:
        assert "\n" not in str(exc), repr(str(exc))
        assert str(exc).strip(), type(exc)
        return None


_counter = itertools.count()


@SETTINGS
@given(snippet=turtle_snippets())
def test_mutated_turtle_loads_or_fails_in_one_line(tmp_path, snippet):
    path = tmp_path / f"fuzz-{next(_counter)}.ttl"
    path.write_text(snippet, encoding="utf-8", errors="surrogatepass")
    _only_kg_errors(load_oxigraph, [path])
    _only_kg_errors(parse_file, Graph(), path)


_SMALL_GRAPH = None


def small_graph():
    """The triples about Nvidia, OpenAI and their two circular deals (a few dozen), on Oxigraph."""
    global _SMALL_GRAPH
    if _SMALL_GRAPH is None:
        from kg.graph import load_graph
        from kg.store import new_oxigraph_graph
        full = load_graph(store="oxigraph")
        subset = full.query(sparql_prologue() + "CONSTRUCT { ?s ?p ?o } WHERE { VALUES ?s { kgd:Nvidia kgd:OpenAI "
                            "kgd:deal-nvidia-openai-investment kgd:deal-openai-nvidia-gpus } ?s ?p ?o }")
        _SMALL_GRAPH = new_oxigraph_graph()
        for triple in subset:
            _SMALL_GRAPH.add(triple)
        assert 10 < len(_SMALL_GRAPH) < 200, len(_SMALL_GRAPH)
    return _SMALL_GRAPH


@SETTINGS
@given(query=st.sampled_from(QUERIES).flatmap(mutated))
def test_mutated_query_answers_or_fails_in_one_line(query):
    _only_kg_errors(run_query, small_graph(), sparql_prologue() + query, 10)
