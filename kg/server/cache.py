"""The server's answer cache: answers kept in memory, bounded by bytes, least recently used first out.

A running server answers from data that does not change while it runs (a ``--store`` is opened
read-only and held under a read lock; ``--data`` files are read once, at start), and every job a
worker runs is a function of the data and the job's arguments alone. So the answer to the same job
with the same arguments — for ``/sparql``: the same query text, the same ``Accept`` header, the same
dataset parameters, row cap and base IRI — can be given again from memory without asking a worker.

Only answers are kept, never errors or refusals (a timeout must be able to succeed later, and a
refused query is refused again by the guard for free). The cache lives in the server process and dies
with it: a server never answers from another server's cache. Entries are the pickled answers, so the
byte bound is exact for what is held (plus the keys); one answer larger than an eighth of the bound
is not kept, so that a single huge answer cannot flush everything else.

>>> cache = AnswerCache(max_bytes=10_000)
>>> key = cache.key("sparql", {"text": "ASK {}", "accept": None})
>>> cache.get(key) is None
True
>>> cache.put(key, b"x" * 100)
True
>>> cache.get(key)[:3], cache.status()["entries"]
(b'xxx', 1)
>>> cache.put(cache.key("sparql", {"text": "big"}), b"x" * 2000)  # over 10,000 / 8: not kept
False
"""

from __future__ import annotations

import pickle
from collections import OrderedDict


class AnswerCache:
    """At most ``max_bytes`` of answers (keys included); ``max_bytes=0`` keeps nothing."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max(0, int(max_bytes))
        self.max_entry = self.max_bytes // 8
        self._entries: OrderedDict[bytes, bytes] = OrderedDict()
        self.bytes = 0
        self.hits = self.misses = self.evictions = 0

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    @staticmethod
    def key(job: str, arguments: dict) -> bytes:
        """The cache key of a job: its name and arguments, pickled (arguments are plain data)."""
        return pickle.dumps((job, sorted(arguments.items())), protocol=pickle.HIGHEST_PROTOCOL)

    def get(self, key: bytes) -> bytes | None:
        """The answer kept for ``key`` (now the most recently used), or None."""
        found = self._entries.get(key)
        if found is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found

    def put(self, key: bytes, answer: bytes) -> bool:
        """Keep ``answer`` for ``key``, dropping the least recently used answers to stay in bounds."""
        size = len(key) + len(answer)
        if size > self.max_entry:
            return False
        old = self._entries.pop(key, None)
        if old is not None:
            self.bytes -= len(key) + len(old)
        self._entries[key] = answer
        self.bytes += size
        while self.bytes > self.max_bytes:
            dropped_key, dropped = self._entries.popitem(last=False)
            self.bytes -= len(dropped_key) + len(dropped)
            self.evictions += 1
        return True

    def clear(self) -> None:
        """Forget every answer (the counters stay)."""
        self.evictions += len(self._entries)
        self._entries.clear()
        self.bytes = 0

    def status(self) -> dict:
        """Entries, bytes held and the bound, hits, misses and evictions so far (for /api/status)."""
        return {"entries": len(self._entries), "bytes": self.bytes, "max_bytes": self.max_bytes,
                "hits": self.hits, "misses": self.misses, "evictions": self.evictions}
