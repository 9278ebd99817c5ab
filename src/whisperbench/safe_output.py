"""Output that survives where it goes: a pipe whose reader left (``whisperbench
check-regressions | head -1``, ``pytest benchmarks/ | head``) and a stream that cannot encode
every character (an ASCII-only locale or ``PYTHONIOENCODING=ascii``).

``SafeStream`` wraps a text stream: a broken pipe (or a terminal that hung up, whose writes
fail with EIO after SIGHUP) is noted once and what follows is dropped
(the process's descriptor is pointed at the null device, so that nothing fails at exit either),
so that the work goes on: a run is still saved and a verdict keeps its exit code. Text the
stream cannot encode is written with plain fallbacks: box drawing as ``+ - |``, ``…`` as
``...``, ``Δ`` as ``d``, accents dropped, anything else as ``?``.
"""

from __future__ import annotations

import atexit
import codecs
import errno
import io
import os
import sys
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any, TextIO

__all__ = ["SafeStream", "plain", "safe_stdio"]

FALLBACKS = {
    "…": "...",
    "Δ": "d",
    "≠": "!=",
    "±": "+/-",
    "≥": ">=",
    "≤": "<=",
    "→": "->",
    "←": "<-",
    "×": "x",
    "µ": "u",
    "—": "-",
    "–": "-",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "•": "*",
    "·": ".",
    "ß": "ss",
    "æ": "ae",
    "ø": "o",
    "ł": "l",
}


def _fallback(char: str) -> str:
    if char in FALLBACKS:
        return FALLBACKS[char]
    name = unicodedata.name(char, "")
    if name.startswith("BOX DRAWINGS"):
        horizontal, vertical = "HORIZONTAL" in name, "VERTICAL" in name
        return "-" if horizontal and not vertical else "|" if vertical and not horizontal else "+"
    if name.endswith(("BLOCK", "SHADE")):  # a bar's cells
        return "#"
    stripped = "".join(c for c in unicodedata.normalize("NFKD", char) if c.isascii())
    return stripped or "?"


def plain(text: str, encoding: str = "ascii") -> str:
    """``text`` with every character that ``encoding`` cannot hold replaced by its fallback."""
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return "".join(c if _encodes(c, encoding) else _fallback(c) for c in text)
    return text


def _encodes(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def _is_unicode(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name.startswith("utf")
    except LookupError:
        return False


GONE = (errno.EPIPE, errno.EIO)
"""A pipe whose reader left; a terminal that hung up."""

_silenced: set[int] = set()


def _silence(descriptor: int) -> None:
    """Point ``descriptor`` at the null device (now and again at exit: a capture may have put
    the broken pipe back), so that later writes and the final flush succeed."""
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, descriptor)
    finally:
        os.close(null)
    if descriptor not in _silenced:
        _silenced.add(descriptor)
        atexit.register(_silence_again, descriptor)


def _silence_again(descriptor: int) -> None:
    with suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, descriptor)
        os.close(null)


class SafeStream(io.TextIOBase):
    """A text stream that outlives a broken pipe and writes what its encoding cannot hold
    with plain fallbacks."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.broken = False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"

    def isatty(self) -> bool:
        return not self.broken and self.stream.isatty()

    def fileno(self) -> int:
        return self.stream.fileno()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if not self.broken:
            if not _is_unicode(self.encoding):
                text = plain(text, self.encoding)
            try:
                self.stream.write(text)
            except UnicodeEncodeError:  # a file name that is not valid UTF-8 (surrogates)
                encoding = self.encoding
                self._write(text.encode(encoding, "backslashreplace").decode(encoding))
            except OSError as exc:
                self._broke(exc)
        return len(text)

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
        except OSError as exc:
            self._broke(exc)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except OSError as exc:
                self._broke(exc)

    def _broke(self, exc: OSError) -> None:
        """The reader is gone: drop what follows (any other error is raised)."""
        if exc.errno not in GONE:
            raise exc
        self.broken = True
        with suppress(OSError, ValueError, io.UnsupportedOperation):
            _silence(self.stream.fileno())

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _null() -> TextIO:
    """Where a stream goes that the process was started without (``>&-``)."""
    return open(os.devnull, "w", encoding="utf-8")


@contextmanager
def safe_stdio() -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` as ``SafeStream`` for the block."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = (
        SafeStream(stream if stream is not None else _null()) for stream in saved
    )
    try:
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with suppress(OSError, ValueError):
                stream.flush()
        sys.stdout, sys.stderr = saved
