"""Progress of long work (a corpus, a long clip) on one terminal line: what runs, a bar, the
utterances or windows done out of the total, the elapsed time and the ETA, rendered by rich.

``ProgressLine`` knows nothing of pytest: it writes its text through a function it is given
(the plugin hands it pytest's terminal writer, past output capture). Work that ends within
``DRAW_AFTER_S`` draws nothing, so short cases stay quiet. On a terminal the line is redrawn in
place (``\\r``); elsewhere (``--progress always`` into a log) each redraw is a line of its own,
at most every ``LOG_EVERY_S``. ``wanted`` decides whether to show it at all: by default only
on a terminal and not with ``-q``, so that CI logs, ``-q`` runs and ``--benchmark-json`` output
stay clean.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from typing import Literal

from rich.console import Console
from rich.progress_bar import ProgressBar
from rich.text import Text

from whisperbench.implementations.base import Progress as ProgressCallback

Setting = Literal["auto", "always", "never"]
SETTINGS: tuple[Setting, ...] = ("auto", "always", "never")
DRAW_AFTER_S = 1.0
"""Work shorter than this shows no progress."""
REDRAW_EVERY_S = 0.2
"""At most this often on a terminal."""
LOG_EVERY_S = 5.0
"""At most this often where the line cannot be redrawn in place (a log file)."""
ERASE_TO_END = "\x1b[K"
BAR_WIDTH = 20
MIN_BAR = 6
MIN_LABEL = 8


def redraws_in_place(isatty: bool, term: str | None) -> bool:
    """Whether the line can be redrawn in place (``\\r`` and erase to its end): on a terminal
    that is not ``TERM=dumb`` (which knows neither; there each redraw is a line of its own)."""
    return isatty and term != "dumb"


def wanted(setting: str, *, isatty: bool, verbosity: int) -> bool:
    """Whether to show progress: ``always``, ``never``, or ``auto``: on a terminal, unless
    ``-q`` (verbosity below 0)."""
    if setting == "always":
        return True
    if setting == "never":
        return False
    return isatty and verbosity >= 0


class ProgressLine:
    """One line of progress for one call at a time: ``start(label)`` gives the callback an
    engine reports to (``done, total, unit``), ``stop()`` ends the call; ``close()`` ends the
    line, before anything else is written."""

    def __init__(
        self,
        write: Callable[[str], None],
        *,
        width: int = 100,
        inline: bool = True,
        color: bool = False,
        clock: Callable[[], float] = time.monotonic,
        draw_after_s: float = DRAW_AFTER_S,
        begin: Callable[[], None] = lambda: None,
    ) -> None:
        self.write = write
        self.begin = begin
        """Called before the line is first drawn (the plugin: end pytest's line)."""
        self.width = width
        self.inline = inline
        self.color = color
        self.clock = clock
        self.draw_after_s = draw_after_s
        self.every_s = REDRAW_EVERY_S if inline else LOG_EVERY_S
        self.is_open = False
        """A drawn line that nothing has ended yet (inline mode)."""
        self.label: str | None = None
        self.done = self.total = 0
        self.unit = ""
        self._started = 0.0
        self._drawn_at: float | None = None

    def start(self, label: str) -> ProgressCallback:
        """A new call: the callback its engine reports to."""
        self.label = label
        self.done = self.total = 0
        self.unit = ""
        self._started = self.clock()
        self._drawn_at = None
        return self.update

    def update(self, done: int, total: int, unit: str) -> None:
        if self.label is None:
            return
        self.done, self.total, self.unit = done, total, unit
        now = self.clock()
        if now - self._started < self.draw_after_s:
            return
        if self._drawn_at is not None and now - self._drawn_at < self.every_s:
            return
        self._draw()
        self._drawn_at = now

    def stop(self) -> None:
        """The call ended: its last state is drawn if anything was."""
        if self._drawn_at is not None:
            self._draw()
        self.label = None

    def close(self) -> None:
        """End the drawn line, so that what is written next starts on a line of its own."""
        if self.is_open:
            self.write("\n")
            self.is_open = False

    def ended_elsewhere(self) -> None:
        """Someone else ended the line (pytest, writing a case's outcome): draw afresh."""
        self.is_open = False

    def eta_s(self) -> float | None:
        """The time left at the call's pace so far; None before anything is done."""
        elapsed = self.clock() - self._started
        if self.done <= 0 or not self.total or elapsed <= 0:
            return None
        return max(0.0, (self.total - self.done) * elapsed / self.done)

    def render(self) -> str:
        """The line as it is drawn now: the label (cut to fit), a bar, the counts, the elapsed
        time and the ETA; with colour codes when ``color``."""
        if self.label is None:
            return ""
        eta = self.eta_s()
        total = str(self.total) if self.total else "?"
        figures = (
            f" {self.done}/{total} {self.unit} {clock_text(self.clock() - self._started)} "
            f"ETA {'-:--:--' if eta is None else clock_text(eta)}"
        )
        room = self.width - 1 - len(figures)  # the last column stays free: no wrap
        bar_width = min(BAR_WIDTH, room - MIN_LABEL - 1)
        bar_width = bar_width if bar_width >= MIN_BAR else 0  # narrow: no bar
        room = max(MIN_LABEL, room - (bar_width + 1 if bar_width else 0))
        label = self.label if len(self.label) <= room else self.label[: room - 1] + "…"
        if not bar_width:
            return label + figures
        if not self.color:
            filled = round(bar_width * self.done / self.total) if self.total else 0
            return f"{label} {'━' * filled}{'─' * (bar_width - filled)}{figures}"
        console = Console(
            file=io.StringIO(), width=self.width, force_terminal=True, color_system="standard"
        )
        bar = ProgressBar(total=self.total or None, completed=self.done, width=bar_width)
        with console.capture() as captured:
            console.print(Text(label + " "), bar, Text(figures), sep="", end="")
        return captured.get().replace("\n", "")

    def _draw(self) -> None:
        text = self.render()
        if not self.is_open:
            self.begin()
        if self.inline:
            self.write("\r" + text + ERASE_TO_END)
            self.is_open = True
        else:
            self.write(text + "\n")


def clock_text(seconds: float) -> str:
    """``H:MM:SS``, as rich's progress columns write times."""
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
