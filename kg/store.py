"""Graphs on the Oxigraph engine: the fast query path, in memory or persisted in a directory.

rdflib's own in-memory store answers SPARQL joins in Python; on a few thousand deals the two-deal
join of the circular-deal query already takes a minute. Oxigraph (a Rust RDF database) answers the
same query in milliseconds. We keep rdflib's API — callers get an ``rdflib.Graph`` whose store is
oxrdflib's ``OxigraphStore`` — so ``graph.query``, ``graph.triples`` and ``graph.value`` work unchanged.

Two ways to open one:

* ``load_oxigraph(paths)`` parses files straight into an in-memory Oxigraph store (pyoxigraph's
  parsers, no rdflib parsing in Python), which is what every ``kg`` command does by default.
* ``open_store(directory, extra)`` reopens a persistent store made by ``load_store`` (``kg load``).
  The directory holds the Oxigraph database and a manifest of the source files (path, size,
  modification time, SHA-256). When a source file has changed, or ``extra`` names a file the store
  does not have yet, the store is rebuilt from its files before it is used; otherwise it is opened
  read-only, so several processes can read it at once.

Concurrency: two lock files in the store (``fcntl.flock``). Loading (``kg load``, or a refresh) takes
the load lock, so two loads, or a load and a refresh, take turns. A load builds the new database beside
the old one while readers go on reading the old; it swaps it in holding the read lock exclusively,
which every reader holds shared while it uses the store, so a reader sees the old or the new database,
never half of one. A process waits for a lock at most ``KG_STORE_WAIT`` seconds (default 60), then
fails with one line. A killed load leaves the old store usable (the new database is only beside it).

Trust: the manifest names files kg will open (to hash and re-read them). kg signs the manifests it
writes with a key only the user can read (``$XDG_STATE_HOME/kg/store.key``); a manifest without a valid
signature (planted, edited, copied from another account) is never used to open files other than the
bundled ones and those named on the command line: its database is used as it is, and a command that
would have to re-read its other files refuses with one line.

The data lives in Oxigraph's default graph and the returned rdflib Graph is bound to it, so a
SPARQL query sees exactly the loaded triples. pyshacl and OWL reasoning are slow on this store
(each triple lookup crosses from Python to Rust); validation uses rdflib's in-memory store instead.

>>> from kg.graph import KGD, RDFS, Literal, bundled_files
>>> graph = load_oxigraph(bundled_files())
>>> (KGD.Nvidia, RDFS.label, Literal("英伟达", lang="zh")) in graph
True
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import hmac
import json
import os
import shutil
import time
from pathlib import Path
from typing import Iterable, NamedTuple

from kg.errors import InputFileError, KgError, UsageError

#: Name of the manifest file inside a store directory.
MANIFEST_NAME = "kg-store.json"
#: Subdirectory holding the Oxigraph database.
DATABASE_NAME = "oxigraph"
#: Lock files inside a store directory (flock): the first is held shared by readers and exclusively
#: only while a new database is swapped in; the second is held by the one process loading the store.
LOCK_NAME, LOAD_LOCK_NAME = "kg-store.lock", "kg-store.load.lock"
#: Seconds a process waits for another one's lock on a store before giving up (env KG_STORE_WAIT).
DEFAULT_WAIT = 60.0
_MANIFEST_VERSION = 1


class StoreError(KgError):
    """A --store directory is missing, not a kg store, or cannot be opened."""


class StoreInfo(NamedTuple):
    """What a persistent store holds, as recorded in its manifest."""

    directory: Path
    files: tuple[Path, ...]
    triples: int
    rebuilt: bool
    seconds: float
    #: what kg.answers stored for the store's queries this time (a BuildReport), or None
    answers: object = None


# --------------------------------------------------------------------------- in-memory graphs

_STORE_CLASS = None


def _store_class():
    """oxrdflib's store, returning plain strings as rdflib does, with faster term conversion.

    Oxigraph follows RDF 1.1, where "USD" and "USD"^^xsd:string are one literal, and hands every
    plain string back with the xsd:string datatype; rdflib's parsers make ``Literal("USD")`` without
    one, and rdflib does not treat the two as equal. So that code (and output) cannot tell which
    engine it runs on, strings come back without the datatype here. Built on first use, so that
    importing kg.store costs nothing.
    """
    global _STORE_CLASS
    if _STORE_CLASS is not None:
        return _STORE_CLASS
    import pyoxigraph as ox
    from oxrdflib import OxigraphStore
    from oxrdflib._converter import from_ox, from_ox_graph_name, to_ox_quad_pattern
    from rdflib import Literal

    xsd_string = ox.NamedNode("http://www.w3.org/2001/XMLSchema#string")
    ox_literal = ox.Literal

    def term(value):
        if type(value) is ox_literal and value.datatype == xsd_string:
            return Literal(value.value)
        return from_ox(value)

    class KgOxigraphStore(OxigraphStore):
        # Analyses walk the graph with many small lookups (graph.value, graph.objects); most of
        # their cost is converting terms between rdflib and Oxigraph, and the same terms come back
        # again and again, so conversions are cached (bounded) in both directions.
        _CACHE_LIMIT = 500_000

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._from_cache: dict = {}
            self._to_cache: dict = {}
            self.kg_lock = None  # a persistent store's shared lock (open_store), released on close

        def close(self, *args, **kwargs):
            super().close(*args, **kwargs)
            if self.kg_lock is not None:
                self.kg_lock.close()

        def _rdf(self, value):
            cache = self._from_cache
            found = cache.get(value)
            if found is None:
                if len(cache) > self._CACHE_LIMIT:
                    cache.clear()
                found = cache[value] = term(value)
            return found

        def _ox(self, value):
            if value is None:
                return None
            cache = self._to_cache
            found = cache.get(value)
            if found is None:
                if len(cache) > self._CACHE_LIMIT:
                    cache.clear()
                found = cache[value] = to_ox_quad_pattern((value, None, None))[0]
            return found

        def _graph_name(self, context):
            identifier = context.identifier
            found = self._to_cache.get(("graph", identifier))
            if found is None:
                found = self._to_cache[("graph", identifier)] = to_ox_quad_pattern((None, None, None), context)[3]
            return found

        def triples(self, triple_pattern, context=None):
            s, p, o = triple_pattern
            try:
                pattern = (self._ox(s), self._ox(p), self._ox(o), None if context is None else self._graph_name(context))
                quads = self._inner.quads_for_pattern(*pattern)
            except (TypeError, ValueError):
                return iter(())
            rdf = self._rdf
            if context is None:  # asked across graphs: report each triple's own graph
                return (((rdf(q.subject), rdf(q.predicate), rdf(q.object)),
                         iter((from_ox_graph_name(q.graph_name, self),))) for q in quads)
            # Asked within one graph: the terms given in the pattern are the answer's terms.
            ctx = (context,)
            return (((s if s is not None else rdf(q.subject), p if p is not None else rdf(q.predicate),
                      o if o is not None else rdf(q.object)), iter(ctx)) for q in quads)

        def raw_answer(self, query: str, initNs, queryGraph, initBindings=None):
            """pyoxigraph's own answer (``QuerySolutions`` are read lazily, as the engine yields them);
            :meth:`rdf_term` converts its terms."""
            from oxrdflib._converter import to_ox
            from rdflib.term import Node

            return self._inner.query(
                query, use_default_graph_as_union=queryGraph == "__UNION__",
                default_graph=(to_ox(queryGraph) if isinstance(queryGraph, Node) else None),
                prefixes=dict(self._namespace_for_prefix, **initNs),
                substitutions={ox.Variable(k): to_ox(v) for k, v in (initBindings or {}).items()})

        def rdf_term(self, value):
            """A pyoxigraph term as the rdflib term this store gives for it."""
            return self._rdf(value)

        def answer_rows(self, query: str, initNs, queryGraph, initBindings=None):
            """What iterating rdflib's Result gives, without a ResultRow and a dict per row (on large
            answers that costs as much as the engine): ``("SELECT", variables, rows)`` with rows as
            tuples of rdflib terms (None where unbound), ``("ASK", bool)`` or ``("CONSTRUCT", triples)``."""
            from rdflib import Variable

            answer = self.raw_answer(query, initNs, queryGraph, initBindings)
            if isinstance(answer, ox.QuerySolutions):
                # Terms recur across rows (IRIs, kinds, labels): the cache converts each once.
                names, rdf = [Variable(v.value) for v in answer.variables], self._rdf
                rows = [tuple(None if x is None else rdf(x) for x in row) for row in answer]
                # rdflib's Result skips a row with no variable bound; so do we, so both engines agree
                return "SELECT", names, [row for row in rows if any(x is not None for x in row)]
            if isinstance(answer, ox.QueryBoolean):
                return "ASK", bool(answer)
            return "CONSTRUCT", ((term(t.subject), term(t.predicate), term(t.object)) for t in answer)

        def query(self, query, initNs, initBindings, queryGraph, **kwargs):
            if not isinstance(query, str) or kwargs:
                return super().query(query, initNs, initBindings, queryGraph, **kwargs)
            return rdflib_result(*self.answer_rows(query, initNs, queryGraph, initBindings))

    _STORE_CLASS = KgOxigraphStore
    return _STORE_CLASS


def rdflib_result(form: str, *answer):
    """rdflib's query ``Result`` from an ``answer_rows`` answer (this store's, or kg.remote's): SELECT
    ``(variables, rows)``, ASK ``(boolean,)``, CONSTRUCT/DESCRIBE ``(triples,)``."""
    from rdflib import Graph
    from rdflib.query import Result

    result = Result(form)
    if form == "SELECT":
        result.vars, rows = answer
        result.bindings = [{v: x for v, x in zip(result.vars, row) if x is not None} for row in rows]
    elif form == "ASK":
        result.askAnswer = answer[0]
    else:
        result.graph = Graph()
        for triple in answer[0]:
            result.graph.add(triple)
    return result


def new_oxigraph_graph(ox_store=None):
    """An empty rdflib Graph on an Oxigraph store (a new in-memory one unless ``ox_store`` is given)."""
    from rdflib import Graph
    from rdflib.graph import DATASET_DEFAULT_GRAPH_ID

    from kg.graph import PREFIXES

    # Bound to Oxigraph's default graph: a fixed identifier, so a persistent store reopens with its
    # data visible, and SPARQL's default graph is exactly the loaded triples.
    graph = Graph(store=_store_class()(store=ox_store), identifier=DATASET_DEFAULT_GRAPH_ID)
    for prefix, ns in PREFIXES.items():
        graph.bind(prefix, ns, override=True)
    return graph


def load_oxigraph(paths: Iterable[str | Path]):
    """A new in-memory Oxigraph-backed rdflib Graph holding the triples of ``paths``."""
    graph = new_oxigraph_graph()
    ox_store = graph.store._inner
    for path in paths:
        _load_file(ox_store, Path(path), bulk=False)
    return graph


# --------------------------------------------------------------------------- files too large for memory

#: Bytes of memory a command takes per byte of RDF file it loads into an in-memory store (measured:
#: `kg viz` peaks at 1.9 GB on the 66 MB file of 100k synthetic deals; kg at 16 GB on 1M deals).
MEMORY_PER_FILE_BYTE = 30
#: Loading more than this much RDF from files again on every command earns a hint to use a store.
HINT_FILE_BYTES = 32 * 2**20
#: Most memory a command may plan to use for an in-memory graph (``KG_MEMORY_BUDGET`` overrides it).
DEFAULT_MEMORY_BUDGET = 4 * 2**30


def memory_budget() -> int:
    """How much memory loading files into memory may take: ``KG_MEMORY_BUDGET`` (bytes) if set, else
    the smaller of 4 GiB and half the memory available now."""
    budget = os.environ.get("KG_MEMORY_BUDGET")
    if budget:
        try:
            return int(budget)
        except ValueError:
            raise UsageError(f"KG_MEMORY_BUDGET={budget!r}: give a number of bytes") from None
    available = None
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return min(DEFAULT_MEMORY_BUDGET, available // 2) if available else DEFAULT_MEMORY_BUDGET


def files_size(paths: Iterable[str | Path]) -> int:
    """Total size in bytes of the files that exist among ``paths``."""
    return sum(Path(p).stat().st_size for p in paths if Path(p).is_file())


def load_temporary_store(paths: Iterable[str | Path]):
    """An rdflib Graph on a new on-disk Oxigraph store in a temporary directory holding ``paths``: for
    files too large to hold in memory. The directory is removed when the process ends."""
    import atexit
    import tempfile

    import pyoxigraph as ox

    directory = Path(tempfile.mkdtemp(prefix="kg-temporary-store-"))
    ox_store = ox.Store(str(directory))
    graph = new_oxigraph_graph(ox_store)
    del ox_store  # the graph's store holds the only reference, which the clean-up drops

    def remove():
        try:
            graph.store.close()  # drops the database (RocksDB stops writing to the folder) ...
        except AttributeError:  # closed already
            pass
        shutil.rmtree(directory, ignore_errors=True)  # ... before the folder is removed
    atexit.register(remove)
    for path in paths:
        _load_file(graph.store._inner, Path(path), bulk=True)
    graph.store._inner.flush()
    return graph


def _ox_format(path: Path):
    """pyoxigraph's format for ``path``, or None when rdflib's parser should read it."""
    import pyoxigraph as ox

    from kg.graph import _FORMATS

    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(f"{path}: unknown RDF file type {path.suffix!r} (use .ttl, .nt, .jsonld, .rdf, .trig)")
    # Quad formats and N3 keep rdflib's reading (everything into one graph, rdflib's N3 dialect);
    # JSON-LD too, because rdflib and Oxigraph resolve contexts differently.
    return {"turtle": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "xml": ox.RdfFormat.RDF_XML}.get(fmt)


def _load_file(ox_store, path: Path, *, bulk: bool) -> None:
    """Parse one file into ``ox_store``'s default graph; bad input becomes one-line kg errors."""
    import pyoxigraph as ox

    from kg.errors import DataSyntaxError
    from kg.graph import parse_file

    from kg import rdf_guard

    rdf_guard.input_size(path)
    fmt = _ox_format(path)
    if fmt is None:
        from rdflib import Graph

        ox_store.extend(list(_to_ox_quads(parse_file(Graph(), path))))
        return
    source = {"path": str(path)}
    if fmt == ox.RdfFormat.RDF_XML:  # read and checked here, so the parser gets the checked bytes
        source = {"input": rdf_guard.read_input(path)}
        rdf_guard.check_rdfxml(source["input"], path)
    load = ox_store.bulk_load if bulk else ox_store.load
    try:
        load(**source, format=fmt, base_iri=path.resolve().as_uri(), to_graph=ox.DefaultGraph())
    except SyntaxError as exc:
        raise DataSyntaxError(path, exc.lineno, exc.offset, exc.msg) from exc
    except (OSError, ValueError) as exc:
        raise DataSyntaxError(path, None, None, " ".join(str(exc).split())[:200]) from exc


