"""Options and output helpers shared by the history commands (report, compare,
check-regressions); not a command itself."""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from whisperbench.history import DEFAULT_STORAGE, History, load_history
from whisperbench.regressions import (
    DEFAULT_TIME_CHECK,
    DEFAULT_WINDOW,
    JUDGED_KINDS,
    Limit,
    Limits,
    MetricLimit,
    TimeCheck,
    TimeLimit,
    time_check_arg,
)
from whisperbench.results.metrics import Metric, judged

NONE = "none"
LOG_WIDTH = 240
"""Columns of the tables when the output is not a terminal: wide enough for compare's table
(a case label and three columns per metric) on one line per case."""


def path_arg(text: str) -> str:
    """A path option's value: an empty one (``--output ""``, an unset variable) names
    nothing, and is refused rather than taken as the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("names no path (an empty value)")
    return text


def add_storage(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--storage",
        type=path_arg,
        default=DEFAULT_STORAGE,
        metavar="PATH",
        help=(
            "pytest-benchmark storage: a folder, file://PATH, or hf://datasets/ORG/NAME (runs "
            f"published by `whisperbench publish`) (default: {DEFAULT_STORAGE})"
        ),
    )


def add_thresholds(parser: argparse.ArgumentParser) -> None:
    """--window, --time, an option per judged metric (results.METRICS: --wer, --repeats, ...)
    and --include-load."""
    parser.add_argument(
        "--window",
        type=_positive_int,
        default=DEFAULT_WINDOW,
        metavar="N",
        help=f"compare with the median of the last N earlier runs of the same configuration "
        f"(default: {DEFAULT_WINDOW})",
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
    for metric in judged():
        judgement = metric.judge
        if judgement is None:
            continue
        default = "none" if judgement.default is None else f"{judgement.default:g}"
        parser.add_argument(
            judgement.option,
            dest=_dest(metric),
            default=judgement.default,
            type=_limit_arg,
            metavar=judgement.metavar,
            help=f"{judgement.help} (default: {default})".replace("%", "%%"),
        )
    parser.add_argument(
        "--include-load",
        action="store_true",
        help="judge model load times too (one round each and disk-cache dependent: noisy)",
    )


def limits(args: argparse.Namespace) -> Limits:
    """The regression rule the options give."""
    checks: list[Limit] = [TimeLimit(check) for check in time_checks(args)]
    for metric in judged():
        value: float | None = getattr(args, _dest(metric))
        if value is not None:
            checks.append(MetricLimit(metric, value))
    kinds = (*JUDGED_KINDS, "load") if args.include_load else JUDGED_KINDS
    return Limits(window=args.window, checks=tuple(checks), kinds=kinds)


def time_checks(args: argparse.Namespace) -> tuple[TimeCheck, ...]:
    """The --time limits (the default when none was given; none at all after 'none')."""
    values: list[TimeCheck | None] = (
        args.time if args.time is not None else [_time_arg(DEFAULT_TIME_CHECK)]
    )
    if any(value is None for value in values):
        return ()
    return tuple(value for value in values if value is not None)


def _dest(metric: Metric) -> str:
    return f"limit_{metric.field}"


def _time_arg(text: str) -> TimeCheck | None:
    return None if text.strip().lower() == NONE else time_check_arg(text.strip())


def _limit_arg(text: str) -> float | None:
    if text.strip().lower() == NONE:
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number or 'none', not {text!r}") from None
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
    """The history, with a line on stderr for each file that was skipped; a dataset repo's
    runs (``hf://datasets/ORG/NAME``) are first brought into the HF cache (``fleet.hub``)."""
    storage = args.storage
    from whisperbench.fleet import hub

    repo_id = hub.hub_repo(storage)
    if repo_id is not None:
        fetched = hub.fetch(repo_id)
        print(hub.describe_fetch(fetched), file=sys.stderr)
        storage = fetched.folder
    history = load_history(storage)
    for line in history.problems():
        print(f"warning: {line}", file=sys.stderr)
    return history


def console() -> Console:
    """Rich output; wide when not a terminal (CI logs, pipes), and plain lines never wrap."""
    out = Console(highlight=False, soft_wrap=True)
    if not out.is_terminal:
        out = Console(highlight=False, soft_wrap=True, width=max(out.width, LOG_WIDTH))
    return out
