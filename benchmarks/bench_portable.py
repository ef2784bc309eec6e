"""Benchmark: what the portable forms of stored queries cost on a local store (and give on an endpoint).

Each stored query is run as a whole process, ``KG_STORED_ANSWERS=0 kg --store DIR query FILE --format csv``,
once in its text at an earlier commit (``--before``, e.g. the commit before a rewrite) and once as it is
now, interleaved, ``--repeat`` times; the medians are compared and the two outputs checked to be the
same. With ``--endpoint URL --graph IRI`` both texts are also run there (the store holding the same data,
e.g. after ``kg push``): their times, the current text's time against the local one, and whether its rows
there equal the local ones.

    .venv/bin/python benchmarks/bench_portable.py --store /work/bench/scale-run/store-100000 \\
        --before 5b1ee90 --query citations --query money-into --query money-into:company=synth-org-4024

The 1-minute load average is printed with every figure: the machine is shared.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KG = [sys.executable, "-m", "kg"]


def timed(args: list[str], env: dict) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(KG + args, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        return seconds, "FAILED: " + (done.stderr.strip().splitlines() or ["?"])[-1][:150]
    return seconds, done.stdout


def _rows(text: str) -> list:
    """CSV rows as a sorted list, numbers by value (a store may write 1.0 for 1)."""
    def cell(value):
        try:
            return ("n", float(value))
        except ValueError:
            return ("s", value)
    return sorted(tuple(cell(c) for c in row) for row in csv.reader(io.StringIO(text)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", required=True)
    parser.add_argument("--before", required=True, help="the commit whose query texts are the baseline")
    parser.add_argument("--query", action="append", required=True, metavar="NAME[:PARAM=VALUE]")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--endpoint")
    parser.add_argument("--graph")
    args = parser.parse_args()
    env = dict(os.environ, KG_STORED_ANSWERS="0")
    print("| query | before (s) | after (s) | after/before | same rows | load average |"
          + (" endpoint before (s) | endpoint after (s) | endpoint/local after | endpoint rows |" if args.endpoint else ""))
    print("|---|---|---|---|---|---|" + ("---|---|---|---|" if args.endpoint else ""))
    with tempfile.TemporaryDirectory(prefix="kg-bench-portable-") as tmp:
        for spec in args.query:
            name, _, param = spec.partition(":")
            params = ["--param", param] if param else []
            old = Path(tmp) / f"{name}.rq"
            old.write_text(subprocess.run(["git", "show", f"{args.before}:queries/{name}.rq"], cwd=ROOT, check=True,
                                          capture_output=True, text=True).stdout, encoding="utf-8")
            new = ROOT / "queries" / f"{name}.rq"
            before, after, remote_before, remote, loads = [], [], [], [], []
            for _ in range(args.repeat):
                loads.append(os.getloadavg()[0])
                seconds, out_before = timed(["--store", args.store, "query", str(old), *params, "--format", "csv"], env)
                before.append(seconds)
                seconds, out_after = timed(["--store", args.store, "query", str(new), *params, "--format", "csv"], env)
                after.append(seconds)
                if args.endpoint:
                    there = ["--endpoint", args.endpoint, "--graph", args.graph, "query"]
                    seconds, _ = timed(there + [str(old), *params, "--format", "csv"], env)
                    remote_before.append(seconds)
                    seconds, out_remote = timed(there + [str(new), *params, "--format", "csv"], env)
                    remote.append(seconds)
            b, a = statistics.median(before), statistics.median(after)
            same = "yes" if _rows(out_before) == _rows(out_after) else "NO"
            line = (f"| `{name}{' ' + param if param else ''}` | {b:.2f} | {a:.2f} | {a / b:.2f}× | {same} | "
                    f"{min(loads):.1f}–{max(loads):.1f} |")
            if args.endpoint:
                rb, r = statistics.median(remote_before), statistics.median(remote)
                there = ("FAILED" if out_remote.startswith("FAILED") else
                         "same" if _rows(out_remote) == _rows(out_after) else "differ")
                line += f" {rb:.2f} | {r:.2f} | {r / a:.1f}× | {there} |"
            print(line, flush=True)


if __name__ == "__main__":
    main()
