"""`kg serve` as clients see it: the real server (a `kg serve` process on a free loopback port) and real
clients (SPARQLWrapper, urllib, raw sockets).

Two servers for the module: the bundled data with a 2 s time limit, two workers and a queue of two (so
the time-limit and overload tests are quick), and one with the hostile-labels fixture, a 5-row cap and
CORS for one origin. Expected answers come from the article (line numbers, quotes, parties) or from
`kg` itself on the command line (the same data through two doors must agree).
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.cli import main
from kg.server.process import running_server

XSS = Path(__file__).parent / "fixtures" / "viz" / "xss.ttl"
TIME_LIMIT = 2.0
# Three unconstrained patterns over ~12k triples: about 10^12 rows to count, minutes of work.
ENDLESS = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
LEAK_MARKERS = ("Traceback", 'File "', ".py", "/work/", "site-packages", "Error:")


@pytest.fixture(scope="module")
def server():
    with running_server("--timeout", str(TIME_LIMIT), "--workers", "2", "--max-queue", "2") as base:
        yield base


@pytest.fixture(scope="module")
def hostile_server():
    with running_server("--max-rows", "5", "--cors", "http://allowed.example", "--data", str(XSS)) as base:
        yield base


def request(base: str, path: str, *, data: bytes | None = None, headers: dict | None = None,
            method: str | None = None, timeout: float = 30):
    """(status, headers, body text) of one request; HTTP errors are answers too."""
    req = urllib.request.Request(base + path, data=data, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as answer:
            return answer.status, answer.headers, answer.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode("utf-8", "replace")


def sparql_get(base: str, query: str, accept: str | None = None, **extra):
    params = urllib.parse.urlencode({"query": query, **extra})
    return request(base, "/sparql?" + params, headers={"Accept": accept} if accept else {})


def sparql_post(base: str, query: str, accept: str = "application/sparql-results+json"):
    return request(base, "/sparql", data=query.encode("utf-8"),
                   headers={"Content-Type": "application/sparql-query", "Accept": accept})


def wait_healthy(base: str, seconds: float = 60) -> None:
    """Until every worker is alive and idle again (after a test killed some)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = json.loads(request(base, "/api/status")[2])
        if status["idle"] == status["workers"] and status["waiting"] == 0:
            return
        time.sleep(0.2)
    raise AssertionError(f"the server did not recover: {status}")


def cli_json(*args: str):
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def binding_rows(document: dict) -> list:
    rows = [tuple(sorted((k, tuple(sorted(v.items()))) for k, v in b.items())) for b in document["results"]["bindings"]]
    return sorted(rows)


# --------------------------------------------------------------------------------------------------
# The protocol with a real client


def test_sparqlwrapper_gets_the_same_rows_as_kg_query_for_every_stored_query(server):
    from SPARQLWrapper import JSON, POST, SPARQLWrapper

    from kg.graph import load_graph
    from kg.queries import prepare_query, stored_queries

    graph = load_graph(store="oxigraph")
    queries = stored_queries()
    assert len(queries) >= 13
    for stored in queries:
        expected = cli_json("query", stored.name, "--format", "json")
        client = SPARQLWrapper(server + "/sparql")
        client.setMethod(POST)
        client.setReturnFormat(JSON)
        # SPARQLWrapper guesses the query form from the first keyword-like word anywhere, comments
        # included ("added" in a description makes it an ADD update): send the query without them.
        text = "\n".join(line for line in prepare_query(graph, stored).splitlines() if not line.lstrip().startswith("#"))
        client.setQuery(text)
        assert client.queryType == "SELECT", stored.name
        answer = client.query().convert()
        assert answer["head"]["vars"] == expected["head"]["vars"], stored.name
        assert binding_rows(answer) == binding_rows(expected), stored.name


def test_a_stored_query_answers_what_the_article_says(server):
    # Line 41: Nvidia invests up to $100B in OpenAI; OpenAI buys up to $350B of Nvidia GPUs.
    status, headers, body = sparql_get(server, """
        SELECT ?payer WHERE { ?d a kg:ChipPurchase ; kg:payer ?p ; kg:payee kgd:Nvidia .
                              ?p rdfs:label ?payer FILTER(lang(?payer) = "en") }""")
    assert status == 200 and headers["Content-Type"].startswith("application/sparql-results+json")
    payers = {b["payer"]["value"] for b in json.loads(body)["results"]["bindings"]}
    assert "OpenAI" in payers


