"""Benchmark: how fast Virtuoso takes in triples through the Graph Store Protocol with no client work at
all, beside ``kg push`` of the same data: the floor under issue 13's push target (50,000 triples/s).

For each synthetic file: its N-Triples (bundled graph included, as ``kg push`` sends) are written to
disk first and cut where ``kg push`` cuts them (kg.push.GSP_REQUEST triples a request); then, into a
fresh Virtuoso (the test suite's, tests/test_remote.py), ``curl`` sends them as ``kg push`` does, a PUT
of the first piece and POSTs of the rest, one after the other; then a whole ``kg push`` process of the
same files into another graph; then curl again into a third. Run it on a quiet machine:

    .venv/bin/python benchmarks/bench_push_floor.py /work/bench/synth-10k.ttl /work/bench/synth-100k.ttl
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _servers():
    spec = importlib.util.spec_from_file_location("kg_test_remote", ROOT / "tests" / "test_remote.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pieces(data: Path, folder: Path) -> tuple[list[Path], int]:
    """The N-Triples ``kg push`` would send for ``data``, cut into files of GSP_REQUEST triples."""
    from kg.push import GSP_REQUEST, local_triples

    store = local_triples([data])
    import pyoxigraph as ox
    lines = store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()).splitlines(keepends=True)
    files = []
    for number, start in enumerate(range(0, len(lines), GSP_REQUEST)):
        path = folder / f"piece-{number}.nt"
        path.write_bytes(b"".join(lines[start:start + GSP_REQUEST]))
        files.append(path)
    return files, len(lines)


def curl_push(server, graph: str, files: list[Path]) -> float:
    gsp = server.push_options[1]
    started = time.perf_counter()
    for number, path in enumerate(files):
        subprocess.run(["curl", "-sf", "--digest", "-u", "dba:dba", "-X", "PUT" if number == 0 else "POST",
                        "-H", "Content-Type: application/n-triples", "--data-binary", f"@{path}",
                        f"{gsp}?graph={graph}"], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    servers = _servers()
    for data in map(Path, sys.argv[1:]):
        with tempfile.TemporaryDirectory(prefix="kg-push-floor-") as tmp:
            folder = Path(tmp)
            files, triples = pieces(data, folder)
            server = servers.Virtuoso(folder / "virtuoso" if (folder / "virtuoso").mkdir() is None else folder)
            server.start()
            try:
                load = os.getloadavg()[0]
                raw1 = curl_push(server, "https://example.org/floor-1", files)
                env = dict(os.environ, **server.push_env)
                started = time.perf_counter()
                subprocess.run([sys.executable, "-m", "kg", "push", "--endpoint", server.url, "--graph",
                                "https://example.org/floor-kg", *server.push_options, str(data)],
                               env=env, check=True, capture_output=True)
                kg_s = time.perf_counter() - started
                raw2 = curl_push(server, "https://example.org/floor-2", files)
                print(f"{data.name}: {triples:,} triples in {len(files)} requests; load {load:.1f}-{os.getloadavg()[0]:.1f}; "
                      f"curl {raw1:.1f} s ({triples / raw1:,.0f}/s) and {raw2:.1f} s ({triples / raw2:,.0f}/s); "
                      f"kg push (whole process) {kg_s:.1f} s ({triples / kg_s:,.0f}/s)", flush=True)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
