"""The ``kg`` command's entry point: a short way for one command line, then the click CLI (kg.cli).

``kg --store DIR query NAME --format csv`` for a stored query is what scripts run again and again, and
its answer is already worked out and kept with the store (kg.answers). Python takes ~0.2 s to import
click, rdflib and pyoxigraph, ten times the work of copying a small answer, so this module answers that
one command line without them: when the store can be read as it is (kg.store.reading_as_is), the query
binds only IRIs by default (kg.query_files.default_text), and the stored answer is small and its CSV
needs no rdflib (kg.answers.small_csv). Then it writes exactly the bytes kg.cli would write. Nothing is
run, so kg.sparql_guard has nothing to check: ``kg load`` ran the text through it, and a text it
refuses has no stored answer.

Anything else (another option, an environment that changes the answer, a store to refresh, a large or
missing answer, any error) goes to kg.cli, which does everything the usual way, reporting errors too.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    """Run ``kg`` with ``sys.argv``."""
    if not _answered(sys.argv[1:]):
        from kg.cli import main as cli

        cli(prog_name="kg")


def stored_csv_request(argv: list[str]) -> tuple[str, str] | None:
    """``(store directory, query name)`` when ``argv`` is exactly ``--store DIR query NAME --format csv``
    (``--opt=value`` forms allowed, NAME and ``--format`` in either order); None for anything else.

    >>> stored_csv_request(["--store", "s", "query", "people", "--format", "csv"])
    ('s', 'people')
    >>> stored_csv_request(["--store=s", "query", "--format=csv", "people"])
    ('s', 'people')
    >>> stored_csv_request(["--store", "s", "query", "people", "--format", "csv", "--limit", "5"]) is None
    True
    """
    if argv and argv[0].startswith("--store="):
        store, rest = argv[0][len("--store="):], argv[1:]
    elif len(argv) > 1 and argv[0] == "--store":
        store, rest = argv[1], argv[2:]
    else:
        return None
    if not store or not rest or rest[0] != "query":
        return None
    name = fmt = None
    words = iter(rest[1:])
    for word in words:
        if word == "--format":
            value = next(words, None)
        elif word.startswith("--format="):
            value = word[len("--format="):]
        elif not word.startswith("-") and name is None:
            name = word
            continue
        else:
            return None
        if fmt is not None:
            return None
        fmt = value
    return (store, name) if name and fmt == "csv" else None


def _answered(argv: list[str]) -> bool:
    """Whether the command line was answered here (see the module docstring)."""
    request = stored_csv_request(argv)
    if request is None or os.environ.get("KG_ENDPOINT"):  # click reads --endpoint from KG_ENDPOINT
        return False
    encoding = (getattr(sys.stdout, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if encoding != "utf8":
        return False
    store_dir, name = request
    from kg.errors import KgError

    try:
        from kg.query_files import default_text, find_query

        query = find_query(name)
        text = default_text(query) if query.path is not None else None
    except (KgError, OSError, ValueError):  # kg.cli reports it
        return False
    if text is None:
        return False
    from kg.answers import small_csv
    from kg.store import reading_as_is

    lock = reading_as_is(store_dir)
    if lock is None:
        return False
    try:
        answer = small_csv(store_dir, text)
    finally:
        lock.close()
    if answer is None:
        return False
    _write(answer)
    return True


def _write(text: str) -> None:
    """Write ``text`` to standard output as kg.cli would, and end the process on the ways that can fail."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:  # `kg … | head`: quiet, as kg.cli
        from kg.files import drop_stdout

        drop_stdout()
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:
        from kg.files import stdout_failure
        from kg.terminal import printable

        failure = stdout_failure(exc)
        if failure is None:
            raise
        sys.stderr.write(f"kg: error: {printable(str(failure), keep_newlines=False)}\n")
        sys.exit(failure.exit_code)

