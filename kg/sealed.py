"""Files kg keeps beside a store and seals: written whole or not at all, trusted only with kg's seal.

The flow index (kg.flow_index) and the stored answers (kg.answers) are files kg computes from a store
and reads back instead of asking the engine. Anyone who can write to the store's directory could
plant or edit them, so each ends with a line ``{"seal": HMAC}``: an HMAC-SHA256 of every byte before
that line, with the key kg signs this user's store manifests with (kg.store). A file whose seal does
not check is never used.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from pathlib import Path

def computed_from(directory: Path, graph=None):
    """(the store in ``directory`` as a graph, opened read-only unless ``graph`` is it; its manifest):
    what a file computed from the store starts from."""
    from kg.store import DATABASE_NAME, new_oxigraph_graph, read_manifest

    manifest = read_manifest(directory)
    if manifest is None:
        raise FileNotFoundError(f"{directory}: no kg store there")
    if graph is None:
        import pyoxigraph as ox
        graph = new_oxigraph_graph(ox.Store.read_only(str(Path(directory) / DATABASE_NAME)))
    return graph, manifest


#: Bytes read at a time when a seal is checked without holding the file in memory.
_CHUNK = 1 << 20


def seal(key: bytes, body: bytes) -> str:
    """The seal of ``body`` with ``key``.

    >>> seal(b"k", b"a") == seal(b"k", b"a") != seal(b"k", b"b")
    True
    """
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def write_sealed(path: Path, pieces) -> None:
    """Write the text ``pieces`` and a last line sealing them with this user's key (kg.store's key
    for manifests), to a temporary file renamed over ``path`` when it is whole."""
    with SealedWriter(path) as out:
        for piece in pieces:
            out.write(piece)


class SealedWriter:
    """:func:`write_sealed` a piece at a time, for files written while they are computed: ``write``
    gives the offset the piece starts at; leaving the ``with`` block seals the file and renames it
    over ``path``, or (on an error) removes it, leaving ``path`` as it was."""

    def __init__(self, path: Path):
        from kg.store import _signing_key

        key = _signing_key()
        if key is None:
            raise OSError(f"no key to seal {path.name} with")
        self._path, self._digest = path, hmac.new(key, b"", hashlib.sha256)
        self._temporary = path.with_name(path.name + ".tmp")
        self._handle = None
        self.offset = 0

    def __enter__(self) -> "SealedWriter":
        self._handle = self._temporary.open("wb")
        return self

    def write(self, piece: str) -> int:
        """Write ``piece``; the offset (in bytes) it starts at."""
        raw, start = piece.encode("utf-8"), self.offset
        self._digest.update(raw)
        self._handle.write(raw)
        self.offset += len(raw)
        return start

    def __exit__(self, kind, _error, _trace) -> None:
        try:
            if kind is None:
                self._handle.write(json.dumps({"seal": self._digest.hexdigest()}).encode("ascii") + b"\n")
            self._handle.close()
            if kind is None:
                os.replace(self._temporary, self._path)
        finally:
            self._temporary.unlink(missing_ok=True)


def sealed_length(handle) -> int | None:
    """How many bytes of the open binary file ``handle`` come before its seal line, when the seal
    checks with this user's key (read in pieces: the file is never held in memory); None when it does
    not, or cannot be read. Checked on the open file a reader then goes on reading, so a file renamed
    over it meanwhile changes nothing."""
    from kg.store import _signing_key

    key = _signing_key()
    if key is None:
        return None
    try:
        size = handle.seek(0, os.SEEK_END)
        start = max(0, size - 256)
        handle.seek(start)
        tail = handle.read().rstrip(b"\n")
        cut = tail.rfind(b"\n")
        if cut < 0:
            return None
        length = start + cut + 1
        found = json.loads(tail[cut + 1:]).get("seal")
        if not isinstance(found, str):
            return None
        digest = hmac.new(key, b"", hashlib.sha256)
        handle.seek(0)
        left = length
        while left:
            chunk = handle.read(min(_CHUNK, left))
            if not chunk:
                return None
            digest.update(chunk)
            left -= len(chunk)
        return length if hmac.compare_digest(found, digest.hexdigest()) else None
    except (OSError, ValueError, AttributeError):
        return None
