"""``whisperbench compare RUN_A RUN_B``: the change of each case between two saved runs."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table

from whisperbench import formatting
from whisperbench.commands import _options
from whisperbench.history import Run
from whisperbench.names import Name
from whisperbench.regressions import CaseComparison, compare_runs
from whisperbench.results.metrics import COMPARE, Metric, shown_in

LEGEND = (
    "Δ [95% interval] p: * significant (the interval of the change excludes zero), ~ within "
    "the noise; time and RTFx: the bootstrap over both runs' timed rounds (6 or more each), "
    "else * or ~ by the larger spread of the rounds (range below 5 rounds, IQR from 5) and ? for "
    "a run with a single round; WER: the paired test on the units of speech both runs hold, "
    "? where a run has no per-utterance errors saved (runs saved before they were recorded); "
    "repeats: * a change of one or more (one transcript per run); ≠ the configuration changed "
    "(listed above): not like for like, not judged"
)


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "compare",
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


def _mark(row: CaseComparison, metric: Metric) -> str:
    if row.config_changes:
        return "≠"
    return {True: "*", False: "~", None: "?"}[row.significant(metric)]


def comparison_table(a: Run, b: Run, rows: list[CaseComparison]) -> Table:
    """A, B and the change of each metric that compare shows (results.METRICS), per case."""
    kinds = {row.key.kind for row in rows}
    metrics = [m for m in shown_in(COMPARE) if kinds & set(m.kinds)]  # those the cases carry
    table = Table(title=f"{a.label} -> {b.label}")
    table.add_column("Case", justify="left")  # a long name is cut (Name), never a number
    for metric in metrics:
        unit = formatting.unit_suffix(metric)
        points = " pts" if metric.change == "points" else ""
        table.add_column(f"{metric.short} A{unit}", justify="right", no_wrap=True)
        table.add_column(f"{metric.short} B{unit}", justify="right", no_wrap=True)
        table.add_column(f"Δ {metric.short}{points}", justify="right", no_wrap=True)
        if metric.source == "timing":
            table.add_column("Noise s", justify="right", no_wrap=True)
    for row in rows:
        label = row.key.label + ("" if row.a else " (new)") + ("" if row.b else " (gone)")
        cells: list[RenderableType] = [Name(label)]
        for metric in metrics:
            value_a, value_b = row.values(metric)
            change = row.change(metric)
            delta = formatting.change_cell(metric, change)
            found = row.evidence(metric)
            if found is not None:  # the interval beside the change, p below it
                delta += f" {formatting.change_interval(found, metric.change)}\n"
                delta += formatting.p_value(found.p)
            delta = escape(delta)
            if change is not None:
                delta = f"{delta} {_mark(row, metric)}"
                worse = metric.worsening(value_a, value_b) or 0.0
                if row.significant(metric) and not row.config_changes and worse:
                    delta = f"[{'red' if worse > 0 else 'green'}]{delta}[/]"
            cells += [formatting.value(metric, value_a), formatting.value(metric, value_b), delta]
            if metric.source == "timing":
                cells.append(formatting.number(row.noise_s, ".3f"))
        table.add_row(*cells)
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
    rows = compare_runs(a, b)
    out.print(comparison_table(a, b, rows))
    for row in rows:
        if row.config_changes:
            out.print(
                f"config changed: {row.key.label}: {', '.join(row.config_changes)}", markup=False
            )
    out.print(LEGEND, markup=False)
    return 0
