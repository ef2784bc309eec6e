r"""Query files and the exact text kg runs for them, without rdflib: reading a stored query's header,
finding a query by name, path or text, and putting the prologue, parameter values and a limit around
it. kg.queries binds values through the graph and runs the text; kg.launch uses :func:`default_text`
to find a stored answer before anything heavy is imported.

>>> query = parse_header("q", "# param: company = kgd:OpenAI  The buyer\nSELECT * WHERE { ?company ?p ?o }")
>>> default_text(query).splitlines()[-1]
'SELECT * WHERE { VALUES ?company { <https://w3id.org/aimoney/id/OpenAI> }  ?company ?p ?o }'
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from kg.errors import InputFileError, UnknownQueryError, UsageError
from kg.project import NAMESPACES, QUERIES_DIR, sparql_prologue

# Query forms, and update forms too: typed-in updates are SPARQL text, refused as such (kg.sparql_guard).
_QUERY_FORMS = re.compile(r"^\s*(PREFIX|BASE|SELECT|ASK|CONSTRUCT|DESCRIBE"
                          r"|INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b", re.IGNORECASE | re.MULTILINE)
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class Param(NamedTuple):
    """A parameter of a stored query: ``?name``, its default (None: unbound), and what it means."""

    name: str
    default: str | None
    description: str


class StoredQuery(NamedTuple):
    """A SPARQL query with its header; ``name`` is the file stem, or "(inline)" for typed-in text."""

    name: str
    text: str
    title: str = ""
    description: str = ""
    params: tuple[Param, ...] = ()
    path: Path | None = None


def parse_header(name: str, text: str, path: Path | None = None) -> StoredQuery:
    """Read the ``# title:``, ``# description:`` and ``# param:`` lines at the top of a query."""
    title, description, params = "", [], []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("#"):
            break
        key, _, value = stripped.lstrip("#").strip().partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "title":
            title = value
        elif key == "description":
            description.append(value)
        elif key == "param":
            spec, _, meaning = value.partition("  ")
            pname, _, default = spec.partition("=")
            default = default.strip()
            params.append(Param(pname.strip().lstrip("?"), None if default in ("", "none") else default, meaning.strip()))
        elif key == "" or key not in ("title", "description", "param") and description:
            description.append(stripped.lstrip("#").strip())
    return StoredQuery(name, text, title, " ".join(d for d in description if d), tuple(params), path)


def stored_queries(directory: Path = QUERIES_DIR) -> list[StoredQuery]:
    """Every stored query in ``directory``, by name."""
    return [parse_header(path.stem, path.read_text(encoding="utf-8"), path)
            for path in sorted(Path(directory).glob("*.rq"))]


def find_query(spec: str, directory: Path = QUERIES_DIR) -> StoredQuery:
    """A stored query's name, a path to a ``.rq`` file, or SPARQL text, as a StoredQuery."""
    if _QUERY_FORMS.search(spec) and not _NAME.match(spec.strip()):
        return parse_header("(inline)", spec)
    stored = Path(directory) / f"{spec}.rq"
    if _NAME.match(spec) and _safely(stored.is_file):
        return parse_header(spec, stored.read_text(encoding="utf-8"), stored)
    path = Path(spec)
    if path.suffix in (".rq", ".sparql") or "/" in spec or _safely(path.exists):
        if not _safely(path.is_file):
            raise InputFileError(f"{_clip(spec)}: no such query file")
        return parse_header(path.stem, read_query_text(path, spec), path)
    names = ", ".join(q.name for q in stored_queries(directory))
    raise UnknownQueryError(f"no stored query named {_clip(spec)!r}; stored queries: {names}")


def _safely(test) -> bool:
    """``test()`` (``path.is_file``, ``path.exists``), False for a name the system refuses (one too long,
    say) rather than an error: the name is then no query file, and is reported as such."""
    try:
        return test()
    except (OSError, ValueError):
        return False


def _clip(text: str, width: int = 100) -> str:
    return text if len(text) <= width else text[:width] + "…"


