"""The server's check of SPARQL text before any engine sees it, as HTTP statuses.

Every query the server runs — typed into ``/sparql``, or a stored query with its parameters bound —
goes through :func:`checked_query`, which is the command line's own check (:func:`kg.sparql_guard.check_query`:
no ``SERVICE``, no ``FROM``/``FROM NAMED``, no update, within the budgets of :mod:`kg.limits`) with
its refusals turned into :class:`QueryRefused` carrying the status to answer with. ``SERVICE`` is never
allowed here: a server has no ``--allow-service``.

>>> checked_query("SELECT * WHERE { ?s ?p 'SERVICE' }")
"SELECT * WHERE { ?s ?p 'SERVICE' }"
>>> checked_query("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }")
Traceback (most recent call last):
...
kg.server.guard.QueryRefused: SERVICE is refused: this endpoint never queries other services
"""

from __future__ import annotations

from functools import lru_cache

from kg.errors import KgError
from kg.limits import LimitExceeded
from kg.sparql_guard import UnsafeQueryError, check_query


class QueryRefused(KgError):
    """A query the server will not run; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 403):
        super().__init__(message)
        self.status = status


def checked_query(text: str) -> str:
    """``text`` unchanged if the server may run it; otherwise raise :class:`QueryRefused`.

    Refused on purpose (SERVICE, FROM, updates): 403. Over a budget: 413 for the text's size, else 400.
    A text that passed is remembered (up to 512 texts of at most 64 KB each): the same query text
    asked again is not scanned again, since the check depends on nothing but the text.
    """
    if len(text) <= 65_536:
        _checked_text(text)
        return text
    return _check(text)


@lru_cache(maxsize=512)
def _checked_text(text: str) -> bool:
    """True once ``text`` passed (a refusal raises, and exceptions are never cached)."""
    _check(text)
    return True


def _check(text: str) -> str:
    if "\x00" in text:
        raise QueryRefused("query refused: it contains a NUL character", 400)
    try:
        check_query(text)
    except UnsafeQueryError as exc:
        message = str(exc)
        if message.startswith("SERVICE"):  # the CLI's hint (--allow-service) means nothing to a client
            message = "SERVICE is refused: this endpoint never queries other services"
        raise QueryRefused(message, 403) from exc
    except LimitExceeded as exc:
        too_long = "KG_MAX_QUERY_SIZE" in str(exc)
        raise QueryRefused(f"query refused: {exc}", 413 if too_long else 400) from exc
    return text
