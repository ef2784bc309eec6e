"""Text for a terminal: control characters in data are shown escaped, never sent raw.

A label holding ``ESC ] 0 ; … BEL`` would retitle the window, ``ESC [ 2 J`` clear it, a carriage
return overwrite the line, a right-to-left override reverse what follows. Every text output of kg
(tables, ``kg show``, trace, cycles, flows, stats, validate, error lines) goes through
``printable``; JSON, CSV, TSV and RDF keep such characters as data (escaped by their own syntax).

>>> printable("Nvidia\\x1b]0;pwned\\x07 \\u202eevil")
'Nvidia\\\\x1b]0;pwned\\\\x07 \\\\u202eevil'
>>> printable("line one\\nline two\\t✓ 英伟达")
'line one\\nline two\\t✓ 英伟达'
"""

from __future__ import annotations

import re

# C0 controls but newline and tab, DEL, C1 controls, and the invisible formatting characters that
# reorder or hide text: bidi embeddings, overrides and isolates, line and paragraph separators.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` with control and bidi-control characters written as ``\\xNN`` / ``\\uNNNN``.

    With ``keep_newlines=False`` newlines and tabs are escaped too (for one-line messages).
    """
    if keep_newlines:
        return _UNSAFE.sub(_escape, text)
    return _UNSAFE.sub(_escape, text).replace("\n", "\\n").replace("\t", "\\t")
