"""``whisperbench compare RUN_A RUN_B``: the change of each case between two saved runs."""

from __future__ import annotations

import argparse
from typing import Any

from rich.markup import escape
from rich.table import Table

from whisperbench.commands import _options
from whisperbench.history import Run
from whisperbench.regressions import CaseComparison, compare_runs

LEGEND = (
    "time and RTFx: * significant (the medians differ by more than the larger spread of the "
    "rounds: range below 5 rounds, IQR from 5), ~ within the noise, ? cannot tell (a run with "
    "a single round); WER: * a change of a word or more (one transcript per run, no rounds)"
)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "compare",
        help="relative change per case between two saved runs, with significance",
        description="Compare two saved runs case by case: median time, RTFx and WER. " + LEGEND,
    )
    parser.add_argument(
        "run_a", metavar="RUN_A", help="the earlier run: a number (0001), MACHINE/0001 or a path"
    )
    parser.add_argument("run_b", metavar="RUN_B", help="the later run, as RUN_A")
    _options.add_storage(parser)
    parser.add_argument(
        "--machine",
        default=None,
        help="the machine id (storage folder) when a run number exists on several",
    )
    parser.set_defaults(func=run)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.1f}%"


def _mark(significant: bool | None) -> str:
    return {True: "*", False: "~", None: "?"}[significant]


def _num(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def comparison_table(a: Run, b: Run, rows: list[CaseComparison]) -> Table:
    table = Table(title=f"{a.label} -> {b.label}")
    for name in (
        "Case",
        "Time A s",
        "Time B s",
        "Δ time",
        "Noise s",
        "RTFx A",
        "RTFx B",
        "Δ RTFx",
        "WER A %",
        "WER B %",
        "Δ WER pts",
    ):
        table.add_column(
            name, justify="left" if name == "Case" else "right", no_wrap=name == "Case"
        )
    for row in rows:
        significance = _mark(row.time_significant) if row.a and row.b else ""
        wer_a = row.a.wer if row.a else None
        wer_b = row.b.wer if row.b else None
        change = row.time_change
        style = ""
        if row.time_significant and change is not None:
            style = "red" if change > 0 else "green"
        table.add_row(
            escape(row.key.label) + ("" if row.a else " (new)") + ("" if row.b else " (gone)"),
            _num(row.a.median_s if row.a else None, ".3f"),
            _num(row.b.median_s if row.b else None, ".3f"),
            f"[{style}]{_pct(change)} {significance}[/]"
            if style
            else f"{_pct(change)} {significance}",
            _num(row.noise_s, ".3f"),
            _num(row.a.rtfx if row.a else None, ".1f"),
            _num(row.b.rtfx if row.b else None, ".1f"),
            f"{_pct(row.rtfx_change)} {significance}" if row.rtfx_change is not None else "–",
            _num(None if wer_a is None else 100 * wer_a, ".1f"),
            _num(None if wer_b is None else 100 * wer_b, ".1f"),
            "–"
            if row.wer_change_points is None
            else f"{row.wer_change_points:+.1f} {'*' if row.wer_significant else '~'}",
        )
    return table


def run(args: argparse.Namespace) -> int:
    history = _options.load(args)
    a = history.find(args.run_a, args.machine)
    b = history.find(args.run_b, args.machine)
    out = _options.console()
    if a.machine != b.machine:
        out.print(
            f"note: the runs come from different machines ({a.machine}, {b.machine})", markup=False
        )
    out.print(comparison_table(a, b, compare_runs(a, b)))
    out.print(LEGEND, markup=False)
    return 0
