"""Budgets that keep hostile or careless input from exhausting the machine or crashing the engine.

Each budget has a default and an environment variable that changes it (``KG_MAX_DEPTH=500``; sizes
take K, M or G suffixes, ``0`` means no limit). Going over one is a one-line error that names the
budget and how to raise it:

>>> check("max_depth", 12, "the query nests 12 levels deep")
>>> check("max_depth", 1000, "the query nests 1000 levels deep")
Traceback (most recent call last):
...
kg.limits.LimitExceeded: the query nests 1000 levels deep, over the limit of 128 (raise it with KG_MAX_DEPTH=…)

The defaults were chosen from measurements on the bundled and synthetic data (see README,
"Security"): Oxigraph's query parser overflows its stack (a segmentation fault) near 1,000 nested
path steps and 5,000 nested groups, and its planner takes 4 s on 100 triple patterns in one group,
35 s on 200. Stored queries use at most a few dozen of either.

``Watchdog`` is the last line: a thread that stops the process with a one-line error (exit code 3)
when it runs past its time limit (``kg query --timeout``) or its memory passes ``KG_MAX_MEMORY``.
It works while the engine runs, since pyoxigraph releases Python's lock during loads and queries.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass

from kg.errors import KgError

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


class LimitExceeded(KgError):
    """Input over one of the budgets; the message names the budget and how to raise it."""


@dataclass(frozen=True)
class Budget:
    """One limit: its environment variable, default, and whether it is a size in bytes."""

    env: str
    default: int
    is_size: bool = False


BUDGETS: dict[str, Budget] = {
    "max_file_size": Budget("KG_MAX_FILE_SIZE", 1 << 30, True),        # one RDF input file
    "max_query_size": Budget("KG_MAX_QUERY_SIZE", 1 << 20, True),      # SPARQL text
    "max_depth": Budget("KG_MAX_DEPTH", 128),                          # nesting, in queries and data
    "max_triple_patterns": Budget("KG_MAX_TRIPLE_PATTERNS", 100),      # in one query
    "max_memory": Budget("KG_MAX_MEMORY", 3 << 29, True),              # 1.5 GiB: process, see memory_limit()
}


def format_size(size: int) -> str:
    """Bytes as a short human size.

    >>> format_size(1 << 20), format_size(1536), format_size(12)
    ('1 MiB', '1.5 KiB', '12 bytes')
    """
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}".rstrip("0").rstrip(".") + f" {unit}"
    return f"{size} bytes"


def limit(name: str) -> int | None:
    """The value of budget ``name`` (environment first, then the default); None means no limit."""
    budget = BUDGETS[name]
    raw = os.environ.get(budget.env, "").strip()
    if not raw:
        return budget.default
    number, factor = _size_parts(raw) if budget.is_size else (raw.upper().removesuffix("B").removesuffix("I"), 1)
    if not number.isdigit() or len(number) > 15:
        kind = "a size such as 500M or 2G" if budget.is_size else "a whole number"
        raise LimitExceeded(f"{budget.env}={raw!r} is not {kind} (0 means no limit)")
    value = int(number) * factor
    return value or None


def _size_parts(text: str) -> tuple[str, int]:
    """A size's number, as written, and its unit's factor: ``64M``, ``1.5GiB``, ``2g``, ``512`` (bytes)."""
    raw = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = raw[-1:] if raw[-1:] in _UNITS else ""
    return raw[: len(raw) - len(unit)], _UNITS[unit]


def parse_size(text: str) -> int:
    """A size in bytes from ``64M``, ``512K``, ``1G``, ``1000000`` or ``0`` (binary units; a fraction
    is allowed: ``1.5k``).

    >>> parse_size("64M"), parse_size("0"), parse_size("1.5k")
    (67108864, 0, 1536)
    >>> parse_size("lots")
    Traceback (most recent call last):
    ...
    ValueError: not a size: 'lots' (give bytes, or a number with K, M or G, e.g. 64M)
    """
    number, factor = _size_parts(text)
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise ValueError(f"not a size: {text!r} (give bytes, or a number with K, M or G, e.g. 64M)")
    return int(value * factor)


def describe(name: str, value: int) -> str:
    return format_size(value) if BUDGETS[name].is_size else f"{value:,}"


def check(name: str, amount: int, what: str) -> None:
    """Raise LimitExceeded when ``amount`` is over budget ``name``; ``what`` says what was measured."""
    allowed = limit(name)
    if allowed is not None and amount > allowed:
        raise LimitExceeded(f"{what}, over the limit of {describe(name, allowed)} "
                            f"(raise it with {BUDGETS[name].env}=…)")


def memory_limit(input_bytes: int = 0) -> int | None:
    """The process's memory budget: ``KG_MAX_MEMORY`` (1.5 GiB), or 40 times the data given when larger.

    Legitimate large data needs memory in proportion (100,000 synthetic deals, a 66 MB file, peak at
    1.85 GB in ``kg viz``); hostile input (entity expansion, a cross product of every triple) needs
    it out of proportion, and is stopped.

    >>> memory_limit(0) == 3 << 29, memory_limit(100 << 20) == 4000 << 20
    (True, True)
    """
    base = limit("max_memory")
    if base is None:
        return None
    if os.environ.get(BUDGETS["max_memory"].env, "").strip():  # set by the user: exactly that
        return base
    return max(base, 40 * input_bytes)


def _resident_bytes() -> int | None:
    try:
        with open("/proc/self/statm", "rb") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        try:
            import resource
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            return peak if sys.platform == "darwin" else peak * 1024
        except (ImportError, OSError):
            return None


class Watchdog:
    """Stops the process with one line on stderr and exit code 3 past a deadline or a memory limit.

    Used by the CLI around a whole command (loading included). ``os._exit`` because the engine may
    be busy in native code that cannot be interrupted; the output has not been written yet (commands
    print at the end), so nothing half-written reaches a file.
    """

    EXIT_CODE = 3
    INTERVAL = 0.25  # seconds; polling wakes a thread that needs the GIL, so not too often

    def __init__(self) -> None:
        self.deadline: float | None = None
        self.seconds: float | None = None
        self.what = "the command"
        self.memory: int | None = limit("max_memory")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "Watchdog":
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="kg-watchdog", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def set_timeout(self, seconds: float | None, what: str = "the command") -> None:
        """Stop the process ``seconds`` from now (None: no time limit); ``what`` names it in the message."""
        self.seconds, self.what = seconds, what
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def allow_input(self, input_bytes: int) -> None:
        """Scale the memory budget to the data the user gave (see memory_limit)."""
        self.memory = memory_limit(input_bytes)

    def _run(self) -> None:
        while not self._stop.wait(self.INTERVAL):
            if self.deadline is not None and time.monotonic() > self.deadline:
                self._exit(f"{self.what} stopped: it ran over the {self.seconds:g} s time limit")
            if self.memory is not None:
                used = _resident_bytes()
                if used is not None and used > self.memory:
                    self._exit(f"stopped: memory use passed the limit of {format_size(self.memory)} "
                               f"(raise it with {BUDGETS['max_memory'].env}=…)")

    def _exit(self, message: str) -> None:
        if self._stop.is_set():
            return
        try:
            os.write(2, f"kg: error: {message}\n".encode())
        finally:
            os._exit(self.EXIT_CODE)