@pytest.mark.parametrize("accept, media, check", [
    ("application/sparql-results+json", "application/sparql-results+json", lambda b: json.loads(b)["head"]["vars"] == ["zh"]),
    ("application/sparql-results+xml", "application/sparql-results+xml", lambda b: "<literal xml:lang=\"zh\">英伟达</literal>" in b),
    ("text/csv", "text/csv", lambda b: b.splitlines() == ["zh", "英伟达"]),
    ("text/tab-separated-values", "text/tab-separated-values", lambda b: b.splitlines() == ["?zh", '"英伟达"@zh']),
    (None, "application/sparql-results+json", lambda b: "英伟达" in b),
])
def test_select_results_in_every_format(server, accept, media, check):
    status, headers, body = sparql_get(
        server, 'SELECT ?zh WHERE { kgd:Nvidia rdfs:label ?zh FILTER(lang(?zh) = "zh") }', accept)
    assert status == 200
    assert headers["Content-Type"].split(";")[0] == media
    assert check(body), body


@pytest.mark.parametrize("accept, media, marker", [
    ("text/turtle", "text/turtle", "英伟达"),
    ("application/n-triples", "application/n-triples", '"英伟达"@zh'),
    ("application/ld+json", "application/ld+json", "英伟达"),
    ("application/rdf+xml", "application/rdf+xml", 'xml:lang="zh"'),
])
def test_construct_and_describe_in_every_graph_format(server, accept, media, marker):
    import pyoxigraph as ox

    formats = {"text/turtle": ox.RdfFormat.TURTLE, "application/n-triples": ox.RdfFormat.N_TRIPLES,
               "application/ld+json": ox.RdfFormat.JSON_LD, "application/rdf+xml": ox.RdfFormat.RDF_XML}
    for query in ("CONSTRUCT { kgd:Nvidia rdfs:label ?l } WHERE { kgd:Nvidia rdfs:label ?l }", "DESCRIBE kgd:Nvidia"):
        status, headers, body = sparql_post(server, query, accept)
        assert status == 200 and headers["Content-Type"].split(";")[0] == media
        assert marker in body
        triples = list(ox.parse(body.encode("utf-8"), format=formats[media]))
        assert any(t.object == ox.Literal("英伟达", language="zh") for t in triples)


def test_a_large_answer_arrives_whole(server):
    # Every triple of the graph: several pieces of JSON (kg.server.app.body_response).
    from kg.graph import load_graph
    from kg.server.app import PIECE_BYTES

    graph = load_graph(store="oxigraph")
    status, headers, body = sparql_post(server, "SELECT * WHERE { ?s ?p ?o }")
    assert status == 200 and int(headers["Content-Length"]) == len(body.encode("utf-8")) > 2 * PIECE_BYTES
    rows = json.loads(body)["results"]["bindings"]
    assert len(rows) == len(graph) > 2000
    assert {"type": "literal", "value": "英伟达", "xml:lang": "zh"} in (row["o"] for row in rows)


def test_ask_and_the_predeclared_prefixes(server):
    status, _, body = sparql_get(server, "ASK { ?deal kg:payer|kg:grantor kgd:Nvidia }")
    assert status == 200 and json.loads(body)["boolean"] is True
    status, _, body = sparql_get(server, "ASK { kgd:Nvidia a kg:Person }", "application/sparql-results+xml")
    assert status == 200 and "<boolean>false</boolean>" in body


def test_malformed_query_is_400_with_one_line_naming_the_place(server):
    status, headers, body = sparql_get(server, "SELECT ?x WHERE {\n  ?x rdfs:label \n")
    assert status == 400 and headers["Content-Type"].startswith("text/plain")
    assert len(body.strip().splitlines()) == 1
    assert "line 2" in body or "line 3" in body


def test_service_description_without_a_query(server):
    import pyoxigraph as ox

    status, headers, body = request(server, "/sparql")
    assert status == 200 and headers["Content-Type"].startswith("text/turtle")
    triples = list(ox.parse(body.encode("utf-8"), format=ox.RdfFormat.TURTLE))
    sd = "http://www.w3.org/ns/sparql-service-description#"
    assert any(t.predicate.value == sd + "endpoint" and t.object.value == server + "/sparql" for t in triples)
    assert any(t.predicate.value == sd + "supportedLanguage" and t.object.value == sd + "SPARQL11Query" for t in triples)


