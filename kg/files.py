"""Writing output files whole: every ``-o FILE`` of kg goes through here.

A regular file (or a new path) is written to a temporary file in the same folder and renamed over the
target only once it is complete and synced, so a full disk, a missing permission or Ctrl-C leaves the
old file intact and no temporary file behind. Devices (``/dev/null``), pipes and FIFOs are written
straight: renaming over them would replace the device node with a regular file. ``-`` is standard
output. A symbolic link is followed: the file it points to is replaced, the link stays. Every OS error
becomes one ``OutputError`` line naming the path and the reason.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> write_output(str(folder / "out.txt"), "hello\\n")
6
>>> sorted(p.name for p in folder.iterdir())
['out.txt']
>>> check_output_path("")
Traceback (most recent call last):
kg.errors.OutputError: -o '': empty file name (give a file, or - for standard output)
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

from kg.errors import OutputError


def check_output_path(output: str) -> Path | None:
    """The file ``output`` names (symbolic links followed), or None for ``-`` (standard output).

    Fails early, before any work is done, when the path cannot be a file: empty, a folder, or in a folder
    that does not exist.
    """
    if output == "-":
        return None
    if not output:
        raise OutputError("-o '': empty file name (give a file, or - for standard output)")
    target = Path(os.path.realpath(output))
    if target.is_dir():
        raise OutputError(f"{output}: is a folder (give a file name)")
    if not target.parent.is_dir():
        raise OutputError(f"{output}: no such folder {str(Path(output).parent)!r}")
    return target


def write_output(output: str, data: str | bytes | memoryview) -> int:
    """Write ``data`` (text is UTF-8; bytes or a memoryview of them) whole to ``output`` (a path, or -
    for standard output); bytes written."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    with open_output(output, text=False) as stream:
        stream.write(raw)
    return raw.nbytes if isinstance(raw, memoryview) else len(raw)


@contextmanager
def open_output(output: str, *, text: bool = True) -> Iterator[IO]:
    """A stream to write ``output`` through; the file appears (or is replaced) only when the block ends
    without error. ``text=True`` gives a UTF-8 text stream, else a binary one."""
    target = check_output_path(output)
    if target is None:
        with _reported(output):
            sys.stdout.flush()
            stream = sys.stdout if text else sys.stdout.buffer
            yield stream
            stream.flush()
        return
    if target.exists() and not stat.S_ISREG(target.stat().st_mode):
        with _reported(output), open(target, "w" if text else "wb", **_encoding(text)) as stream:
            yield stream  # a device, FIFO or socket: written straight, never replaced
        return
    with _reported(output):
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with _reported(output):
            with os.fdopen(handle, "w" if text else "wb", **_encoding(text)) as stream:
                yield stream
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temporary, _mode_for(target))
            os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _encoding(text: bool) -> dict:
    return {"encoding": "utf-8"} if text else {}


def _mode_for(target: Path) -> int:
    """The replaced file's permissions, or for a new file what the umask allows (mkstemp makes 0600)."""
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def _reported(output: str):
    """Turn an OS error while writing ``output`` into one OutputError line."""
    try:
        yield
    except BrokenPipeError:
        raise  # the reader left (`kg ... | head`): the CLI ends quietly
    except OSError as exc:
        where = "standard output" if output == "-" else output
        raise OutputError(f"{where}: cannot write ({exc.strerror or exc})") from exc


def stdout_failure(exc: OSError) -> OutputError | None:
    """The one-line error for ``exc`` when it came from writing standard output, else None.

    Files kg writes report their own errors (``open_output``), so an unconverted "disk full" or I/O error
    that reaches the CLI came from standard output; so did any error when stdout cannot even be flushed.
    A large write fails without leaving data in the buffer, hence the errno test besides the flush.
    The unwritable output is dropped, so that Python's flush at exit does not fail a second time.
    """
    if isinstance(exc, BrokenPipeError):
        return None
    try:
        sys.stdout.flush()
        if exc.errno not in _WRITE_FAILURES:
            return None  # stdout works and the error is not a write failure: it came from elsewhere
    except OSError:
        pass
    drop_stdout()
    return OutputError(f"standard output: cannot write ({exc.strerror or exc})")


def drop_stdout() -> None:
    """Send what is left of standard output to the null device, so that Python's flush at exit does
    not fail again on an output that cannot be written (a full disk, a closed pipe)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # no real descriptor (tests capturing output): nothing to drop
        pass


_WRITE_FAILURES = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}
