"""Options and output helpers shared by the history commands (report, compare,
check-regressions); not a command itself."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from whisperbench.history import DEFAULT_STORAGE, History, load_history
from whisperbench.regressions import (
    DEFAULT_TIME_CHECK,
    DEFAULT_WER_POINTS,
    DEFAULT_WINDOW,
    TimeCheck,
    time_check_arg,
)

NONE = "none"


def add_storage(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        default=DEFAULT_STORAGE,
        metavar="PATH",
        help=f"pytest-benchmark storage: a folder or file://PATH (default: {DEFAULT_STORAGE})",
    )


def add_thresholds(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--window",
        type=_positive_int,
        default=DEFAULT_WINDOW,
        metavar="N",
        help=f"compare with the median of the last N earlier runs (default: {DEFAULT_WINDOW})",
    )
    parser.add_argument(
        "--time",
        action="append",
        default=None,
        type=_time_arg,
        metavar="FIELD:LIMIT",
        help=(
            "time regression limit, as pytest-benchmark's --benchmark-compare-fail: "
            "median:10%% (percent slower) or mean:0.5 (seconds slower); FIELD is one of "
            f"min, max, mean, median, stddev, iqr; repeatable; 'none' turns it off "
            f"(default: {DEFAULT_TIME_CHECK.replace('%', '%%')})"
        ),
    )
    parser.add_argument(
        "--wer",
        default=DEFAULT_WER_POINTS,
        type=_wer_arg,
        metavar="POINTS",
        help=(
            "WER regression limit in percentage points; 'none' turns it off "
            f"(default: {DEFAULT_WER_POINTS:g})"
        ),
    )
    parser.add_argument(
        "--include-load",
        action="store_true",
        help="judge model load times too (one round each and disk-cache dependent: noisy)",
    )


def kinds(args: argparse.Namespace) -> tuple[str, ...]:
    """The kinds of case that the limits judge."""
    return ("transcribe", "load") if args.include_load else ("transcribe",)


def time_checks(args: argparse.Namespace) -> tuple[TimeCheck, ...]:
    """The --time limits (the default when none was given; none at all after 'none')."""
    values: list[TimeCheck | None] = (
        args.time if args.time is not None else [_time_arg(DEFAULT_TIME_CHECK)]
    )
    if any(value is None for value in values):
        return ()
    return tuple(value for value in values if value is not None)


def wer_points(args: argparse.Namespace) -> float | None:
    value: float | None = args.wer
    return value


def _time_arg(text: str) -> TimeCheck | None:
    return None if text.strip().lower() == NONE else time_check_arg(text.strip())


def _wer_arg(text: str) -> float | None:
    if text.strip().lower() == NONE:
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"percentage points or 'none', not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def load(args: argparse.Namespace) -> History:
    """The history, with a line on stderr for each file that was skipped."""
    history = load_history(args.storage)
    for line in history.problems():
        print(f"warning: {line}", file=sys.stderr)
    return history


def console() -> Console:
    """Rich output; wide when not a terminal (CI logs, pipes), and plain lines never wrap."""
    out = Console(highlight=False, soft_wrap=True)
    if not out.is_terminal:
        out = Console(highlight=False, soft_wrap=True, width=max(out.width, 200))
    return out
