"""Shared tools for the hostile-input corpus: run the real ``kg`` as an attacker would, and watch it.

* ``run_kg(args, stdin=None, timeout=60, env=None, cwd=None)`` runs ``python -m kg`` in a subprocess
  with a time limit and returns a ``KgRun``: exit code, stdout, stderr, peak memory (the child's own
  ``ru_maxrss`` from ``os.wait4``), seconds, and whether it had to be killed. The child's address
  space is capped (``RLIMIT_AS``, 8 GiB) so that a regression cannot take the machine down with it.
* ``expect_clean_error(run, code=2, mentions=())``: the documented exit code, exactly one stderr line
  ``kg: error: …``, no traceback, not killed, peak memory under 2 GB.
* ``listener``: a TCP server on 127.0.0.1 that accepts and records every connection and never answers
  (the worst case for a client: a silent port). A case passes only if it receives nothing.
* ``sentinel``: a secret file (plain and as a JSON-LD context) whose unique token must never appear
  in kg's output.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MEMORY_CEILING = 2 * 10**9  # "no hostile input may take more than 2 GB"
ADDRESS_SPACE_CAP = 8 << 30


@dataclass
class KgRun:
    """What one ``kg`` process did."""

    args: list
    code: int
    stdout: str
    stderr: str
    peak_bytes: int
    seconds: float
    killed: bool

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def __str__(self) -> str:  # shown by pytest when an assertion fails
        return (f"kg {' '.join(map(str, self.args))[:200]!r}: exit {self.code}, {self.seconds:.1f} s, "
                f"peak {self.peak_bytes / 1e6:.0f} MB{' (killed)' if self.killed else ''}\n"
                f"stdout: {self.stdout[:500]!r}\nstderr: {self.stderr[-1500:]!r}")


def _cap_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_CAP, ADDRESS_SPACE_CAP))


def _run(args, stdin=None, timeout=60, env=None, cwd=None) -> KgRun:
    # The budgets at their defaults unless a case sets one.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("KG_")}
    environment.update(PYTHONIOENCODING="utf-8", **(env or {}))
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "kg", *map(str, args)], cwd=cwd or PROJECT_ROOT,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=environment, preexec_fn=_cap_address_space)
    chunks = {"out": [], "err": []}

    def drain(stream, key):
        chunks[key].append(stream.read())

    readers = [threading.Thread(target=drain, args=(process.stdout, "out")),
               threading.Thread(target=drain, args=(process.stderr, "err"))]
    for reader in readers:
        reader.start()

    def feed():
        try:
            if stdin is not None:
                process.stdin.write(stdin if isinstance(stdin, bytes) else stdin.encode("utf-8"))
            process.stdin.close()
        except BrokenPipeError:
            pass

    threading.Thread(target=feed, daemon=True).start()
    killed = threading.Event()

    def kill():
        killed.set()
        process.kill()

    timer = threading.Timer(timeout, kill)
    timer.start()
    try:
        _, status, usage = os.wait4(process.pid, 0)  # the child's own rusage (peak memory)
    finally:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    return KgRun(list(args), process.returncode,
                 b"".join(chunks["out"]).decode("utf-8", "replace"),
                 b"".join(chunks["err"]).decode("utf-8", "replace"),
                 usage.ru_maxrss * 1024, time.monotonic() - started, killed.is_set())


@pytest.fixture
def run_kg():
    """``run_kg(args, stdin=None, timeout=60, env=None, cwd=None) -> KgRun`` (see the module docstring)."""
    return _run


def _one_error_line(stderr: str, *words: str) -> None:
    lines = stderr.strip().splitlines()
    assert "Traceback" not in stderr, stderr
    assert len(lines) == 1 and lines[0].startswith("kg: error: "), stderr
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def assert_one_error_line():
    """``assert_one_error_line(stderr, *words)``: stderr is one ``kg: error:`` line, no traceback, naming each word."""
    return _one_error_line


def _expect_clean_error(run: KgRun, code: int = 2, mentions=()) -> str:
    assert not run.killed, f"hung (killed after its time limit): {run}"
    assert "Traceback" not in run.stderr, f"traceback: {run}"
    assert run.code == code, f"expected exit {code}: {run}"
    assert len(run.stderr_lines) == 1 and run.stderr_lines[0].startswith("kg: error: "), f"not one error line: {run}"
    assert run.peak_bytes < MEMORY_CEILING, f"memory: {run}"
    line = run.stderr_lines[0]
    for word in mentions:
        assert word.lower() in line.lower(), f"the error should mention {word!r}: {line}"
    return line


@pytest.fixture
def expect_clean_error():
    """``expect_clean_error(run, code=2, mentions=())``: checks a one-line error; returns the line."""
    return _expect_clean_error


def _expect_answer(run: KgRun, code: int = 0) -> str:
    assert not run.killed, f"hung: {run}"
    assert "Traceback" not in run.stderr, f"traceback: {run}"
    assert run.code == code, f"expected exit {code}: {run}"
    assert run.peak_bytes < MEMORY_CEILING, f"memory: {run}"
    return run.stdout


@pytest.fixture
def expect_answer():
    """``expect_answer(run, code=0)``: a normal answer (no traceback, no hang, memory bounded); returns stdout."""
    return _expect_answer


@dataclass
class Listener:
    """A silent TCP server on loopback; ``connections`` lists the peers that connected."""

    port: int
    connections: list = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def listener():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    found = Listener(server.getsockname()[1])
    stop = threading.Event()
    held = []

    def accept():
        while not stop.is_set():
            try:
                connection, peer = server.accept()
            except (socket.timeout, OSError):
                continue
            found.connections.append(peer)
            held.append(connection)  # never answered: a client waiting on it would hang

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield found
    stop.set()
    thread.join(2)
    for connection in held:
        connection.close()
    server.close()


@dataclass
class Sentinel:
    """A secret: ``path`` holds ``token``; ``json_path`` is a JSON-LD context that maps a term to it."""

    token: str
    path: Path
    json_path: Path


@pytest.fixture
def sentinel(tmp_path):
    token = f"KG-SENTINEL-{uuid.uuid4().hex}"
    secret_dir = tmp_path / "secret"
    secret_dir.mkdir()
    path = secret_dir / "secret.txt"
    path.write_text(token + "\n", encoding="utf-8")
    json_path = secret_dir / "context.jsonld"
    json_path.write_text('{"@context": {"name": "http://example.org/%s", "@vocab": "http://example.org/%s/"}}'
                         % (token, token), encoding="utf-8")
    return Sentinel(token, path, json_path)
