"""The safety check every SPARQL query passes before an engine sees it: ``check_query(text)``.

kg answers read-only queries over the data the user loaded, and nothing else. A query is refused,
with one line saying why, when it would

* reach out: ``SERVICE`` (Oxigraph and rdflib both send the query to that URL) unless the caller
  allows it explicitly (``kg query --allow-service``);
* read graphs named by IRI: ``FROM`` / ``FROM NAMED`` (rdflib's engine, on a Dataset, loads them from
  the URL or file; Oxigraph would silently answer from an empty graph, as kg keeps its data in the
  default graph);
* change data: updates (``INSERT``, ``DELETE``, ``LOAD``, ``CLEAR``, ``DROP``, ``CREATE``, ``ADD``,
  ``MOVE``, ``COPY``);
* exceed a budget (kg.limits): text size, nesting depth, triple patterns. Oxigraph's parser
  overflows its stack (a segmentation fault, no message) on a few thousand nested groups or
  parentheses, a long ``!!!…`` or ``1+1+…`` chain or a long property path, and its planner takes
  minutes on a few hundred triple patterns; these are caught here, before it sees them.

The check works on tokens, not on raw text: a keyword inside a string, an IRI or a comment is not a
keyword, and a keyword cannot hide inside what only looks like an IRI (``FILTER(?a<?b)SERVICE?s#>``
reads ``<`` as "less than" after an operand, as the engine does).

>>> check_query("SELECT ?s WHERE { ?s ?p 'SERVICE' } # SERVICE").form
'SELECT'
>>> check_query("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }")
Traceback (most recent call last):
...
kg.sparql_guard.UnsafeQueryError: SERVICE is refused: it makes kg send a query to another server (allow it with --allow-service)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.errors import KgError
from kg.limits import check


class UnsafeQueryError(KgError):
    """A query asks for something kg does not do (network, other graphs, updates)."""


@dataclass(frozen=True)
class QueryShape:
    """What the guard measured: the query form and the figures the budgets apply to."""

    form: str | None
    depth: int
    triple_patterns: int
    uses_service: bool


_IRI = re.compile(r'<(?:[^\x00-\x20<>"{}|^`\\]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>')
_TOKEN = re.compile(r"""
    (?P<ws>[ \t\r\n]+)
  | (?P<comment>\#[^\r\n]*)
  | (?P<string>'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''|\"\"\"(?:(?:"|"")?(?:[^"\\]|\\.))*\"\"\"
               |'(?:[^'\\\r\n]|\\.)*'|"(?:[^"\\\r\n]|\\.)*")
  | (?P<var>[?$][\w\u00B7]+)
  | (?P<bnode>_:[\w.\-\u00B7]*)
  | (?P<pname>(?:[^\W\d_][\w.\-\u00B7]*)?:(?:[\w:.\-\u00B7%]|\\[_~.\-!$&'()*+,;=/?\#@%])*)
  | (?P<word>[^\W\d][\w]*)
  | (?P<number>\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)
  | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
  | (?P<op>\^\^|&&|\|\||!=|<=|>=)
  | (?P<char>.)
""", re.VERBOSE | re.DOTALL)

_UPDATES = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY"}
_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
_BINARY = {"||", "&&", "=", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/"}
_OPERAND_END = {"var", "string", "number", "iri", "pname", "bnode", "lang", "close"}
_EXPR_KEYWORDS = {"FILTER", "BIND", "HAVING", "ASC", "DESC"}
_CLAUSE_START = {"SELECT", "BY", "HAVING"}
_CLAUSE_END = {"WHERE", "FROM", "LIMIT", "OFFSET", "VALUES"}


def check_query(text: str, *, allow_service: bool = False) -> QueryShape:
    """Check SPARQL ``text`` before it is run; return its shape or raise a one-line kg error.

    Raises UnsafeQueryError (SERVICE unless ``allow_service``, FROM / FROM NAMED, updates, binary
    text) or kg.limits.LimitExceeded (``KG_MAX_QUERY_SIZE``, ``KG_MAX_DEPTH``,
    ``KG_MAX_TRIPLE_PATTERNS``). A query that is merely malformed passes: the engine reports its
    syntax error with a position. Every caller that runs user queries (``kg query``, the server)
    calls this with the exact text it will run.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    check("max_query_size", size, f"the query is {size:,} bytes")
    bad = re.search(r"[\x00-\x08\x0e-\x1f\x7f]", text)
    if bad:
        raise UnsafeQueryError(f"the query contains a control character ({bad.group()!r}); is it binary data?")
    return _scan(text, allow_service)


def _scan(text: str, allow_service: bool) -> QueryShape:
    # Stack of open brackets: "{" a group, "(" / "[" in patterns, "expr" a parenthesis in an expression;
    # chains[i] counts binary operators at level i (a chain of n operators is a tree n deep).
    stack: list[str] = []
    chains = [0]
    depth = patterns = unary = 0
    form = None
    pending_expr = clause_expr = False
    uses_service = False
    previous = ""  # kind of the previous significant token
    position, end = 0, len(text)

    def level() -> int:
        return len(stack) + sum(chains)

    while position < end:
        if text[position] == "<":
            in_expr = bool(stack) and stack[-1] == "expr"
            iri = None if in_expr and previous in _OPERAND_END else _IRI.match(text, position)
            if iri:
                kind, value, position = "iri", iri.group(), iri.end()
            else:
                kind, value = "op", "<=" if text.startswith("<=", position) else "<"
                position += len(value)
        else:
            match = _TOKEN.match(text, position)
            kind, value, position = match.lastgroup, match.group(), match.end()
            if kind in ("ws", "comment"):
                continue
            if kind == "pname" and value.endswith("."):  # a name cannot end with "."; it ends a triple
                stripped = value.rstrip(".")
                position -= len(value) - len(stripped)
                value = stripped
        in_expr = bool(stack) and stack[-1] == "expr"
        upper = value.upper() if kind in ("word", "pname") else ""

        if kind == "word" or (kind == "pname" and upper.split(":", 1)[0] == "SERVICE"):
            keyword = upper.split(":", 1)[0]
            if keyword == "SERVICE":
                uses_service = True
                if not allow_service:
                    raise UnsafeQueryError("SERVICE is refused: it makes kg send a query to another server "
                                           "(allow it with --allow-service)")
            elif keyword in _UPDATES:
                raise UnsafeQueryError(f"{keyword} is refused: kg runs read-only queries, never updates")
            elif keyword == "FROM":
                raise UnsafeQueryError("FROM / FROM NAMED are refused: kg never loads graphs named in a query; "
                                       "query the loaded data (add files with --data)")
            elif keyword in _FORMS and form is None:
                form = keyword
            if keyword in _EXPR_KEYWORDS:
                pending_expr = True
            if keyword in _CLAUSE_START:
                clause_expr = True
            elif keyword in _CLAUSE_END:
                clause_expr = False
        if kind == "string" and len(value) == 1:  # an unterminated quote: the engine will say so
            kind = "char"

        unary_here = False
        if value in ("(", "[", "{"):
            if value == "{":
                opened = "{"
                pending_expr = clause_expr = False
            elif value == "(" and (in_expr or pending_expr or clause_expr or "{" not in stack):
                opened = "expr"
                pending_expr = False
            else:
                opened = value
            if value == "{" or (value == "[" and not in_expr):
                patterns += 1
            stack.append(opened)
            chains.append(0)
            depth = max(depth, level())
            kind = "open"
        elif value in (")", "]", "}"):
            if stack:
                stack.pop()
                chains.pop()
            if value == "}":
                clause_expr = False
            kind = "close"
        elif in_expr and value in _BINARY and (previous in _OPERAND_END or value not in ("+", "-")):
            chains[-1] += 1
            depth = max(depth, level())
        elif in_expr and value in ("!", "+", "-"):
            unary_here = True
        elif not in_expr and value in ("!", "^"):
            unary_here = True
        elif not in_expr and "{" in stack and value in (".", ";", ",", "/", "|"):
            patterns += 1
            if value in ("/", "|"):  # a property path is a chain too
                chains[-1] += 1
                depth = max(depth, level())
        elif upper == "UNION":
            chains[-1] += 1
            depth = max(depth, level())
        if unary_here:
            unary += 1
            depth = max(depth, level() + unary)
        else:
            unary = 0
        previous = kind

    check("max_depth", depth, f"the query nests {depth:,} levels deep (groups, brackets, operator chains)")
    check("max_triple_patterns", patterns, f"the query has about {patterns:,} triple patterns and groups")
    return QueryShape(form, depth, patterns, uses_service)
