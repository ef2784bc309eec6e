"""Checks on an RDF file before a parser sees it: parsing never fetches or opens anything else.

Used by the one loading place (kg.graph.parse_file for rdflib, kg.store for Oxigraph):

* every file: a regular, readable file within ``KG_MAX_FILE_SIZE``;
* JSON-LD: a ``@context`` (or ``@import``) given as a URL or a path is refused, since rdflib's parser
  would fetch the URL or open the file (and its content could show up in answers); inline contexts
  are fine. Nesting is bounded by ``KG_MAX_DEPTH``;
* RDF/XML: external entities, external DTDs and parameter entities are refused (XXE), and so are
  entities built from other entities ("billion laughs"); the expansion of simple entities must fit
  the file size budget;
* Turtle family read by rdflib (N3, TriG, N-Quads, and every format for ``kg validate``/``export``):
  nesting of ``[`` ``(`` ``{`` bounded by ``KG_MAX_DEPTH``, since rdflib's parser recurses.

>>> check_jsonld(b'{"@context": {"name": "https://schema.org/name"}, "name": "x"}', "a.jsonld")
>>> check_jsonld(b'{"@context": "https://example.org/ctx.jsonld", "name": "x"}', "a.jsonld")
Traceback (most recent call last):
...
kg.rdf_guard.UnsafeInputError: a.jsonld: refused a JSON-LD @context that names another document ('https://example.org/ctx.jsonld'): kg does not fetch URLs or open other files while parsing; put the context inline
"""

from __future__ import annotations

import json
import re
import stat
import sys
import threading
from pathlib import Path

from kg.errors import DataSyntaxError, InputFileError, KgError
from kg.limits import check, format_size, limit


class UnsafeInputError(KgError):
    """A data file asks the parser to read something else (a URL, another file, an external entity)."""


def input_size(path: str | Path) -> int:
    """The size of the regular file ``path``, within budget; one-line errors otherwise."""
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputFileError(f"{path}: not a regular file")
    check("max_file_size", info.st_size, f"{path}: the file is {format_size(info.st_size)}")
    return info.st_size


def read_input(path: str | Path) -> bytes:
    """The bytes of ``path``, read at most to the size budget (a file that grows is cut off and refused)."""
    input_size(path)
    budget = limit("max_file_size")
    try:
        with open(path, "rb") as handle:
            data = handle.read() if budget is None else handle.read(budget + 1)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    if budget is not None:
        check("max_file_size", len(data), f"{path}: the file is over {format_size(budget)}")
    return data


# --------------------------------------------------------------------------------------------- JSON-LD

def check_jsonld(data: bytes, path) -> None:
    """Refuse JSON-LD whose contexts name other documents, or nested deeper than ``KG_MAX_DEPTH``."""
    try:
        document = json.loads(data)
    except RecursionError:
        check("max_depth", sys.maxsize, f"{path}: the JSON nests too deep")
        raise
    except UnicodeDecodeError as exc:
        raise DataSyntaxError(path, None, None, f"not UTF-8 text ({exc.reason})") from None
    except ValueError as exc:
        line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
        raise DataSyntaxError(path, line, column, getattr(exc, "msg", str(exc))) from None
    deepest, todo = 0, [(document, 1)]
    while todo:
        value, depth = todo.pop()
        deepest = max(deepest, depth)
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("@context", "@import"):
                    _check_context(item, path)
                todo.append((item, depth + 1))
        elif isinstance(value, list):
            todo.extend((item, depth + 1) for item in value)
    check("max_depth", deepest, f"{path}: the JSON nests {deepest:,} levels deep")


def _check_context(context, path) -> None:
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, str):
            raise UnsafeInputError(f"{path}: refused a JSON-LD @context that names another document "
                                   f"({item[:80]!r}): kg does not fetch URLs or open other files while "
                                   "parsing; put the context inline")


# --------------------------------------------------------------------------------------------- RDF/XML

class _PrologDone(Exception):
    pass


