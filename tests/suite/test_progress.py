"""The progress line (``progress.py``): shown only where wanted, quiet for short work, redrawn
in place on a terminal and throttled, one line per redraw elsewhere, with counts, elapsed time
and an ETA that fit the terminal's width."""

from __future__ import annotations

import pytest

from whisperbench.suite.progress import ERASE_TO_END, ProgressLine, clock_text, wanted


@pytest.mark.parametrize(
    ("setting", "isatty", "verbosity", "shown"),
    [
        ("auto", True, 0, True),
        ("auto", True, 1, True),
        ("auto", True, -1, False),  # -q
        ("auto", False, 0, False),  # CI logs, files, --benchmark-json to stdout
        ("always", False, -1, True),
        ("never", True, 1, False),
    ],
)
def test_wanted(setting: str, isatty: bool, verbosity: int, shown: bool) -> None:
    assert wanted(setting, isatty=isatty, verbosity=verbosity) is shown


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def line(inline: bool = True, width: int = 120) -> tuple[ProgressLine, list[str], Clock, list[int]]:
    written: list[str] = []
    clock = Clock()
    begun: list[int] = []
    progress = ProgressLine(
        written.append,
        width=width,
        inline=inline,
        clock=clock,
        begin=lambda: begun.append(len(written)),
    )
    return progress, written, clock, begun


def test_short_work_draws_nothing() -> None:
    progress, written, clock, begun = line()
    report = progress.start("round 1/3: transformers-tiny.en-short")
    clock.now += 0.5
    report(1, 1, "windows")
    progress.stop()
    progress.close()
    assert written == [] and begun == []


def test_on_a_terminal_the_line_is_redrawn_in_place_and_throttled() -> None:
    progress, written, clock, begun = line()
    report = progress.start("round 1/3: transformers-tiny.en-corpus")
    clock.now += 1.5
    report(8, 48, "utterances")
    clock.now += 0.1
    report(16, 48, "utterances")  # too soon after the last draw
    clock.now += 1.5
    report(24, 48, "utterances")
    assert len(written) == 2 and begun == [0]  # pytest's line ended once, before the first
    first, second = written
    assert first.startswith("\rround 1/3: transformers-tiny.en-corpus ")
    assert first.endswith(" 8/48 utterances 0:00:01 ETA 0:00:07" + ERASE_TO_END)
    assert second.endswith(" 24/48 utterances 0:00:03 ETA 0:00:03" + ERASE_TO_END)
    progress.stop()  # the final state, drawn
    assert written[-1].endswith(" 24/48 utterances 0:00:03 ETA 0:00:03" + ERASE_TO_END)
    # the next call of the case overwrites the same line
    report = progress.start("round 2/3: transformers-tiny.en-corpus")
    clock.now += 2.0
    report(48, 48, "utterances")
    assert written[-1].startswith("\rround 2/3") and begun == [0]
    progress.close()
    assert written[-1] == "\n" and not progress.is_open
    progress.close()
    assert written[-1] == "\n" and written.count("\n") == 1


def test_after_pytest_ends_the_line_a_new_one_is_begun() -> None:
    progress, _, clock, begun = line()
    report = progress.start("a")
    clock.now += 2
    report(1, 2, "windows")
    progress.stop()
    progress.ended_elsewhere()
    report = progress.start("b")
    clock.now += 2
    report(1, 2, "windows")
    assert len(begun) == 2


def test_elsewhere_each_redraw_is_a_line_at_most_every_few_seconds() -> None:
    progress, written, clock, _ = line(inline=False)
    report = progress.start("reading corpus test-clean")
    for _ in range(10):
        clock.now += 1.0
        report(int(clock.now - 100) * 10, 0, "utterances read")  # total unknown
    progress.stop()
    assert all(text.endswith("\n") and "\r" not in text for text in written)
    assert len(written) == 3  # at 1 s, at 6 s, and the final state
    assert written[0].startswith("reading corpus test-clean ") and " 10/? " in written[0]
    assert "ETA -:--:--" in written[0]
    assert not progress.is_open


@pytest.mark.parametrize("width", [50, 60, 80, 200])
def test_the_line_fits_the_width_and_cuts_the_label(width: int) -> None:
    progress, written, clock, _ = line(inline=False, width=width)
    label = "round 1/3: transformers-reference-large-v3-synthetic-librispeech_asr-clean-test"
    report = progress.start(label)
    clock.now += 2.0
    report(123, 2620, "utterances")
    (text,) = written
    text = text.rstrip("\n")
    assert len(text) < width
    assert text.endswith(" 123/2620 utterances 0:00:02 ETA 0:00:40")
    assert text.startswith(label if width == 200 else label[:7])
    assert ("…" in text) is (width < 200)
    assert ("─" in text) is (width >= 60)  # too narrow for a bar: none


def test_colour_comes_from_rich() -> None:
    progress = ProgressLine(lambda text: None, width=100, color=True, clock=Clock())
    progress.start("round 1/1: x")
    progress.update(5, 10, "windows")
    text = progress.render()
    assert "\x1b[" in text and " 5/10 windows " in text


def test_clock_text() -> None:
    assert clock_text(0.4) == "0:00:00"
    assert clock_text(75.9) == "0:01:15"
    assert clock_text(3 * 3600 + 61) == "3:01:01"
