"""`kg serve --store` answers from the stored answers `kg load` keeps (kg.answers, kg.server.stored).

What a user would notice if it broke: a stored answer that differs from the engine's in any format or
under the row cap, a stored answer of other data (another store's, an edited one) served instead of
the engine's, or stored answers used when the user turned them off (``KG_STORED_ANSWERS=0``).
Real stores, real servers on free loopback ports, real HTTP.
"""

from __future__ import annotations

import json
import shutil
import threading
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

# One more person, for a store whose `people` answer differs from the bundled data's.
EXTRA_PERSON = """@prefix kg: <https://w3id.org/aimoney/ontology#> .
@prefix kgd: <https://w3id.org/aimoney/id/> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
kgd:AdaExample a kg:Person ; rdfs:label "Ada Example"@en , "艾达"@zh .
kgd:AdaExampleRole a kg:RoleAssignment ; org:member kgd:AdaExample ; org:organization kgd:OpenAI ;
    org:role kg:ExecutiveLeader .
"""


def load(store, *files) -> None:
    result = CliRunner().invoke(main, ["load", "--store", str(store), *map(str, files)])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """The bundled data's store, and one with an extra person whose `people` answer file is the
    bundled store's (planted: of other content, so it must be ignored)."""
    root = tmp_path_factory.mktemp("stored")
    bundled, other = root / "bundled", root / "other"
    load(bundled)
    extra = root / "extra.ttl"
    extra.write_text(EXTRA_PERSON, encoding="utf-8")
    load(other, extra)
    texts = stored_texts()
    from kg.answers import answer_path

    planted = answer_path(bundled, texts["people"])
    assert planted.exists() and answer_path(other, texts["people"]).exists()
    shutil.copyfile(planted, answer_path(other, texts["people"]))
    return bundled, other


@pytest.fixture(scope="module")
def servers(stores):
    bundled, _ = stores
    args = ("--cache-size", "0")  # no answer cache: each answer below is stored or computed now
    with running_server(*args, global_args=("--store", str(bundled))) as stored, \
         running_server(*args, global_args=("--store", str(bundled)), env={"KG_STORED_ANSWERS": "0"}) as engine:
        yield stored, engine


def stored_texts() -> dict[str, str]:
    from kg.graph import load_graph
    from kg.queries import prepare_query, stored_queries

    graph = load_graph(store="oxigraph")
    return {q.name: prepare_query(graph, q) for q in stored_queries()}


def post(base: str, query: str, accept: str = "application/sparql-results+json", form: bool = False):
    """(status, headers, body bytes) of a SPARQL POST (as a query body, or form-encoded)."""
    if form:
        data, kind = urllib.parse.urlencode({"query": query}).encode(), "application/x-www-form-urlencoded"
    else:
        data, kind = query.encode("utf-8"), "application/sparql-query"
    req = urllib.request.Request(base + "/sparql", data=data, headers={"Content-Type": kind, "Accept": accept})
    try:
        with urllib.request.urlopen(req, timeout=60) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_every_stored_query_is_served_from_its_stored_answer_with_the_engines_bytes(servers):
    stored, engine = servers
    texts = stored_texts()
    assert len(texts) >= 13
    from kg.graph import sparql_prologue

    for name, text in texts.items():
        bare = text[len(sparql_prologue()):]  # the query as a user writes it: the server adds the prologue
        for accept in SELECT_FORMATS:
            for sent, form in ((text, True), (bare, False)):
                fast, slow = post(stored, sent, accept, form), post(engine, sent, accept, form)
                assert fast[0] == slow[0] == 200, (name, accept)
                assert fast[1]["X-KG-Answer"] == "stored", (name, accept)
                assert slow[1]["X-KG-Answer"] is None, (name, accept)  # KG_STORED_ANSWERS=0: the engine
                assert fast[2] == slow[2], (name, accept)
                for header in ("Content-Type", "X-KG-Rows"):
                    assert fast[1][header] == slow[1][header], (name, accept, header)
    # What the article says (line 41: OpenAI buys up to $350B of Nvidia GPUs, Nvidia invests in OpenAI).
    status, headers, body = post(stored, texts["circular-deals"])
    assert headers["X-KG-Answer"] == "stored"
    cells = json.dumps(json.loads(body)["results"]["bindings"], ensure_ascii=False)
    assert "Nvidia" in cells and "OpenAI" in cells


