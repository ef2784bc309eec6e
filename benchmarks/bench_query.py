"""`kg query` as a whole process against a minimal rdflib script running the same query on the same files.

Goal (issue 3): for a stored query on the bundled data, `kg query` takes at most 1.2x the minimal script,
median of several runs, both measured in the same run, alternating, so machine noise hits both alike.

    python benchmarks/bench_query.py [--runs 9] [--write benchmarks/RESULTS-query.md]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MINIMAL = """\
import sys
import rdflib
graph = rdflib.Graph()
graph.parse(sys.argv[1])
graph.parse(sys.argv[2])
result = graph.query(open(sys.argv[3], encoding="utf-8").read())
sys.stdout.write(result.serialize(format="csv").decode("utf-8"))
"""

QUERIES = ("circular-deals", "money-into", "openai-vs-anthropic", "largest-deals", "figures")


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--write", type=Path, default=None, help="Markdown file to write the table to")
    args = parser.parse_args()

    from kg.graph import FACTS_FILE, ONTOLOGY_FILE, load_graph
    from kg.queries import find_query, prepare_query

    graph = load_graph()
    work = Path(tempfile.mkdtemp(prefix="kg-bench-"))
    script = work / "minimal.py"
    script.write_text(MINIMAL, encoding="utf-8")
    kg = str(Path(sys.executable).parent / "kg")
    rows = []
    for name in QUERIES:
        text_file = work / f"{name}.rq"
        text_file.write_text(prepare_query(graph, find_query(name)), encoding="utf-8")
        ours, baseline = [], []
        for _ in range(args.runs):  # alternate, so both see the same machine state
            ours.append(timed([kg, "query", name, "--format", "csv"]))
            baseline.append(timed([sys.executable, str(script), str(ONTOLOGY_FILE), str(FACTS_FILE), str(text_file)]))
        rows.append((name, statistics.median(ours), statistics.median(baseline)))
        print(f"{name:22} kg {rows[-1][1]:.3f} s   rdflib script {rows[-1][2]:.3f} s   ratio {rows[-1][1] / rows[-1][2]:.2f}")

    lines = [
        "# `kg query` start-to-finish vs a minimal rdflib script",
        "",
        f"Machine: {platform.machine()}, {__import__('os').cpu_count()} cores, Python {platform.python_version()}; "
        f"median of {args.runs} alternating runs per query, whole processes, bundled data, CSV output.",
        "Goal: ratio at most 1.2 (issue 3).",
        "",
        "| stored query | kg query (s) | minimal rdflib script (s) | ratio |",
        "|---|---|---|---|",
    ]
    lines += [f"| {n} | {a:.3f} | {b:.3f} | {a / b:.2f} |" for n, a, b in rows]
    if args.write:
        args.write.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {args.write}")


if __name__ == "__main__":
    main()
