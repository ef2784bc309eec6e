"""Serving benchmark: `kg serve` against `oxigraph serve-read-only` and rdflib-endpoint, same client.

Run on demand (not part of the test suite):

    python benchmarks/bench_serve.py                                  # bundled, 10k, 100k; 8 and 50 clients
    python benchmarks/bench_serve.py --servers kg,kg-nocache,oxigraph --sizes bundled
    python benchmarks/bench_serve.py --sizes bundled,10000 --duration 3
    python benchmarks/bench_serve.py --sizes bundled --clients 8 --queries people,money-into

For each size the data is prepared once: the bundled data alone, or the bundled data plus a synthetic
network (``kg synth --deals N --seed 1``), loaded into a persistent store for each server (``kg load
--store`` for kg, ``oxigraph load`` for Oxigraph; rdflib-endpoint serves Oxigraph's store, opened
read-only through oxrdflib, with its own query engine). Then each server is started in turn on a free
loopback port — kg three times: ``kg`` as it starts by default (with its answer cache and the stored
answers ``kg load`` keeps), ``kg-nocache`` (``--cache-size 0``: no answer cache; a stored query's text
is answered from its stored answer) and ``kg-engine`` (``--cache-size 0`` and ``KG_STORED_ANSWERS=0``:
every request runs its query in the engine) — and every stored query (its text with the
default parameters bound and the prefixes declared, so every server gets the same text) is asked once
(warm-up), then POSTed by N client threads (keep-alive connections, ``Accept:
application/sparql-results+json``) for ``--duration`` seconds. Reported per query: answers per
second, p50 and p99 latency of the answers, errors (non-200, timeouts, resets) and the number of
result rows (every server's count when they differ), and for kg where its answers came from (the
``X-KG-Cache`` and ``X-KG-Answer`` headers).

Caps, so a run cannot eat the machine: a client waits at most ``--request-timeout`` + 5 seconds for an
answer (then it counts as an error, TimeoutError; the 5 s let kg's own 503 at its time limit arrive);
a query that had errors at the lower client count is not run at the higher ones
("not run"), nor a query whose warm-up request failed, and the server is restarted after errors so
stuck work does not slow the next query.
kg serve runs with ``--max-rows`` raised (the others have no row cap) and ``--timeout`` equal to the
request timeout.

The servers need ``oxigraph`` and ``rdflib-endpoint`` (pip packages) on PATH, or ``--oxigraph`` and
``--rdflib-endpoint`` naming their executables; rdflib-endpoint is best kept in a venv of its own
(``python -m venv /tmp/rep && /tmp/rep/bin/pip install rdflib-endpoint==0.6.3 oxrdflib``), whose
``python`` runs the launcher above. Results go to benchmarks/RESULTS-serve.md (``--out``).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kg.server.process import free_port, wait_until_answering  # noqa: E402

KG = str(Path(sys.executable).with_name("kg"))
SERVERS = ("kg", "kg-nocache", "kg-engine", "oxigraph", "rdflib-endpoint")
KG_SERVERS = ("kg", "kg-nocache", "kg-engine")
#: How much longer than the request timeout a client waits: long enough to see kg's own 503 (its
#: time limit is the request timeout) instead of giving up at the same moment.
CLIENT_GRACE = 5.0

# rdflib-endpoint on the same persistent Oxigraph store that `oxigraph serve-read-only` serves, opened
# read-only through oxrdflib (its `serve FILES` command would parse every file into memory first: 26 s
# at 10k deals, minutes at 100k, and again at each restart). Queries are still answered by
# rdflib-endpoint's own code (rdflib's SPARQL engine over the store), as with `serve --store Oxigraph`.
RDFLIB_ENDPOINT_LAUNCHER = """
import sys
import pyoxigraph, uvicorn
from oxrdflib import OxigraphStore
from rdflib import Dataset
from rdflib_endpoint import SparqlEndpoint
store = OxigraphStore(store=pyoxigraph.Store.read_only(sys.argv[1]))
graph = Dataset(store=store, default_union=True)
uvicorn.run(SparqlEndpoint(graph=graph), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
"""


def run(command: list[str], **kwargs) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, **kwargs)


def prepare(size: str, work: Path, oxigraph: str) -> dict:
    """Files and stores for one size: {"files": [...], "kg_store": DIR, "ox_store": DIR}."""
    from kg.graph import bundled_files

    files = [str(p) for p in bundled_files()]
    if size != "bundled":
        synth = work / f"synth-{size}.ttl"
        if not synth.exists():
            run([KG, "synth", "--deals", size, "--seed", "1", "-o", str(synth)], stderr=subprocess.DEVNULL)
        files.append(str(synth))
    kg_store, ox_store = work / f"kg-{size}", work / f"ox-{size}"
    if not kg_store.exists():
        run([KG, "load", "--store", str(kg_store), *files[2:]], stderr=subprocess.DEVNULL)
    if not ox_store.exists():
        for path in files:
            run([oxigraph, "load", "--location", str(ox_store), "--file", path], stderr=subprocess.DEVNULL)
    return {"files": files, "kg_store": str(kg_store), "ox_store": str(ox_store)}


class Server:
    """One server process on a free port; ``url`` is its SPARQL endpoint."""

    def __init__(self, name: str, data: dict, args, log: Path):
        self.name, self.data, self.args, self.log = name, data, args, log
        self.process = None
        self.url = ""

    def start(self) -> float:
        port = free_port()
        if self.name in KG_SERVERS:
            command = [KG, "--store", self.data["kg_store"], "serve", "--port", str(port),
                       "--timeout", str(self.args.request_timeout), "--max-rows", "100000000",
                       "--max-queue", "1000"] + (["--workers", str(self.args.kg_workers)] if self.args.kg_workers else [])
            if self.name in ("kg-nocache", "kg-engine"):
                command += ["--cache-size", "0"]
        elif self.name == "oxigraph":
            command = [self.args.oxigraph, "serve-read-only", "--location", self.data["ox_store"],
                       "--bind", f"127.0.0.1:{port}"]
        else:
            python = str(Path(self.args.rdflib_endpoint).parent / "python")
            command = [python, "-c", RDFLIB_ENDPOINT_LAUNCHER, self.data["ox_store"], str(port)]
        self.url = f"http://127.0.0.1:{port}/" + ("" if self.name == "rdflib-endpoint" else "sparql")
        started = time.perf_counter()
        env = dict(os.environ, KG_STORED_ANSWERS="0") if self.name == "kg-engine" else None
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True, env=env)
        wait_until_answering(self.url + "?query=" + urllib.parse.quote("ASK {}"), 600, self.process)
        return time.perf_counter() - started

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def restart(self) -> None:
        """Start afresh after errors, so that work still running does not slow the next query.

        kg stops such work itself (its time limit kills the worker): waiting until its workers are idle
        again is enough, and saves reloading the store.
        """
        if self.name in KG_SERVERS and self._wait_idle():
            return
        self.stop()
        self.start()

    def _wait_idle(self, seconds: float = 60.0) -> bool:
        status_url = self.url.rsplit("/", 1)[0] + "/api/status"
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(status_url, timeout=5) as answer:
                    status = json.loads(answer.read())
                if status["idle"] == status["workers"] and status["waiting"] == 0:
                    return True
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        return False


def warm_up(url: str, query: str, request_timeout: float) -> str | None:
    """Ask ``query`` once before measuring (every server alike: page cache, kg's answer cache);
    None when it was answered, else what went wrong."""
    parts = urllib.parse.urlsplit(url)
    body = urllib.parse.urlencode({"query": query}).encode("utf-8")
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=request_timeout + CLIENT_GRACE)
    try:
        conn.request("POST", parts.path, body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/sparql-results+json"})
        answer = conn.getresponse()
        answer.read()
        return None if answer.status == 200 else f"HTTP {answer.status}"
    except (OSError, http.client.HTTPException) as exc:
        return type(exc).__name__
    finally:
        conn.close()


def measure(url: str, query: str, clients: int, duration: float, request_timeout: float) -> dict:
    """``clients`` threads POST ``query`` for ``duration`` seconds; latencies of good answers, errors."""
    parts = urllib.parse.urlsplit(url)
    body = urllib.parse.urlencode({"query": query}).encode("utf-8")
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/sparql-results+json"}
    latencies, errors, rows, sources = [], [], [], []
    lock = threading.Lock()
    begin = time.perf_counter()
    stop_at = begin + duration

    def client():
        conn = None
        while time.perf_counter() < stop_at:
            if conn is None:
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=request_timeout + CLIENT_GRACE)
            sent = time.perf_counter()
            try:
                conn.request("POST", parts.path, body=body, headers=headers)
                answer = conn.getresponse()
                payload = answer.read()
                took = time.perf_counter() - sent
                with lock:
                    if answer.status == 200:
                        latencies.append(took)
                        sources.append("cache" if answer.getheader("X-KG-Cache") == "hit" else
                                       "stored" if answer.getheader("X-KG-Answer") == "stored" else "run")
                        if not rows:
                            document = json.loads(payload)
                            rows.append(len(document["results"]["bindings"]) if "results" in document else 1)
                    else:
                        errors.append(f"HTTP {answer.status}" + _why(payload))
                if answer.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException, ValueError) as exc:
                with lock:
                    errors.append(type(exc).__name__)
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + request_timeout + CLIENT_GRACE + 5)
    elapsed = time.perf_counter() - begin
    ordered = sorted(latencies)

    def pct(p):
        return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else None

    return {"qps": len(latencies) / elapsed, "p50": pct(50), "p99": pct(99), "answers": len(latencies),
            "errors": len(errors), "error_kinds": sorted(set(errors)), "rows": rows[0] if rows else None,
            "error_counts": {k: errors.count(k) for k in sorted(set(errors))},
            "sources": {k: sources.count(k) for k in sorted(set(sources))},
            "seconds": elapsed}


def _why(payload: bytes) -> str:
    """kg's reason for a 503 or 429, from the first line of its answer: `` time limit`` (the query was
    stopped), `` queue`` (no worker became free in time), `` too many`` (the queue was full)."""
    text = payload[:300].decode("utf-8", "replace")
    for marker, name in (("time limit", " time limit"), ("no query worker became free", " queue"),
                         ("too many queries", " too many")):
        if marker in text:
            return name
    return ""


def query_texts(names: list[str] | None) -> dict[str, str]:
    """Every stored query (or those named) with default parameters bound and the prologue in front."""
    from kg.graph import load_graph
    from kg.queries import prepare_query, stored_queries

    graph = load_graph(store="oxigraph")
    found = stored_queries()
    if names:
        found = [q for q in found if q.name in names]
    return {q.name: prepare_query(graph, q) for q in found}


def ms(value) -> str:
    return "–" if value is None else f"{value * 1000:,.0f}" if value >= 0.01 else f"{value * 1000:.1f}"


def _pairs(servers: list[str]) -> list[tuple[str, str]]:
    """(kg variant, other server) for the ratio columns."""
    return [(k, o) for k in servers if k in KG_SERVERS for o in servers if o not in KG_SERVERS]


def _ratio(a: dict | None, b: dict | None) -> str:
    if a and b and not a.get("skipped") and not b.get("skipped") and b["qps"] > 0:
        return f"{a['qps'] / b['qps']:.2f}×"
    if a and not a.get("skipped") and a["qps"] > 0 and b and (b.get("skipped") or b["qps"] == 0):
        return "∞ (other: none)"
    return "–"


def _errors(cell: dict) -> str:
    """The error count, with its kinds when there are any: ``6 (HTTP 503: 2, TimeoutError: 4)``."""
    counts = cell.get("error_counts") or {}
    if not cell["errors"] or not counts:
        return str(cell["errors"])
    return f"{cell['errors']} (" + ", ".join(f"{k}: {v}" for k, v in counts.items()) + ")"


def _sources(rows: list[dict], servers: list[str]) -> list[str]:
    """Where each kg variant's measured answers came from (run now, stored answer, answer cache)."""
    out = []
    for kg in (k for k in KG_SERVERS if k in servers):
        totals: dict = {}
        for r in rows:
            if r["server"] == kg and not r.get("skipped"):
                for source, count in (r.get("sources") or {}).items():
                    totals[source] = totals.get(source, 0) + count
        if totals:
            names = {"run": "run in a worker now", "stored": "stored answers (kg load)", "cache": "answer cache"}
            out.append(f"- {kg}: answers came from " + ", ".join(
                f"{names.get(k, k)} {v:,}" for k, v in sorted(totals.items(), key=lambda kv: -kv[1])))
    return ["Where kg's measured answers came from (`X-KG-Answer`, `X-KG-Cache` headers):", ""] + out + [""] if out else []


def write_results(path: Path, meta: dict, results: list[dict], small: set[str]) -> None:
    loads = lambda key: " / ".join(f"{v:.2f}" for v in meta[key])  # noqa: E731
    lines = ["# kg serve: serving benchmark", "",
             "Written by `benchmarks/bench_serve.py` (run it again to refresh this file). Same client for every "
             "server: N threads POSTing the same stored query (default parameters, prefixes declared) over "
             "keep-alive connections for the measurement window, after one warm-up request; q/s counts good "
             "answers; p50/p99 are latencies of good answers in ms; errors are non-200 answers, timeouts and "
             "resets.", "",
             "Servers: **kg** is `kg --store DIR serve` as it starts by default, with its answer cache (64 MB): the "
             "benchmark repeats one query, so after the warm-up most answers come from memory "
             "(`X-KG-Cache: hit`) and no query runs. **kg-nocache** is `kg serve --cache-size 0`: no answer "
             "cache, but a stored query's text is answered from the stored answer `kg load` computed and "
             "sealed beside the store (`X-KG-Answer: stored`; kg.server.stored). **kg-engine** is `kg serve "
             "--cache-size 0` with `KG_STORED_ANSWERS=0`: every request runs its query in a worker, like the "
             "other two servers. **oxigraph** is `oxigraph "
             "serve-read-only` on its own store of the same files; **rdflib-endpoint** serves that same "
             "Oxigraph store, opened read-only through oxrdflib, with its own (rdflib) query engine.", "",
             f"- date: {meta['date']}; machine: {meta['machine']}",
             f"- command: `{meta['command']}`",
             f"- window per measurement: {meta['duration']:g} s; request timeout {meta['request_timeout']:g} s "
             f"(kg runs with `--timeout` equal to it; a client waits {CLIENT_GRACE:g} s longer, so that kg's "
             "own 503 at its limit is seen as such)",
             f"- load average (1 / 5 / 15 min) at start: {loads('load_start')}; at end: {loads('load_end')} "
             "(the machine is shared with other developers' work: compare servers within a row, not across runs)",
             f"- versions: {meta['versions']}",
             f"- server start-up (s, until it answered): {meta['startup']}", ""]
    for size in meta["sizes"]:
        rows = [r for r in results if r["size"] == size]
        if not rows:
            continue
        lines += [f"## {'bundled data' if size == 'bundled' else f'bundled data + {int(size):,} synthetic deals'}", ""]
        if meta.get("size_loads", {}).get(size):
            lines += [f"Load average (1 / 5 / 15 min) when this size started: "
                      + " / ".join(f"{v:.2f}" for v in meta["size_loads"][size]), ""]
        head = "| query | clients | rows |"
        rule = "|---|---:|---:|"
        for server in meta["servers"]:
            head += f" {server} q/s | p50 | p99 | err |"
            rule += "---:|---:|---:|---:|"
        for kg, other in _pairs(meta["servers"]):
            head += f" {kg} ÷ {other} |"
            rule += "---:|"
        lines += [head, rule]
        keys = sorted({(r["query"], r["clients"]) for r in rows}, key=lambda k: (k[0], k[1]))
        for query, clients in keys:
            cells = {r["server"]: r for r in rows if r["query"] == query and r["clients"] == clients}
            counts = {n: c["rows"] for n, c in cells.items() if c.get("rows") is not None}
            count = next(iter(counts.values()), None)
            shown = "" if count is None else f"{count:,}"
            if len(set(counts.values())) > 1:  # servers disagree: show every count, never hide it
                shown = " / ".join(f"{n}: {v:,}" for n, v in counts.items()) + " (DIFFER)"
            line = f"| {query} | {clients} | {shown} |"
            for server in meta["servers"]:
                c = cells.get(server)
                if c is None or c.get("skipped"):
                    line += f" {c['skipped'] if c else 'not run'} | | | |"
                else:
                    line += f" {c['qps']:.1f} | {ms(c['p50'])} | {ms(c['p99'])} | {_errors(c)} |"
            for kg, other in _pairs(meta["servers"]):
                line += f" {_ratio(cells.get(kg), cells.get(other))} |"
            lines.append(line)
        lines.append("")
        lines += _sources(rows, meta["servers"])
        for kg in (k for k in KG_SERVERS if k in meta["servers"]):
            lines += targets(rows, meta, small, size, kg)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def targets(rows: list[dict], meta: dict, small: set[str], size: str, kg_name: str) -> list[str]:
    """The issue's targets, checked on this size's rows for one kg variant."""
    out = [f"Targets (issue 12), checked on **{kg_name}**:", ""]
    kg = [r for r in rows if r["server"] == kg_name and not r.get("skipped")]
    at50 = [r for r in rows if r["server"] == kg_name and r["clients"] == max(meta["clients"])]
    if at50:
        bad = [f"{r['query']} ({r['skipped'] if r.get('skipped') else r['errors']})" for r in at50
               if r.get("skipped") or r["errors"]]
        out.append(f"- 0 errors at {max(meta['clients'])} clients: {'met' if not bad else 'NOT met: ' + ', '.join(bad)}")
    for other, factor in (("oxigraph", 0.5), ("rdflib-endpoint", 10)):
        pairs, unanswered = [], []
        for r in kg:
            o = next((x for x in rows if x["server"] == other and x["query"] == r["query"]
                      and x["clients"] == r["clients"]), None)
            if o is None:
                continue
            if not o.get("skipped") and o["qps"] > 0:
                pairs.append((r, r["qps"] / o["qps"]))
            elif r["qps"] > 0:
                unanswered.append(f"{r['query']}@{r['clients']}")
        if pairs:
            bad = [f"{r['query']}@{r['clients']} {ratio:.2f}×" for r, ratio in pairs if ratio < factor]
            out.append(f"- {kg_name} ≥ {factor:g}× {other} on every stored query: "
                       + ("met" if not bad else f"NOT met on {len(bad)} of {len(pairs)}: " + ", ".join(bad))
                       + (f" (and {len(unanswered)} where {other} answered nothing and {kg_name} did: "
                          + ", ".join(unanswered) + ")" if unanswered else ""))
    if size == "bundled":
        at8 = [r for r in kg if r["clients"] == min(meta["clients"]) and r["query"] in small]
        if at8:
            bad = [f"{r['query']} {ms(r['p99'])} ms" for r in at8 if r["p99"] is None or r["p99"] >= 0.05]
            out.append(f"- p99 < 50 ms for the small stored queries at {min(meta['clients'])} clients: "
                       + ("met" if not bad else "NOT met: " + ", ".join(bad)))
    return out + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="bundled,10000,100000", help="bundled and/or synthetic deal counts")
    parser.add_argument("--clients", default="8,50", help="concurrent clients, comma-separated")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measurement")
    parser.add_argument("--request-timeout", type=float, default=30.0, help="seconds one request may take")
    parser.add_argument("--queries", default="", help="stored query names (default: all)")
    parser.add_argument("--kg-workers", type=int, default=None, help="kg serve --workers (default: its own default)")
    parser.add_argument("--servers", default=",".join(SERVERS))
    parser.add_argument("--oxigraph", default=shutil.which("oxigraph") or "oxigraph")
    parser.add_argument("--rdflib-endpoint", default=shutil.which("rdflib-endpoint") or "rdflib-endpoint")
    parser.add_argument("--work", default=None, help="folder for data and stores (default: a temporary one)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS-serve.md"))
    args = parser.parse_args()

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    clients = sorted(int(c) for c in args.clients.split(","))
    servers = [s for s in args.servers.split(",") if s in SERVERS]
    texts = query_texts([q for q in args.queries.split(",") if q])
    # Selective queries (a few rows whatever the size), for the p99 target.
    small = {"money-into", "suppliers", "openai-vs-anthropic", "entity-facts", "conditions", "investments",
             "people", "citations", "time-assumptions"}
    work = Path(args.work or tempfile.mkdtemp(prefix="kg-bench-serve-"))
    work.mkdir(parents=True, exist_ok=True)
    meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "command": "python benchmarks/bench_serve.py " + " ".join(sys.argv[1:]),
            "duration": args.duration, "request_timeout": args.request_timeout, "sizes": sizes,
            "clients": clients, "servers": servers, "load_start": os.getloadavg(), "startup": {},
            "size_loads": {}}
    versions = []
    for name, command in (("oxigraph", [args.oxigraph, "--version"]),):
        try:
            versions.append(subprocess.run(command, capture_output=True, text=True, timeout=10).stdout.strip())
        except OSError:
            pass
    from importlib.metadata import version
    versions += [f"kg {version('kg-ai-money')}", f"pyoxigraph {version('pyoxigraph')}",
                 f"starlette {version('starlette')}", f"uvicorn {version('uvicorn')}"]
    endpoint_version = Path(args.rdflib_endpoint).resolve().parent / "python"
    try:
        versions.append("rdflib-endpoint " + subprocess.run(
            [str(endpoint_version), "-c", "from importlib.metadata import version; print(version('rdflib-endpoint'))"],
            capture_output=True, text=True, timeout=20).stdout.strip())
    except OSError:
        pass
    meta["versions"] = ", ".join(v for v in versions if v)
    results = []
    for size in sizes:
        print(f"== {size}: preparing data", flush=True)
        data = prepare(size, work, args.oxigraph)
        meta["size_loads"][size] = os.getloadavg()
        for name in servers:
            server = Server(name, data, args, work / f"{name}-{size}.log")
            try:
                took = server.start()
            except RuntimeError as exc:
                print(f"   {name}: did not start ({exc})", flush=True)
                continue
            meta["startup"][f"{name}@{size}"] = round(took, 1)
            print(f"   {name}: started in {took:.1f} s", flush=True)
            try:
                for query, text in texts.items():
                    failed_at = None
                    problem = warm_up(server.url, text, args.request_timeout)
                    if problem:
                        print(f"   {name} {query}: warm-up request failed ({problem})", flush=True)
                        for count in clients:
                            results.append({"size": size, "server": name, "query": query, "clients": count,
                                            "skipped": f"not run (one request: {problem})"})
                        server.restart()
                        write_results(Path(args.out), dict(meta, load_end=os.getloadavg()), results, small)
                        continue
                    for count in clients:
                        row = {"size": size, "server": name, "query": query, "clients": count}
                        if failed_at is not None:
                            row["skipped"] = f"not run (errors at {failed_at})"
                            results.append(row)
                            continue
                        row.update(measure(server.url, text, count, args.duration, args.request_timeout))
                        results.append(row)
                        print(f"   {name} {query} x{count}: {row['qps']:.1f} q/s p50 {ms(row['p50'])} ms "
                              f"p99 {ms(row['p99'])} ms errors {row['errors']} {row['error_kinds']}", flush=True)
                        if row["errors"]:
                            failed_at = count
                            server.restart()
                    write_results(Path(args.out), dict(meta, load_end=os.getloadavg()), results, small)
            finally:
                server.stop()
    meta["load_end"] = os.getloadavg()
    write_results(Path(args.out), meta, results, small)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