def test_protocol_default_graph_uri_selects_graphs_of_the_dataset_only(server):
    # The data is in the default graph; a graph the server does not hold is empty, never fetched.
    status, _, body = sparql_get(server, "ASK { ?s ?p ?o }", **{"default-graph-uri": "http://example.org/nothing"})
    assert status == 200 and json.loads(body)["boolean"] is False
    status, _, body = sparql_get(server, "ASK { GRAPH ?g { ?s ?p ?o } }", **{"named-graph-uri": "http://example.org/x"})
    assert status == 200 and json.loads(body)["boolean"] is False


# --------------------------------------------------------------------------------------------------
# Safe to leave running


class Listener:
    """A loopback TCP listener that records every connection made to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = False
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            conn.close()

    def close(self):
        self._stop = True
        self._thread.join()
        self.sock.close()


def test_service_never_connects_out(server):
    listener = Listener()
    url = f"http://127.0.0.1:{listener.port}/sparql"
    try:
        for query in (f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
                      f"SELECT * WHERE {{ service silent <{url}> {{ ?s ?p ?o }} }}",
                      f"SELECT * WHERE {{ SERVICE#comment\n<{url}> {{ ?s ?p ?o }} }}",
                      f"SELECT * WHERE {{ ?s ?p ?o . {{ SERVICE ?endpoint {{ ?s ?p ?o }} VALUES ?endpoint {{ <{url}> }} }} }}"):
            status, _, body = sparql_post(server, query)
            assert status == 403 and "SERVICE" in body
        for query, extra in ((f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}", {}),
                             (f"SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}", {}),
                             ("SELECT * WHERE { ?s ?p ?o } LIMIT 1", {"default-graph-uri": url})):
            status, _, body = sparql_get(server, query, **extra)
            assert (status == 200 and json.loads(body)["results"]["bindings"] == []) or 400 <= status < 500
        time.sleep(0.5)
        assert listener.connections == 0
    finally:
        listener.close()


def test_from_a_local_file_yields_no_content(server, tmp_path):
    sentinel = tmp_path / "sentinel.nt"
    sentinel.write_text('<urn:kg:s> <urn:kg:p> "SENTINEL-7f3a" .\n', encoding="utf-8")
    for query, extra in ((f"SELECT * FROM <{sentinel.as_uri()}> WHERE {{ ?s ?p ?o }}", {}),
                         ("SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }", {}),
                         (f"SELECT * FROM NAMED <{sentinel.as_uri()}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}", {}),
                         ("SELECT * WHERE { ?s ?p ?o }", {"default-graph-uri": sentinel.as_uri()})):
        status, _, body = sparql_get(server, query, **extra)
        assert "SENTINEL" not in body and "root:" not in body
        # Either an empty graph (the dataset holds no such graph) or a refusal; never the file.
        assert (status == 200 and json.loads(body)["results"]["bindings"] == []) or 400 <= status < 500


def test_updates_are_refused_and_leave_the_data_unchanged(server):
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    before = json.loads(sparql_get(server, count)[2])["results"]["bindings"][0]["n"]["value"]
    insert = 'INSERT DATA { <urn:kg:evil> <urn:kg:p> "inserted" }'
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    attempts = [
        request(server, "/sparql", data=urllib.parse.urlencode({"update": insert}).encode(), headers=form),
        request(server, "/sparql", data=insert.encode(), headers={"Content-Type": "application/sparql-update"}),
        request(server, "/sparql?" + urllib.parse.urlencode({"update": "CLEAR ALL"})),
        request(server, "/sparql", data=b"CLEAR ALL", headers={"Content-Type": "application/sparql-update"}),
        request(server, "/sparql", data=b"update=DROP%20DEFAULT", headers=form),
        sparql_post(server, insert),
        sparql_post(server, "LOAD <file:///etc/passwd>"),
    ]
    for status, _, body in attempts:
        assert status == 403, body
        assert "read-only" in body or "refused" in body
    assert json.loads(sparql_get(server, count)[2])["results"]["bindings"][0]["n"]["value"] == before
    assert json.loads(sparql_get(server, "ASK { <urn:kg:evil> ?p ?o }")[2])["boolean"] is False


def test_a_50_mb_body_gets_413(server):
    body = b"query=" + b"A" * (50 * 1024 * 1024)
    started = time.monotonic()
    status, _, text = request(server, "/sparql", data=body,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413 and "too large" in text
    assert time.monotonic() - started < 15


def test_a_chunked_body_over_the_limit_gets_413(server):
    host, port = urllib.parse.urlsplit(server).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    chunks = (b"X" * 65536 for _ in range(40))  # 2.6 MB, no Content-Length
    conn.request("POST", "/sparql", body=chunks, headers={"Content-Type": "application/sparql-query"},
                 encode_chunked=True)
    answer = conn.getresponse()
    assert answer.status == 413
    conn.close()


def test_a_query_over_the_time_limit_is_stopped_while_others_are_served(server):
    wait_healthy(server)
    outcome = {}

    def endless():
        started = time.monotonic()
        outcome["status"], _, outcome["body"] = sparql_post(server, ENDLESS)
        outcome["seconds"] = time.monotonic() - started
        outcome["finished"] = time.monotonic()

    slow = threading.Thread(target=endless)
    slow.start()
    time.sleep(0.3)
    served = []
    while slow.is_alive():
        # A new text each time, so that a worker answers it (not the answer cache).
        status, _, body = sparql_get(server, f"ASK {{ kgd:Nvidia ?p ?o }} # request {len(served)}")
        served.append((time.monotonic(), status))
        time.sleep(0.2)
    slow.join()
    assert outcome["status"] == 503, outcome
    assert "time limit" in outcome["body"]
    assert outcome["seconds"] < TIME_LIMIT + 1.0
    during = [status for at, status in served if at < outcome["finished"]]
    assert during and all(status == 200 for status in during)
    wait_healthy(server)  # the killed worker is replaced
    status, _, body = sparql_get(server, "ASK { kgd:Nvidia ?p ?o }")
    assert status == 200 and json.loads(body)["boolean"] is True


def test_too_many_queries_at_once_are_refused_then_the_server_recovers(server):
    wait_healthy(server)
    answers = []

    def ask(number):
        # Four different texts: identical ones would share one run (test_identical_requests_share_one_run).
        status, headers, _ = sparql_post(server, f"{ENDLESS} # client {number}")
        answers.append((status, headers.get("Retry-After")))

    # Two busy workers and two waiting fill the server (--workers 2 --max-queue 2).
    threads = [threading.Thread(target=ask, args=(number,)) for number in range(4)]
    for t in threads:
        t.start()
        time.sleep(0.15)
    status, headers, body = sparql_post(server, "ASK {} # a text asked nowhere else (not in the answer cache)")
    assert status == 429 and headers.get("Retry-After") and "too many" in body
    for t in threads:
        t.join()
    assert sorted(s for s, _ in answers) == [503, 503, 503, 503]
    wait_healthy(server)
    status = json.loads(request(server, "/api/status")[2])
    assert status["killed"] >= 3 and status["alive"] == 2  # the busy ones were killed and replaced


def test_identical_requests_share_one_run(server):
    # Six clients send the same slow query at once: more than the two workers and the queue of two hold
    # (four different texts get two 429s above). They share one run: one worker stays free for others,
    # nobody is refused, and all six get that run's answer (here: stopped at the time limit).
    wait_healthy(server)
    before = json.loads(request(server, "/api/status")[2])
    answers = []

    def ask():
        started = time.monotonic()
        status, _, body = sparql_post(server, ENDLESS)
        answers.append((status, body, time.monotonic() - started))

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    status, _, body = sparql_get(server, "ASK { kgd:Nvidia ?p ?o } # answered by the other worker meanwhile")
    assert status == 200 and json.loads(body)["boolean"] is True
    for t in threads:
        t.join()
    assert [a[0] for a in answers] == [503] * 6, answers
    assert all("time limit" in body and seconds < TIME_LIMIT + 1.0 for _, body, seconds in answers), answers
    wait_healthy(server)
    after = json.loads(request(server, "/api/status")[2])
    assert after["killed"] - before["killed"] == 1  # one run, one worker stopped
    assert after["shared"] - before["shared"] == 5


def test_host_header_allowlist_on_loopback(server):
    port = urllib.parse.urlsplit(server).port
    for host in ("evil.example", f"evil.example:{port}", "attacker.127.0.0.1.nip.io"):
        status, _, body = request(server, "/", headers={"Host": host})
        assert status == 421 and "Host" in body
        status, _, _ = request(server, "/sparql?query=ASK%7B%7D", headers={"Host": host})
        assert status == 421
    for host in (f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"):
        status, _, _ = request(server, "/sparql?query=ASK%7B%7D", headers={"Host": host})
        assert status == 200


def test_cors_is_off_by_default(server):
    status, headers, _ = sparql_get(server, "ASK {}", None)
    assert status == 200 and "Access-Control-Allow-Origin" not in headers
    status, headers, _ = request(server, "/sparql?query=ASK%7B%7D", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers
    status, headers, _ = request(server, "/sparql", method="OPTIONS", headers={
        "Origin": "http://evil.example", "Access-Control-Request-Method": "POST"})
    assert status >= 400 and "Access-Control-Allow-Origin" not in headers


def test_cors_only_for_the_origin_given(hostile_server):
    _, headers, _ = request(hostile_server, "/sparql?query=ASK%7B%7D", headers={"Origin": "http://allowed.example"})
    assert headers.get("Access-Control-Allow-Origin") == "http://allowed.example"
    _, headers, _ = request(hostile_server, "/sparql?query=ASK%7B%7D", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in headers


def test_no_traceback_path_or_exception_text_in_any_answer(server):
    nested = "SELECT * WHERE " + "{" * 5000 + "}" * 5000
    cases = [
        sparql_get(server, "SELECT * WHERE { ?s ?p }"),
        sparql_get(server, "SELECT * WHERE { ?s ?p ?o }", **{"default-graph-uri": "not an iri <>"}),
        sparql_post(server, nested),
        sparql_post(server, "SELECT * WHERE { " + " ".join(f"?s{i} ?p ?o ." for i in range(5000)) + " }"),
        sparql_post(server, "SELECT (<urn:x>(1) AS ?x) {}"),
        request(server, "/sparql", data=b"\xff\xfe\x00binary", headers={"Content-Type": "application/sparql-query"}),
        request(server, "/sparql", data="ASK {}".encode("utf-16"),
                headers={"Content-Type": "application/sparql-query; charset=UTF-16"}),
        request(server, "/sparql?query=ASK%7B%7D&query=ASK%7B%7D"),
        request(server, "/sparql", method="PUT", data=b"x"),
        request(server, "/entity/Nvidea"),
        request(server, "/api/entity/%00%01"),
        request(server, "/api/trace?from=SoftBank&max-hops=lots"),
        request(server, "/api/trace?from=SoftBank&max-hops=99999999999999999999999"),
        request(server, "/api/cycles?max-length=0"),
        request(server, "/api/flows/OpenAI?assume=nonsense"),
        request(server, "/queries/..%2F..%2F..%2Fetc%2Fpasswd"),
        request(server, "/queries/money-into?company=%3Ca%3E%20%7D%20UNION%20%7B%20%3Fs%20%3Fp%20%3Fo%20%7D%20%23"),
        request(server, "/static/../../kg/server/app.py"),
        request(server, "/web?hops=-1"),
        request(server, "/trace?from=Nobody"),
    ]
    for status, _, body in cases:
        assert 400 <= status < 500, (status, body[:200])
        for marker in LEAK_MARKERS:
            assert marker not in body, (marker, body[:300])
    assert cases[2][0] == 400 and "nest" in cases[2][2]  # the depth budget names itself
    status, _, _ = sparql_get(server, "ASK {}")
    assert status == 200  # and the server is still up


# --------------------------------------------------------------------------------------------------
# Pages and the JSON API


def test_api_gives_the_same_data_as_the_cli(server):
    cases = [("/api/entity/" + urllib.parse.quote("英伟达"), ("show", "英伟达", "--format", "json")),
             ("/api/trace?from=SoftBank&to=Nvidia", ("trace", "SoftBank", "Nvidia", "--format", "json")),
             ("/api/trace?from=" + urllib.parse.quote("软银") + "&max-hops=2&kind=investment",
              ("trace", "软银", "--max-hops", "2", "--kind", "investment", "--format", "json")),
             ("/api/cycles", ("cycles", "--format", "json")),
             ("/api/cycles?max-length=2&assume=restructuring%3Dfailed",
              ("cycles", "--max-length", "2", "--assume", "restructuring=failed", "--format", "json")),
             ("/api/flows/OpenAI", ("flows", "OpenAI", "--format", "json")),
             ("/api/flows", ("flows", "--format", "json"))]
    for path, args in cases:
        status, headers, body = request(server, path)
        assert status == 200 and headers["Content-Type"].startswith("application/json"), path
        assert json.loads(body) == cli_json(*args), path
    status, _, body = request(server, "/api/entity/Nvidea")
    assert status == 404 and "Nvidia" in json.loads(body)["error"]  # did you mean


def test_entity_page_shows_every_quote_and_line(server):
    for name in ("Nvidia", "英伟达"):
        status, _, page = request(server, "/entity/" + urllib.parse.quote(name))
        assert status == 200
        assert "英伟达" in page and "Nvidia" in page
        # Line 41: the circular deal, quoted verbatim.
        assert "line 41" in page and "英伟达未来向OpenAI投资最高1000亿美元" in page
        assert "Jensen Huang" in page
    view = cli_json("show", "Nvidia", "--format", "json")
    _, _, page = request(server, "/entity/Nvidia")
    import html
    text = html.unescape(page)
    for deal in view["deals"]:
        for source in deal["sources"]:
            assert source["quote"] in text and f"line {source['line']}" in text


def test_stored_query_page_with_a_chinese_name_and_its_downloads(server):
    path = "/queries/money-into?" + urllib.parse.urlencode({"company": "英伟达"})
    status, _, page = request(server, path)
    assert status == 200
    assert "OpenAI" in page and "1 row" in page  # line 41: OpenAI buys up to $350B of Nvidia GPUs
    status, headers, csv_text = request(server, "/queries/money-into.csv?" + urllib.parse.urlencode({"company": "英伟达"}))
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    result = CliRunner().invoke(main, ["query", "money-into", "--param", "company=英伟达", "--format", "csv"])
    assert csv_text == result.stdout_bytes.decode("utf-8")
    status, _, body = request(server, "/queries/money-into.json?" + urllib.parse.urlencode({"company": "英伟达"}))
    assert json.loads(body) == cli_json("query", "money-into", "--param", "company=英伟达", "--format", "json")


def test_trace_cycles_and_web_pages(server):
    status, _, page = request(server, "/trace?from=SoftBank&to=Nvidia")
    assert status == 200 and "SoftBank Group → OpenAI → Nvidia" in page
    status, _, page = request(server, "/cycles")
    assert status == 200 and "Nvidia → OpenAI → Nvidia" in page
    status, headers, page = request(server, "/web")
    assert status == 200 and "vis-network" in page.lower() or "vis.Network" in page
    assert "connect-src 'none'" in headers["Content-Security-Policy"]


def test_row_cap_is_flagged(hostile_server):
    status, headers, body = sparql_get(hostile_server, "SELECT ?s WHERE { ?s ?p ?o }")
    assert status == 200 and len(json.loads(body)["results"]["bindings"]) == 5
    assert headers["X-KG-Truncated"].startswith("true")
    status, headers, _ = sparql_get(hostile_server, "SELECT ?s WHERE { kgd:Nvidia rdfs:label ?s } LIMIT 1")
    assert "X-KG-Truncated" not in headers
    status, headers, page = request(hostile_server, "/queries/figures")
    assert headers["X-KG-Truncated"].startswith("true") and "Only the first 5 rows" in page


def test_hostile_labels_are_escaped_in_every_page(hostile_server):
    pages = ["/entity/EvilCorp", "/entity/OpenAI", "/entity", "/queries/money-into?company=OpenAI",
             "/trace?from=EvilCorp", "/queries/people"]
    for path in pages:
        status, _, page = request(hostile_server, path)
        assert status == 200, path
        for raw in ("<img src=x onerror", "<script>alert", "<svg onload", "<b id=\"injected\"",
                    "<iframe src=", "</script><script>"):
            assert raw not in page, (path, raw)
    _, _, page = request(hostile_server, "/entity/EvilCorp")
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM"])
def test_ctrl_c_and_sigterm_stop_the_server_and_its_workers(stop):
    import signal
    import subprocess
    import sys

    from kg.server.process import free_port, wait_until_answering

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "kg", "serve", "--port", str(port), "--workers", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_answering(f"http://127.0.0.1:{port}/sparql?query=ASK%7B%7D", 60, process)
        workers = _children(process.pid)
        assert len(workers) >= 2
        process.send_signal(getattr(signal, stop))
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert f"http://127.0.0.1:{port}/" in out
    assert "Traceback" not in err
    time.sleep(0.5)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()
                and "Z" not in (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0])]


def test_serving_a_persistent_store(tmp_path):
    store = tmp_path / "store"
    result = CliRunner().invoke(main, ["load", "--store", str(store)])
    assert result.exit_code == 0, result.output
    with running_server(global_args=("--store", str(store))) as base:
        status, _, body = sparql_get(base, "SELECT ?zh WHERE { kgd:Nvidia rdfs:label ?zh FILTER(lang(?zh) = 'zh') }")
        assert status == 200 and json.loads(body)["results"]["bindings"][0]["zh"]["value"] == "英伟达"
        status, _, body = request(base, "/api/entity/" + urllib.parse.quote("英伟达"))
        assert status == 200 and json.loads(body) == cli_json("--store", str(store), "show", "英伟达", "--format", "json")