def _to_ox_quads(graph):
    from oxrdflib._converter import to_ox
    import pyoxigraph as ox

    default = ox.DefaultGraph()
    for s, p, o in graph:
        yield ox.Quad(to_ox(s), to_ox(p), to_ox(o), default)


# --------------------------------------------------------------------------- persistent stores

def _fingerprint(path: Path, *, with_hash: bool = True) -> dict:
    stat = path.stat()
    entry = {"path": str(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    if with_hash:
        entry["sha256"] = _sha256(path)
    return entry


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def content_key(manifest: dict) -> str:
    """A digest of a store's manifest: it changes whenever the store is rebuilt. The flow index and the
    stored answers name the content they were computed from by it.

    >>> content_key({"files": [], "triples": 1}) == content_key({"triples": 1, "files": []})
    True
    >>> content_key({"triples": 1}) == content_key({"triples": 2})
    False
    """
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def read_manifest(directory: str | Path) -> dict | None:
    """The manifest of the store in ``directory``, or None when there is none."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: unreadable store manifest ({exc})") from exc
    version = manifest.get("version") if isinstance(manifest, dict) else None
    if version != _MANIFEST_VERSION or not _well_formed(manifest):
        raise StoreError(f"{path}: not a kg store manifest (version {version!r}); "
                         f"rebuild it with `kg load --store {directory} --force FILES`")
    return manifest


def _well_formed(manifest: dict) -> bool:
    files = manifest.get("files")
    return isinstance(files, list) and isinstance(manifest.get("triples"), int) and all(
        isinstance(e, dict) and isinstance(e.get("path"), str) and Path(e["path"]).is_absolute()
        and isinstance(e.get("size"), int) and isinstance(e.get("mtime_ns"), int)
        and isinstance(e.get("sha256"), str) for e in files)


# --------------------------------------------------------------------------- trusting a manifest

def _key_file() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(state) / "kg" / "store.key"


def _signing_key() -> bytes | None:
    """This user's key for signing manifests, made on first use; None when it cannot be kept."""
    path = _key_file()
    try:
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        pass
    except (OSError, ValueError):
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        draft = path.with_name(f".store.key.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as handle:
            import secrets  # only when the key is made: kg.launch starts without it

            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(draft, path)  # atomic: a process making the key at the same time keeps its own out
        except FileExistsError:
            pass
        finally:
            draft.unlink(missing_ok=True)
        return bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def _signature(manifest: dict, key: bytes) -> str:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False).encode("utf-8")
    return hmac.new(key, text, hashlib.sha256).hexdigest()


def manifest_is_trusted(manifest: dict) -> bool:
    """Whether kg wrote ``manifest`` for this user (its signature checks with the user's key)."""
    key = _signing_key()
    signature = manifest.get("signature")
    return key is not None and isinstance(signature, str) and hmac.compare_digest(signature, _signature(manifest, key))


def _openable(manifest: dict, named: Iterable[Path] = ()) -> list[dict]:
    """The manifest's entries kg may open: all of a trusted manifest's, else only the bundled files
    and the files the user ``named`` on this command line."""
    if manifest_is_trusted(manifest):
        return list(manifest["files"])
    from kg.graph import bundled_files

    allowed = {Path(p).resolve() for p in bundled_files()} | set(named)
    return [e for e in manifest["files"] if Path(e["path"]) in allowed]


def _untrusted_refusal(directory: Path, manifest: dict, openable: list[dict]) -> StoreError:
    others = [e["path"] for e in manifest["files"] if e not in openable]
    return StoreError(f"{directory}: its manifest was not written by kg for this user, so kg will not re-read "
                      f"the files it names ({_clip_list(others)}); rebuild it from files you name: "
                      f"`kg load --store {directory} --force FILES`")


def _clip_list(paths: list[str]) -> str:
    shown = ", ".join(paths[:3])
    return shown + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


# --------------------------------------------------------------------------- locking

class _StoreLock:
    """One of the store's flocks, held by one open descriptor; released when closed (or the process ends)."""

    def __init__(self, directory: Path, name: str = LOCK_NAME, *, create: bool):
        path = directory / name
        self.directory, self.name, self.descriptor = directory, name, None
        try:
            self.descriptor = os.open(path, (os.O_RDWR | os.O_CREAT) if create else os.O_RDONLY, 0o644)
        except FileNotFoundError:
            if create:
                raise
        except OSError as exc:
            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            if os.path.exists(path):  # a read-only store: its lock still works for reading
                self.descriptor = os.open(path, os.O_RDONLY)
            elif create:
                raise

    def acquire(self, *, exclusive: bool) -> None:
        if self.descriptor is None:
            return  # a read-only store without a lock file: nobody can be writing it through kg
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        wait = _wait_seconds()
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(self.descriptor, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    doing = "loading" if self.name == LOAD_LOCK_NAME else "using" if exclusive else "updating"
                    raise StoreError(f"{self.directory}: another kg process is {doing} this store; gave up "
                                     f"after waiting {wait:g} s (set KG_STORE_WAIT=SECONDS to wait longer)") from None
                time.sleep(0.05)

    def release(self) -> None:
        if self.descriptor is not None:
            fcntl.flock(self.descriptor, fcntl.LOCK_UN)

    def close(self) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)
            self.descriptor = None

    def __del__(self):
        self.close()


def _wait_seconds() -> float:
    try:
        wait = float(os.environ.get("KG_STORE_WAIT", DEFAULT_WAIT))
    except ValueError:
        raise UsageError(f"KG_STORE_WAIT={os.environ['KG_STORE_WAIT']!r}: give a number of seconds") from None
    if not 0 <= wait < float("inf"):
        raise UsageError(f"KG_STORE_WAIT={os.environ['KG_STORE_WAIT']!r}: give a number of seconds")
    return wait


def _changed(entry: dict) -> bool:
    """Whether the file recorded in ``entry`` differs from what was loaded."""
    path = Path(entry["path"])
    if not path.is_file():
        raise StoreError(f"{path}: source file of the store is missing; "
                         f"reload the store with `kg load --store DIR FILES`")
    stat = path.stat()
    if stat.st_size != entry["size"]:
        return True
    if stat.st_mtime_ns == entry["mtime_ns"]:
        return False
    return _sha256(path) != entry["sha256"]  # touched but maybe not edited: compare contents


def _resolve(paths: Iterable[str | Path]) -> list[Path]:
    resolved = []
    for p in paths:
        path = Path(p).expanduser().resolve()
        if not path.is_file():
            raise InputFileError(f"{p}: no such file")
        if path not in resolved:
            resolved.append(path)
    return resolved


def load_store(directory: str | Path, files: Iterable[str | Path] = (), *, bundled: bool = True,
               force: bool = False, answers: bool | None = None) -> StoreInfo:
    """Make (or refresh) the persistent store in ``directory`` from the bundled files plus ``files``.

    The store is rebuilt when the file list differs from the manifest's, a file changed, the manifest is
    not one kg signed for this user, or ``force``; otherwise nothing is done. Returns what the store holds.
    ``answers`` turns the store's stored answers (kg.answers) on or off; None keeps its setting (on for
    a new store).
    """
    from kg.graph import bundled_files

    directory = Path(directory)
    wanted = _resolve((bundled_files() if bundled else []) + list(files))
    if not wanted:
        raise UsageError("nothing to load: give files, or leave the bundled data in (no --no-bundled)")
    _check_directory(directory)
    with _writing(directory):
        directory.mkdir(parents=True, exist_ok=True)
        lock = _StoreLock(directory, LOAD_LOCK_NAME, create=True)
    try:
        lock.acquire(exclusive=True)
        manifest = _check_directory(directory)  # again, now that no one else is loading it
        if answers is not None:
            from kg.answers import set_wanted
            with _writing(directory):
                set_wanted(directory, answers)
        if manifest is not None and not force and manifest_is_trusted(manifest):
            recorded = [Path(e["path"]) for e in manifest["files"]]
            if recorded == wanted and not any(_changed(e) for e in manifest["files"]):
                _refresh_flow_index(directory)  # a store made before there was an index gets one
                return StoreInfo(directory, tuple(wanted), manifest["triples"], False, 0.0,
                                 _refresh_answers(directory))
        return _rebuild(directory, wanted)
    finally:
        lock.close()


def _check_directory(directory: Path) -> dict | None:
    if directory.exists() and not directory.is_dir():
        raise StoreError(f"{directory}: not a directory")
    manifest = read_manifest(directory) if directory.is_dir() else None
    ours = {LOCK_NAME, LOAD_LOCK_NAME, DATABASE_NAME + ".new", MANIFEST_NAME + ".tmp"}  # a first load under way
    if manifest is None and directory.is_dir() and any(p.name not in ours for p in directory.iterdir()):
        raise StoreError(f"{directory}: not a kg store (no {MANIFEST_NAME}) and not empty; "
                         "choose a new or empty directory")
    return manifest


class _writing:
    """Report an OS error while changing the store as one line (read-only store, full disk ...)."""

    def __init__(self, directory: Path):
        self.directory = directory

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, _traceback):
        if isinstance(exc, OSError) and not isinstance(exc, KgError):
            reason = exc.strerror or " ".join(str(exc).split())[:200]
            raise StoreError(f"{self.directory}: cannot write the store ({reason})") from exc
        return False


def _rebuild(directory: Path, files: list[Path]) -> StoreInfo:
    """Load ``files`` into a fresh database beside the old one, then swap it in and write the manifest.

    The caller holds the load lock; readers are kept out only while the new database is swapped in.
    """
    import pyoxigraph as ox

    started = time.perf_counter()
    fresh, old = directory / (DATABASE_NAME + ".new"), directory / (DATABASE_NAME + ".old")
    with _writing(directory):
        directory.mkdir(parents=True, exist_ok=True)
        for leftover in (fresh, old):
            if leftover.exists():
                shutil.rmtree(leftover)
        entries = [_fingerprint(path) for path in files]  # before loading: a file edited meanwhile reloads next time
        ox_store = ox.Store(str(fresh))
    try:
        for path in files:
            _load_file(ox_store, path, bulk=True)
        with _writing(directory):
            ox_store.flush()
            # Compacts what the bulk load wrote: the big joins and sorts of the stored queries take
            # about half as long afterwards (6.3 s instead of 14.9 s at 100k deals), for ~3 s here.
            ox_store.optimize()
        triples = len(ox_store)
    except BaseException:
        del ox_store
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    del ox_store  # closes the database before it is moved
    database = directory / DATABASE_NAME
    manifest = {"version": _MANIFEST_VERSION, "files": entries, "triples": triples,
                "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    key = _signing_key()
    if key is not None:
        manifest["signature"] = _signature(manifest, key)
    swapping = None
    try:
        with _writing(directory):
            swapping = _StoreLock(directory, create=True)
        swapping.acquire(exclusive=True)  # waits for the readers of the old database
        with _writing(directory):
            if database.exists():
                database.rename(old)
            fresh.rename(database)  # killed between the two renames: _recover_database puts the old back
            tmp = directory / (MANIFEST_NAME + ".tmp")
            tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            os.replace(tmp, directory / MANIFEST_NAME)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    finally:
        if swapping is not None:
            swapping.close()
    shutil.rmtree(old, ignore_errors=True)
    _refresh_flow_index(directory)
    loaded = time.perf_counter() - started
    return StoreInfo(directory, tuple(files), triples, True, loaded, _refresh_answers(directory))


def _refresh_answers(directory: Path):
    """Store the stored queries' answers (kg.answers) if they are wanted and missing or stale; what was
    stored (a kg.answers.BuildReport), or None."""
    from kg.answers import ensure_answers

    return ensure_answers(directory)


def _refresh_flow_index(directory: Path) -> None:
    """Compute the store's flow index (kg.flow_index) if it is missing or was computed from other content."""
    from kg.flow_index import ensure_index

    ensure_index(directory)


def open_store(directory: str | Path, extra: Iterable[str | Path] = ()):
    """The persistent store in ``directory`` as an rdflib Graph on Oxigraph, refreshed if stale.

    ``extra`` files (``--data``) not yet in the store are added to it (and stay in it). The graph holds
    the store's shared lock until it is closed (``graph.close()``), garbage-collected or the process
    ends, so no rebuild can swap the database under it.
    """
    import pyoxigraph as ox

    directory = Path(directory)
    _require_store(directory)
    named = _resolve(extra)
    writable = os.access(directory, os.W_OK)
    lock = _StoreLock(directory, create=writable)
    lock.acquire(exclusive=False)
    manifest = _require_store(directory)
    if _stale(directory, manifest, named) or not (directory / DATABASE_NAME).is_dir():
        lock.release()  # a reader waiting for the load lock would block that load's swap
        loading = _StoreLock(directory, LOAD_LOCK_NAME, create=writable)
        try:
            loading.acquire(exclusive=True)
            manifest = _require_store(directory)  # another process may have refreshed it meanwhile
            if _stale(directory, manifest, named):
                recorded = [Path(e["path"]) for e in manifest["files"]]
                _rebuild(directory, recorded + [p for p in named if p not in recorded])
            else:
                _recover_database(directory)
        finally:
            loading.close()
        lock.acquire(exclusive=False)
    try:
        ox_store = ox.Store.read_only(str(directory / DATABASE_NAME))
    except (OSError, RuntimeError) as exc:
        lock.close()
        raise StoreError(f"{directory}: cannot open the store ({' '.join(str(exc).split())[:200]}); "
                         f"rebuild it with `kg load --store {directory} --force FILES`") from exc
    graph = new_oxigraph_graph(ox_store)
    graph.store.kg_lock = lock  # lives as long as the graph's store
    return graph


def reading_as_is(directory: str | Path):
    """The store's shared lock, held (``close()`` it when done), when the store in ``directory`` can be
    read as it is, without waiting: its manifest is this user's kg's, no file it was loaded from has
    changed, and its database is there. None otherwise: opening it would refresh it, wait for another
    process, or report a problem, which :func:`open_store` does (kg.launch then leaves it to that)."""
    directory = Path(directory)
    try:
        lock = _StoreLock(directory, create=False)
        if lock.descriptor is None:
            return None
        try:
            fcntl.flock(lock.descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
            manifest = read_manifest(directory)
            if (manifest is not None and manifest_is_trusted(manifest) and (directory / DATABASE_NAME).is_dir()
                    and not any(_changed(entry) for entry in manifest["files"])):
                return lock
        except (OSError, KgError):
            pass
        lock.close()
    except OSError:
        pass
    return None


def _require_store(directory: Path) -> dict:
    manifest = read_manifest(directory) if directory.is_dir() else None
    if manifest is None:
        raise StoreError(f"{directory}: no kg store there; create it with `kg load --store {directory} [FILES]`")
    return manifest


def _stale(directory: Path, manifest: dict, named: list[Path]) -> bool:
    """Whether the store must be rebuilt: ``named`` files it lacks, or a file it may check changed.

    Raises when a rebuild is needed but the manifest names files kg may not open."""
    openable = _openable(manifest, named)
    recorded = [Path(e["path"]) for e in manifest["files"]]
    if any(p not in recorded for p in named):
        if len(openable) < len(manifest["files"]):
            raise _untrusted_refusal(directory, manifest, openable)
        return True
    return any(_changed(e) for e in openable)


def _recover_database(directory: Path) -> None:
    """After a load killed between its two renames, put the previous database back."""
    database, old = directory / DATABASE_NAME, directory / (DATABASE_NAME + ".old")
    if not database.is_dir() and old.is_dir():
        with _writing(directory):
            swapping = _StoreLock(directory, create=True)
        swapping.acquire(exclusive=True)
        with _writing(directory):
            old.rename(database)
        swapping.close()


def store_files(directory: str | Path) -> list[Path]:
    """The source files recorded in the store's manifest (for re-reading them into rdflib's store).

    Only a manifest kg signed for this user may name files other than the bundled ones.
    """
    directory = Path(directory)
    manifest = _require_store(directory)
    openable = _openable(manifest)
    if len(openable) < len(manifest["files"]):
        raise _untrusted_refusal(directory, manifest, openable)
    return [Path(e["path"]) for e in manifest["files"]]