def read_query_text(source, name: str) -> str:
    """SPARQL text from a file path or a binary stream (standard input), within ``KG_MAX_QUERY_SIZE``.

    Binary input is refused without echoing it back.
    """
    from kg.limits import check, format_size, limit

    budget = limit("max_query_size")
    try:
        if isinstance(source, (str, Path)):
            with open(source, "rb") as handle:
                raw = handle.read() if budget is None else handle.read(budget + 1)
        else:
            raw = source.read() if budget is None else source.read(budget + 1)
    except OSError as exc:
        raise InputFileError(f"{name}: cannot read ({exc.strerror})") from None
    if budget is not None:
        check("max_query_size", len(raw), f"{name}: the query is over {format_size(budget)}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{name}: not UTF-8 text (byte {exc.start:,} of {len(raw):,}); is it binary data?") from None
    if "\x00" in text:
        raise InputFileError(f"{name}: contains NUL bytes; is it binary data?")
    return text


def _strip_comments(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _insert_values(text: str, bindings: dict[str, str]) -> str:
    clause = " ".join(f"VALUES ?{name} {{ {term} }}" for name, term in bindings.items())
    # Find the outer WHERE group (or the first group of a WHERE-less query), skipping comment lines.
    # Comment lines are blanked (same length) so that positions found in the copy hold in ``text``.
    code = "".join(" " * len(line) if line.lstrip().startswith("#") else line
                   for line in text.splitlines(keepends=True))
    match = re.search(r"\bWHERE\s*\{", code, re.IGNORECASE) or re.search(r"\{", code)
    if match:
        return text[: match.end()] + f" {clause} " + text[match.end():]
    raise UsageError("cannot bind parameters: the query has no { … } group")


def checked_iri(text: str) -> str:
    """``text`` if it may stand as an IRI in a query, refusing characters that could end the IRI
    inside the query text."""
    bad = re.search(r'[\x00-\x20<>"{}|^`\\]', text)
    if bad:
        raise UsageError(f"--param: {text[:60]!r} is not a valid IRI (it contains {bad.group()!r})")
    return text


def query_text(query: StoredQuery, bindings: dict[str, str], limit: int | None = None) -> str:
    """The full text to run: the prologue, then ``query`` with each ``bindings`` value (SPARQL term text,
    e.g. ``<https://…>``) put in a VALUES clause at the start of its WHERE group, then ``LIMIT limit``
    unless the query has a LIMIT of its own."""
    text = _insert_values(query.text, bindings) if bindings else query.text
    if limit is not None:
        if limit < 0:
            raise UsageError("--limit must be 0 or more")
        if not re.search(r"\bLIMIT\s+\d+", _strip_comments(text), re.IGNORECASE):
            text = f"{text.rstrip()}\nLIMIT {limit}\n"
    return sparql_prologue() + text


def default_text(query: StoredQuery) -> str | None:
    """The text kg runs for ``query`` with its default parameters when each default is an IRI written as
    a prefixed name or ``<IRI>`` (what kg.queries.prepare_query gives with no values); None when a
    default needs the graph (an entity's name)."""
    bindings = {}
    for param in query.params:
        if param.default is None:
            continue
        try:
            iri = written_iri(param.default.strip())
        except UsageError:
            return None
        if iri is None:
            return None
        bindings[param.name] = f"<{iri}>"
    return query_text(query, bindings)


def written_iri(text: str) -> str | None:
    """The IRI ``text`` writes as ``<IRI>`` or as a prefixed name of a predeclared namespace (checked with
    :func:`checked_iri`, which raises for an IRI that could end early); None for anything else (a quoted
    string, a number, an entity's name).

    >>> written_iri("kgd:OpenAI"), written_iri("<https://x.org/a>"), written_iri('"kgd:OpenAI"'), written_iri("OpenAI")
    ('https://w3id.org/aimoney/id/OpenAI', 'https://x.org/a', None, None)
    """
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return None
    if text.startswith("<") and text.endswith(">"):
        return checked_iri(text[1:-1])
    prefix, sep, rest = text.partition(":")
    if sep and prefix in NAMESPACES and " " not in rest:
        return checked_iri(NAMESPACES[prefix] + rest)
    return None
