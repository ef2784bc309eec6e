"""The project's own exceptions: each carries a one-line message and the exit code the CLI uses."""


class KgError(Exception):
    """Base class: a problem with the user's input or data, reported as one line."""

    exit_code = 2


class InputFileError(KgError):
    """A file the user named is missing or unreadable."""


class OutputError(KgError):
    """A file (or standard output) kg was asked to write cannot be written; nothing half-written is left."""


class DataSyntaxError(KgError):
    """A data file is not valid RDF; the message names file, line and column."""

    def __init__(self, path, line, column, detail):
        from kg.terminal import printable

        detail = printable(str(detail), keep_newlines=False)  # parsers quote the offending character
        self.path, self.line, self.column, self.detail = str(path), line, column, detail
        where = f"{self.path}:{line}:{column}" if line else self.path
        super().__init__(f"{where}: syntax error: {detail}")


class DataValueError(KgError):
    """A value in the data that no total can be made from (not a finite number); `kg validate` finds it."""


class QuerySyntaxError(KgError):
    """A SPARQL query does not parse; the message names line, column and the offending text."""


class UnknownQueryError(KgError):
    """No stored query has that name."""


class UnknownEntityError(KgError):
    """No entity has that name; ``suggestions`` holds the closest names."""

    def __init__(self, name, suggestions=()):
        self.name, self.suggestions = name, list(suggestions)
        hint = f"; did you mean: {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"no entity named {name!r}{hint}")


class UsageError(KgError):
    """Options that cannot work together or values out of range."""


class QueryTimeout(KgError):
    """A query ran past its time limit."""

    exit_code = 3


class UnknownConditionError(KgError):
    """A --assume names a condition the data does not have."""


class NoResultsError(KgError):
    """A query that ran fine but found nothing (no path, no cycle, no flows): exit code 1, like grep."""

    exit_code = 1