def test_other_queries_and_other_datasets_go_to_the_engine(servers):
    stored, _ = servers
    text = stored_texts()["people"]
    status, headers, body = post(stored, text + "\n# another text\n")
    assert status == 200 and headers["X-KG-Answer"] is None
    assert "Sam Altman" in body.decode("utf-8")  # line 1: Altman led OpenAI's core executives in the chip talks
    # A dataset of its own (the protocol's default-graph-uri) is never the stored answer's dataset.
    url = stored + "/sparql?" + urllib.parse.urlencode({"default-graph-uri": "https://example.org/none"})
    req = urllib.request.Request(url, data=text.encode(), headers={"Content-Type": "application/sparql-query"})
    with urllib.request.urlopen(req, timeout=60) as answer:
        assert answer.headers["X-KG-Answer"] is None
        assert json.loads(answer.read())["results"]["bindings"] == []


def test_the_row_cap_holds_for_stored_answers(stores):
    bundled, _ = stores
    text = stored_texts()["figures"]
    args = ("--cache-size", "0", "--max-rows", "5")
    with running_server(*args, global_args=("--store", str(bundled))) as stored, \
         running_server(*args, global_args=("--store", str(bundled)), env={"KG_STORED_ANSWERS": "0"}) as engine:
        for accept in SELECT_FORMATS:
            fast, slow = post(stored, text, accept), post(engine, text, accept)
            assert fast[1]["X-KG-Answer"] == "stored" and fast[1]["X-KG-Rows"] == "5"
            assert fast[1]["X-KG-Truncated"] == slow[1]["X-KG-Truncated"] and fast[1]["X-KG-Truncated"].startswith("true")
            assert fast[2] == slow[2], accept


def test_a_foreign_or_edited_stored_answer_is_ignored(stores, tmp_path):
    bundled, other = stores
    text = stored_texts()["people"]
    # The other store's `people` file is the bundled store's answer (of other content): not used.
    with running_server("--cache-size", "0", global_args=("--store", str(other))) as base:
        status, headers, body = post(base, text)
        assert status == 200 and headers["X-KG-Answer"] is None
        people = {b["person"]["value"] for b in json.loads(body)["results"]["bindings"]}
        assert {"Ada Example", "Sam Altman"} <= people
        status, _, page = post(base, text, "text/csv")
        assert "Ada Example" in page.decode("utf-8")
        with urllib.request.urlopen(base + "/queries/people.csv", timeout=60) as answer:
            assert "Ada Example" in answer.read().decode("utf-8")  # the stored-query page: the engine too
    # An edited answer (its seal no longer checks): not used either.
    from kg.answers import answer_path

    edited = tmp_path / "edited"
    shutil.copytree(bundled, edited)
    path = answer_path(edited, text)
    path.write_bytes(path.read_bytes().replace("Sam Altman".encode(), "Mallory X".encode()))
    with running_server("--cache-size", "0", global_args=("--store", str(edited))) as base:
        status, headers, body = post(base, text)
        assert status == 200 and headers["X-KG-Answer"] is None
        assert "Sam Altman" in body.decode("utf-8") and "Mallory" not in body.decode("utf-8")
        with urllib.request.urlopen(base + "/queries/people.csv", timeout=60) as answer:
            assert "Mallory" not in answer.read().decode("utf-8")


def test_stored_query_pages_give_what_kg_query_gives(stores, servers):
    bundled, _ = stores
    stored, _ = servers
    for name in ("people", "figures"):
        with urllib.request.urlopen(f"{stored}/queries/{name}.csv", timeout=60) as answer:
            page = answer.read().decode("utf-8")
        result = CliRunner().invoke(main, ["--store", str(bundled), "query", name, "--format", "csv"],
                                    env={"KG_STORED_ANSWERS": "0"})
        assert result.exit_code == 0 and page == result.stdout_bytes.decode("utf-8"), name


def test_a_small_stored_answer_needs_no_worker_and_the_time_limit_still_holds(stores):
    bundled, _ = stores
    endless = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"  # minutes of work
    text = stored_texts()["people"]
    with running_server("--cache-size", "0", "--workers", "1", "--timeout", "3",
                        global_args=("--store", str(bundled))) as base:
        outcome = {}

        def run_endless():
            outcome["status"], _, outcome["body"] = post(base, endless)

        slow = threading.Thread(target=run_endless)
        slow.start()
        try:
            time.sleep(0.5)  # the only worker is now busy with the endless query
            status, headers, body = post(base, text)
            answered_while_busy = slow.is_alive()
        finally:
            slow.join()
        assert status == 200 and headers["X-KG-Answer"] == "stored" and "Sam Altman" in body.decode("utf-8")
        assert answered_while_busy  # it did not wait for the worker
        assert outcome["status"] == 503 and b"time limit" in outcome["body"]  # the endless query was stopped
