"""The documentation's console examples are tests: every ```console block of README.md and docs/*.md runs
in the suite and what it prints is compared with what the document shows.

Sybil (https://sybil.readthedocs.io) finds the blocks and makes each a test item named by file and line;
this file says how a console block is run. In a block, a line starting with ``$ `` is a command (run by
bash, so pipes and ``# comments`` work, in a scratch folder where ``tests/``, ``sources/``, ``queries/``
and ``docs/`` of the project are at hand), and the lines up to the next command are its output, stdout
and stderr together. A command that exits non-zero prints ``[exit N]`` as its last line, so the document
shows that too.

In the expected output, a line that is only ``...`` stands for any number of lines (to show the start
of a long answer). Timings (``0.42 s``, ``12 ms``) and the scratch folder's path are masked on both
sides. A block whose output cannot be compared (a server that keeps running, a benchmark, a browser)
is skipped explicitly, with its reason, by putting ``<!-- skip: next "why" -->`` right before it.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from sybil import Sybil
from sybil.parsers.markdown import CodeBlockParser, SkipParser

ROOT = Path(__file__).resolve().parent
#: What a scratch folder links to, so that examples can name project files by relative path.
_LINKED = ("tests", "sources", "queries", "docs", "benchmarks", "facts.ttl", "ontology")
_TIMING = re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|seconds)\b")
_COMMAND_TIMEOUT = 300


def _mask(text: str, folder: str) -> str:
    return _TIMING.sub("<time>", text.replace(folder, "<dir>"))


def _commands(block: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each ``$`` line of a console block."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        elif line.strip():
            raise ValueError(f"console block starts with output, not a '$ ' command: {line!r}")
    for _command, expected in steps:
        while expected and not expected[-1].strip():
            expected.pop()
    return steps


def _matches(expected: list[str], actual: list[str]) -> bool:
    """Whether ``actual`` is ``expected`` with each '...' line standing for any number of lines."""
    if not expected:
        return not actual
    if expected[0].strip() == "...":
        return any(_matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and expected[0].rstrip() == actual[0].rstrip() and _matches(expected[1:], actual[1:])


class ConsoleBlockParser(CodeBlockParser):
    """Runs ```console blocks (see the module docstring)."""

    language = "console"

    def evaluate(self, example) -> str | None:
        folder = example.namespace["folder"]
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
               "LC_ALL": "C.UTF-8", "COLUMNS": "100", "NO_COLOR": "1"}
        failures = []
        for command, expected in _commands(example.parsed):
            done = subprocess.run(["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True,
                                  timeout=_COMMAND_TIMEOUT)
            output = done.stdout + done.stderr
            if done.returncode:
                output += f"[exit {done.returncode}]\n"
            actual = _mask(output, folder).rstrip("\n").splitlines()
            wanted = [_mask(line, folder) for line in expected]
            if not _matches(wanted, actual):
                diff = difflib.unified_diff(wanted, actual, "shown in the document", "printed", lineterm="")
                failures.append(f"$ {command}\n" + "\n".join(diff))
        if failures:
            return "the example's output differs from the document (- shown, + printed):\n" + "\n\n".join(failures)
        return None


def _setup(namespace: dict) -> None:
    folder = tempfile.mkdtemp(prefix="kg-doc-")
    for name in _LINKED:
        os.symlink(ROOT / name, Path(folder) / name)
    namespace["folder"] = folder


def _teardown(namespace: dict) -> None:
    shutil.rmtree(namespace.pop("folder"), ignore_errors=True)


pytest_collect_file = Sybil(
    parsers=[ConsoleBlockParser(), SkipParser()],
    patterns=["README.md", "docs/*.md"],
    setup=_setup, teardown=_teardown,
).pytest()
