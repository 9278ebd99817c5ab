"""What the user sees at once during a benchmark session, past pytest's output capture: the
pool's and the corpora's lines and one progress line (``Terminal``); and pytest's and
pytest-benchmark's writers made safe for a reader that leaves the pipe (``safe_streams``)."""

from __future__ import annotations

import os
from contextlib import nullcontext
from typing import Any

import pytest

from whisperbench.implementations import Progress
from whisperbench.safe_output import SafeStream
from whisperbench.suite import progress


class Terminal:
    """What the user sees at once, even while pytest captures the test's output: lines (the
    pool's and the corpora's notes) and, where ``progress.wanted`` says so, one progress line
    (``progress.ProgressLine``) through pytest's terminal writer."""

    def __init__(self, config: pytest.Config) -> None:
        self.reporter = config.pluginmanager.get_plugin("terminalreporter")
        self.capture = config.pluginmanager.get_plugin("capturemanager")
        self.line_of_progress: progress.ProgressLine | None = None
        if self.reporter is None:
            return
        writer = self.reporter._tw
        stream = getattr(writer, "_file", None)
        with self._uncaptured():  # while pytest captures, its descriptor is a file
            isatty = bool(getattr(stream, "isatty", lambda: False)())
        if progress.wanted(
            config.getoption("progress"), isatty=isatty, verbosity=config.get_verbosity()
        ):
            self.line_of_progress = progress.ProgressLine(
                self._write,
                width=writer.fullwidth,
                inline=progress.redraws_in_place(isatty, os.environ.get("TERM")),
                color=writer.hasmarkup,
                begin=self._end_pytests_line,
            )

    def _uncaptured(self) -> Any:
        if self.capture is None:
            return nullcontext()
        return self.capture.global_and_fixture_disabled()

    def _end_pytests_line(self) -> None:
        """Start the progress line on a line of its own (pytest's dots or test ID stay)."""
        if self.reporter is not None:
            with self._uncaptured():
                self.reporter.ensure_newline()
                if self.reporter._tw.width_of_current_line:
                    self.reporter._tw.line()

    def _write(self, text: str) -> None:
        if self.reporter is None:
            return
        with self._uncaptured():
            self.reporter._tw.write(text, flush=True)

    def notify(self, message: str) -> None:
        """A line the user sees at once."""
        if self.reporter is None:
            return
        with self._uncaptured():
            if self.line_of_progress is not None:
                self.line_of_progress.close()
            self.reporter.write_line(message)

    @property
    def progress(self) -> Terminal | None:
        """The progress display the suite reports to, or None when progress is not shown."""
        return self if self.line_of_progress is not None else None

    def start(self, label: str) -> Progress:
        assert self.line_of_progress is not None
        return self.line_of_progress.start(label)

    def stop(self) -> None:
        if self.line_of_progress is not None:
            self.line_of_progress.stop()

    def case_ended(self) -> None:
        if self.line_of_progress is not None:
            self.line_of_progress.ended_elsewhere()


def safe_streams(session: pytest.Session) -> None:
    """pytest's terminal and pytest-benchmark's log outlive a reader that left the pipe
    (``| head``: the session goes on and saves its run) and write plain fallbacks for what
    their encoding cannot hold (``safe_output``)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    benchmarks = getattr(session.config, "_benchmarksession", None)
    for writer in (
        getattr(reporter, "_tw", None),
        getattr(getattr(benchmarks, "logger", None), "term", None),
    ):
        stream = getattr(writer, "_file", None)
        if stream is not None and not isinstance(stream, SafeStream):
            writer._file = SafeStream(stream)  # type: ignore[union-attr]