def check_rdfxml(data: bytes, path) -> None:
    """Refuse external or parameter entities, external DTDs, and entities made of entities.

    Only the prolog (up to the root element) is read here, with expat; entity values are counted
    against their uses so that the expanded document fits the file budget.
    """
    import xml.parsers.expat

    if b"<!DOCTYPE" not in data and b"<!ENTITY" not in data:
        return
    entities: dict[str, int] = {}

    def refuse(why):
        raise UnsafeInputError(f"{path}: refused {why}: kg does not read other files or expand "
                               "entities built from entities (XML external entity or entity expansion attack)")

    def doctype(name, system_id, public_id, has_internal_subset):
        if system_id or public_id:
            refuse(f"an external DTD ({(system_id or public_id)[:80]!r})")

    def entity(name, is_parameter, value, base, system_id, public_id, notation):
        if is_parameter:
            refuse(f"the parameter entity %{name};")
        if value is None or system_id or public_id or notation:
            refuse(f"the external entity &{name}; ({(system_id or public_id or notation or '')[:80]!r})")
        if "&" in value or "%" in value:
            refuse(f"the entity &{name}; defined with other entities")
        entities[name] = len(value.encode("utf-8"))

    def stop(*_args):
        raise _PrologDone

    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.StartElementHandler = stop
    parser.EndDoctypeDeclHandler = stop
    try:
        parser.Parse(data, True)
    except _PrologDone:
        pass
    except xml.parsers.expat.ExpatError as exc:
        raise DataSyntaxError(path, exc.lineno, exc.offset + 1, xml.parsers.expat.ErrorString(exc.code)) from None
    if entities:
        expanded = len(data) + sum(size * len(re.findall(rb"&" + re.escape(name.encode()) + rb";", data))
                                   for name, size in entities.items())
        check("max_file_size", expanded, f"{path}: its entities expand to {format_size(expanded)}")


# ------------------------------------------------------------------------------------- Turtle family

_SKIP = re.compile(rb'"""(?:(?:"|"")?(?:[^"\\]|\\.))*"""|\'\'\'(?:(?:\'|\'\')?(?:[^\'\\]|\\.))*\'\'\''
                   rb'|"(?:[^"\\\n\r]|\\.)*"|\'(?:[^\'\\\n\r]|\\.)*\'|<[^<>"{}|^`\\\x00-\x20]*>|#[^\n\r]*|\\.'
                   rb'|[\[\](){}]', re.DOTALL)


def turtle_depth(data: bytes) -> int:
    """How deep ``[`` ``(`` ``{`` nest in Turtle-like text, outside strings, IRIs and comments.

    >>> turtle_depth(b'<a> <b> ( 1 ( 2 [ <c> "(((" ] ) ) . # (((')
    3
    """
    depth = deepest = 0
    for match in _SKIP.finditer(data):
        token = match.group()
        if token in (b"[", b"(", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b")", b"}"):
            depth = max(depth - 1, 0)
    return deepest


def check_turtle_depth(data: bytes, path) -> None:
    """Refuse Turtle-like text nested deeper than ``KG_MAX_DEPTH`` (cheap when it cannot be)."""
    allowed = limit("max_depth")
    if allowed is None or data.count(b"[") + data.count(b"(") + data.count(b"{") <= allowed:
        return
    depth = turtle_depth(data)
    check("max_depth", depth, f"{path}: brackets nest {depth:,} levels deep")


def with_deep_stack(function, *args, **kwargs):
    """Call ``function`` in a thread whose stack and recursion limit fit ``KG_MAX_DEPTH`` nesting.

    rdflib's parsers recurse several Python frames per nested bracket; the depth budget is checked
    first, so this only has to make room for what the budget allows.
    """
    allowed = limit("max_depth") or 10_000
    needed = 60 * allowed + 2_000
    if needed <= sys.getrecursionlimit():
        return function(*args, **kwargs)
    box: dict = {}

    def run():
        try:
            box["value"] = function(*args, **kwargs)
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    old_limit, old_stack = sys.getrecursionlimit(), threading.stack_size()
    sys.setrecursionlimit(needed)
    try:
        threading.stack_size(min(1 << 30, max(64 << 20, needed * 4096 * 4)))
        worker = threading.Thread(target=run, name="kg-parse")
        worker.start()
    finally:
        threading.stack_size(old_stack)
    try:
        worker.join()
    finally:
        sys.setrecursionlimit(old_limit)
    if "error" in box:
        raise box["error"]
    return box.get("value")
