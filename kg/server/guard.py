"""The server's check of SPARQL text before any engine sees it: no SERVICE, no update, within budgets.

Every query the server runs — typed into ``/sparql``, or a stored query with its parameters bound —
goes through :func:`checked_query`. It refuses what a read-only public endpoint must never do
(reach the network with ``SERVICE``; change data with ``INSERT``/``DELETE``/``LOAD``/``CLEAR``…), and
text too big or too deeply nested for the engine to parse safely. ``FROM``/``FROM NAMED`` need no
check here: the Oxigraph engine only ever looks such graphs up among the graphs it holds, and the
server's dataset holds only the loaded data.

The check reads the query as tokens: string literals, IRIs and comments are blanked first, so a
keyword inside ``"SERVICE"`` or ``<http://x/service>`` or a variable ``?service`` is not mistaken
for the keyword.

>>> checked_query("SELECT * WHERE { ?s ?p 'SERVICE' }")
"SELECT * WHERE { ?s ?p 'SERVICE' }"
>>> checked_query("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
Traceback (most recent call last):
...
kg.server.guard.QueryRefused: SERVICE is refused: this endpoint never queries other services
"""

from __future__ import annotations

import re

from kg.errors import KgError

#: Budgets: a query longer, more deeply nested or with more triple-pattern separators is refused.
MAX_QUERY_CHARS = 100_000
MAX_NESTING = 100
MAX_PATTERN_SEPARATORS = 2_000

_LITERALS_IRIS_COMMENTS = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'(?:[^'\\\n]|\\.)*'"
    r'|<[^<>"{}|^`\\\s]*>'
    r"|#[^\n]*",
    re.DOTALL)
_DECIMAL_POINT = re.compile(r"\d\.\d")  # 1.5: a dot that separates no triple patterns
# A keyword is a bare word: not part of a prefixed name (ex:service), a variable (?service) or a longer word.
_KEYWORD = r"(?<![\w:?$\-.]){}(?![\w:\-])"
_SERVICE = re.compile(_KEYWORD.format("SERVICE"), re.IGNORECASE)
_UPDATE_WORDS = ("insert", "delete", "load", "clear", "drop", "create", "add", "move", "copy", "with")
_UPDATE = re.compile(_KEYWORD.format("(?:" + "|".join(_UPDATE_WORDS) + ")"), re.IGNORECASE)
_BRACKETS = re.compile(r"[^{}()\[\]]+")
_QUERY_FORM = re.compile(_KEYWORD.format(r"(?:SELECT|ASK|CONSTRUCT|DESCRIBE)"), re.IGNORECASE)


class QueryRefused(KgError):
    """A query the server will not run; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.status = status


def checked_query(text: str) -> str:
    """``text`` unchanged if the server may run it; otherwise raise :class:`QueryRefused`."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryRefused(f"query refused: {len(text):,} characters, over the limit of {MAX_QUERY_CHARS:,}", 413)
    if "\x00" in text:
        raise QueryRefused("query refused: it contains a NUL character", 400)
    code = _DECIMAL_POINT.sub("000", _LITERALS_IRIS_COMMENTS.sub(" x ", text))
    lowered = code.lower()  # the keyword searches below are slow; most queries hold none of the words
    if any(word in lowered for word in _UPDATE_WORDS):
        first_form = _QUERY_FORM.search(code)
        update = _UPDATE.search(code)
        if update and (first_form is None or update.start() < first_form.start()):
            raise QueryRefused(f"{update.group(0).upper()} is refused: this endpoint is read-only (no SPARQL Update)")
    if "service" in lowered and _SERVICE.search(code):
        raise QueryRefused("SERVICE is refused: this endpoint never queries other services")
    depth = 0
    for char in _BRACKETS.sub("", code):
        if char in "{([":
            depth += 1
            if depth > MAX_NESTING:
                raise QueryRefused(f"query refused: nested more than {MAX_NESTING} levels deep", 400)
        else:
            depth -= 1
    separators = sum(code.count(c) for c in ".;,")
    if separators > MAX_PATTERN_SEPARATORS:
        raise QueryRefused(f"query refused: more than {MAX_PATTERN_SEPARATORS:,} triple patterns", 400)
    return text
