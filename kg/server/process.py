"""Start ``kg serve`` as a separate process on a free loopback port and wait until it answers.

For programs that drive the real server — the tests and ``benchmarks/bench_serve.py`` — exactly as a
user starts it (``kg [--store DIR] serve --port P …``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answering(url: str, timeout: float = 120.0, process: subprocess.Popen | None = None) -> None:
    """Poll ``url`` until it answers 200; RuntimeError if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no answer from {url} within {timeout:g} s")


@contextmanager
def running_server(*serve_args: str, global_args: tuple[str, ...] = (), port: int | None = None,
                   env: dict | None = None, log: Path | None = None, startup_timeout: float = 120.0):
    """``kg GLOBAL_ARGS serve --port P SERVE_ARGS`` running; yields its base URL ``http://127.0.0.1:P``.

    Stopped with SIGTERM (as a service manager would) when the block ends; its stderr goes to ``log``
    (or is discarded).
    """
    port = port or free_port()
    command = [sys.executable, "-m", "kg", *global_args, "serve", "--port", str(port), *serve_args]
    sink = open(log, "wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink,
                               env={**os.environ, **(env or {})}, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(base + "/sparql?query=ASK%7B%7D", startup_timeout, process)
        yield base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if log:
            sink.close()
