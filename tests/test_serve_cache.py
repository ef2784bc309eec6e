"""`kg serve`'s answer cache, as clients see it (real servers on free loopback ports, real HTTP).

What a user would notice if it broke: a cached answer that differs from a fresh one (in any format),
an answer from other data than the server's, a cache that grows past its bound, or a cache that is on
when the user turned it off.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.server.process import running_server

SELECT_FORMATS = ("application/sparql-results+json", "application/sparql-results+xml", "text/csv",
                  "text/tab-separated-values")
GRAPH_FORMATS = ("text/turtle", "application/n-triples", "application/ld+json", "application/rdf+xml")
NVIDIA_LABELS = "SELECT ?label WHERE { kgd:Nvidia rdfs:label ?label } ORDER BY ?label"


@pytest.fixture(scope="module")
def cached():
    with running_server() as base:  # the cache is on by default
        yield base


@pytest.fixture(scope="module")
def uncached():
    with running_server("--cache-size", "0") as base:
        yield base


def post(base: str, query: str, accept: str = "application/sparql-results+json"):
    """(status, headers, body bytes) of a SPARQL POST."""
    req = urllib.request.Request(base + "/sparql", data=query.encode("utf-8"),
                                 headers={"Content-Type": "application/sparql-query", "Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=60) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def status_of(base: str) -> dict:
    with urllib.request.urlopen(base + "/api/status", timeout=30) as answer:
        return json.loads(answer.read())


def stored_texts() -> dict[str, str]:
    from kg.graph import load_graph
    from kg.queries import prepare_query, stored_queries

    graph = load_graph(store="oxigraph")
    return {q.name: prepare_query(graph, q) for q in stored_queries()}


def test_a_cached_answer_equals_the_uncached_one_for_every_stored_query_and_format(cached, uncached):
    texts = stored_texts()
    assert len(texts) >= 13
    for name, text in texts.items():
        for accept in SELECT_FORMATS:
            first = post(cached, text, accept)
            again = post(cached, text, accept)
            fresh = post(uncached, text, accept)
            assert first[0] == again[0] == fresh[0] == 200, (name, accept)
            assert first[1]["X-KG-Cache"] == "miss" and again[1]["X-KG-Cache"] == "hit", (name, accept)
            assert fresh[1]["X-KG-Cache"] == "miss", (name, accept)
            assert again[2] == first[2] == fresh[2], (name, accept)
            for header in ("Content-Type", "X-KG-Rows", "Vary"):
                assert again[1][header] == first[1][header] == fresh[1][header], (name, accept, header)
    # The graph forms and ASK too.
    describe = "CONSTRUCT { kgd:Nvidia ?p ?o } WHERE { kgd:Nvidia ?p ?o }"
    for accept in GRAPH_FORMATS:
        first, again, fresh = post(cached, describe, accept), post(cached, describe, accept), post(uncached, describe, accept)
        assert again[1]["X-KG-Cache"] == "hit" and again[2] == first[2] == fresh[2], accept
        assert again[1]["Content-Type"] == fresh[1]["Content-Type"], accept
    first, again = post(cached, "ASK { kgd:Nvidia ?p ?o }"), post(cached, "ASK { kgd:Nvidia ?p ?o }")
    assert again[1]["X-KG-Cache"] == "hit" and json.loads(again[2])["boolean"] is True


def test_the_format_asked_is_part_of_what_is_cached(cached):
    json_answer = post(cached, NVIDIA_LABELS, "application/sparql-results+json")
    csv_answer = post(cached, NVIDIA_LABELS, "text/csv")
    assert csv_answer[1]["X-KG-Cache"] == "miss"  # not the JSON answer given again
    assert csv_answer[2].decode("utf-8").splitlines()[0] == "label"
    assert json.loads(json_answer[2])["head"]["vars"] == ["label"]


def test_errors_and_refusals_are_not_cached(cached):
    for text in ("SELECT * WHERE { ?s ?p }", "SELECT * WHERE { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"):
        first, again = post(cached, text), post(cached, text)
        assert first[0] == again[0] != 200
        assert "X-KG-Cache" not in again[1] or again[1]["X-KG-Cache"] != "hit"


def test_the_cache_never_answers_from_other_data(cached, tmp_path):
    # A second server over the bundled data plus one more label: it must see that label even though
    # the first server has the same query text cached.
    extra = tmp_path / "extra.ttl"
    extra.write_text('@prefix kgd: <https://w3id.org/aimoney/id/> .\n'
                     '@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n'
                     'kgd:Nvidia rdfs:label "Nvidia (a label only the second server has)"@en .\n',
                     encoding="utf-8")
    post(cached, NVIDIA_LABELS)
    status, headers, body = post(cached, NVIDIA_LABELS)
    assert status == 200 and headers["X-KG-Cache"] == "hit"
    bundled = [b["label"]["value"] for b in json.loads(body)["results"]["bindings"]]
    assert "英伟达" in bundled and not any("second server" in label for label in bundled)
    with running_server("--data", str(extra)) as other:
        status, headers, body = post(other, NVIDIA_LABELS)
        assert status == 200 and headers["X-KG-Cache"] == "miss"
        labels = [b["label"]["value"] for b in json.loads(body)["results"]["bindings"]]
        assert "Nvidia (a label only the second server has)" in labels
        assert sorted(labels) == sorted(bundled + ["Nvidia (a label only the second server has)"])
        assert post(other, NVIDIA_LABELS)[2] == body  # its own cached answer, not the first server's
    # And the first server still gives its own.
    assert post(cached, NVIDIA_LABELS)[2].decode("utf-8").count("second server") == 0


def test_the_cache_keeps_to_its_byte_bound():
    bound = 64 * 1024  # answers over an eighth of it (8 KB) are never kept
    with running_server("--cache-size", "64K") as base:
        held = []
        for n in range(150):  # ~150 distinct small answers of ~0.5-1 KB: more than the bound holds
            query = f"SELECT ?label (\"{n:04d}{'x' * 400}\" AS ?pad) WHERE {{ kgd:Nvidia rdfs:label ?label }}"
            assert post(base, query)[0] == 200
            cache = status_of(base)["cache"]
            assert cache["max_bytes"] == bound
            assert cache["bytes"] <= bound, cache
            held.append(cache["bytes"])
        assert cache["evictions"] > 0 and max(held) > bound // 2
        # The first answers were evicted (least recently used): asked again, they are computed again.
        first = f"SELECT ?label (\"{0:04d}{'x' * 400}\" AS ?pad) WHERE {{ kgd:Nvidia rdfs:label ?label }}"
        assert post(base, first)[1]["X-KG-Cache"] == "miss"
        assert post(base, first)[1]["X-KG-Cache"] == "hit"
        # An answer larger than an eighth of the bound is never kept.
        big = "SELECT ?s ?p ?o WHERE { ?s ?p ?o } LIMIT 2000"
        first_big, again_big = post(base, big), post(base, big)
        assert len(first_big[2]) > bound and len(again_big[2]) > bound and again_big[1]["X-KG-Cache"] == "miss"
        assert status_of(base)["cache"]["bytes"] <= bound


def test_cache_size_0_turns_it_off(uncached):
    for _ in range(2):
        status, headers, _ = post(uncached, NVIDIA_LABELS)
        assert status == 200 and headers["X-KG-Cache"] == "miss"
    cache = status_of(uncached)["cache"]
    assert cache["entries"] == 0 and cache["bytes"] == 0 and cache["max_bytes"] == 0


@pytest.mark.parametrize("size", ["lots", "-5M", "nan"])
def test_a_bad_cache_size_is_one_clear_line(size):
    result = CliRunner().invoke(main, ["serve", "--cache-size", size])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "--cache-size" in lines[0] and "Traceback" not in result.output


def test_a_data_file_changed_while_serving_empties_the_cache(tmp_path):
    # --data files are read by each worker when it starts. A worker started later (here: after the
    # only worker was killed at the time limit) reads the file as it is then; the answers cached from
    # the old file must not be given any more.
    data = tmp_path / "mine.ttl"
    prefixes = ('@prefix kgd: <https://w3id.org/aimoney/id/> .\n'
                '@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n')
    data.write_text(prefixes + 'kgd:Nvidia rdfs:label "old label"@en .\n', encoding="utf-8")
    endless = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    with running_server("--data", str(data), "--workers", "1", "--timeout", "1") as base:
        post(base, NVIDIA_LABELS)
        status, headers, body = post(base, NVIDIA_LABELS)
        assert headers["X-KG-Cache"] == "hit" and b"old label" in body
        data.write_text(prefixes + 'kgd:Nvidia rdfs:label "new label"@en .\n', encoding="utf-8")
        assert post(base, endless)[0] == 503  # the worker is killed and a new one reads the file
        for _ in range(300):
            if status_of(base)["idle"] == 1:
                break
            time.sleep(0.1)
        status, headers, body = post(base, NVIDIA_LABELS)
        assert status == 200 and headers["X-KG-Cache"] == "miss"
        assert b"new label" in body and b"old label" not in body
