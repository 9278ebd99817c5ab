"""Names are data: a clip's or a case's name, whatever its length or script, is shown without
costing the numbers beside it, and becomes a readable, stable part of a test ID.

- ``Name``: a table cell that takes the room the other columns leave, cutting a long name in
  its middle (``transformers-tiny.en-a_very…_end``), so that rich never squeezes the number
  columns (which the tables keep unwrapped) to make room for it;
- ``id_part``: a name as pytest shows it in a test ID, in ASCII (pytest escapes anything else
  into ``\\xe9``): accents dropped (``café`` -> ``cafe``), other characters as their code
  point (``u65e5``), control characters and whitespace other than a space as ``_``. The same
  name always gives the same part; two names that give the same part are caught where the
  inputs are read.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

__all__ = ["LEAST_NAME_WIDTH", "Name", "id_part", "shorten"]

LEAST_NAME_WIDTH = 24
"""A name column is never cut narrower than this."""


def shorten(text: str, width: int, ellipsis: str = "…") -> str:
    """``text`` cut in its middle to ``width`` terminal cells (its start and its end kept; a
    wide character, CJK for one, takes two cells)."""
    if cell_len(text) <= width:
        return text
    room = max(0, width - cell_len(ellipsis))
    head_room = (room + 1) // 2
    head = _fit(text, head_room)
    tail = _fit(text[::-1], room - cell_len(head))[::-1]
    return head + ellipsis + tail


def _fit(text: str, cells: int) -> str:
    """The longest start of ``text`` that takes at most ``cells`` cells."""
    used = 0
    for index, char in enumerate(text):
        used += cell_len(char)
        if used > cells:
            return text[:index]
    return text


class Name:
    """A name cell: as wide as the name when there is room, cut in the middle when not."""

    def __init__(self, text: str, style: str = "") -> None:
        self.text = text
        self.shown = "".join(  # a newline or tab in a file name would break the row
            "_" if unicodedata.category(char).startswith("C") else char for char in text
        )
        self.style = style

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        width = cell_len(self.shown)
        return Measurement(min(LEAST_NAME_WIDTH, width), width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        ellipsis = "..." if options.ascii_only else "…"
        yield Text(
            shorten(self.shown, options.max_width, ellipsis),
            style=self.style,
            no_wrap=True,
            overflow="ignore",
        )

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Name) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def id_part(name: str) -> str:
    """``name`` as a readable, stable ASCII part of a test ID."""
    if name.isascii() and name.isprintable():
        return name
    return "".join(_id_char(char) for char in name)


def _id_char(char: str) -> str:
    if char.isascii():
        return char if char.isprintable() else "_"
    if not char.isprintable() or char.isspace():
        return "_"
    plain = "".join(c for c in unicodedata.normalize("NFKD", char) if c.isascii())
    return plain or f"u{ord(char):04x}"
