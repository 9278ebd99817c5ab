"""``whisperbench check-regressions``: the newest run against the median of its history.

Exit status: 0 no regression, or no earlier run on this machine to compare with (the first
run of a history, said plainly); 1 a regression; 2 an error (no readable run at all, an
unknown machine, bad options).
"""

from __future__ import annotations

import argparse
from typing import Any

from pytest_benchmark.utils import get_machine_id
from rich.markup import escape
from rich.table import Table

from whisperbench.commands import _options
from whisperbench.errors import HistoryError
from whisperbench.history import History
from whisperbench.regressions import CheckReport, check_newest, describe_check


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check-regressions",
        help="fail (exit 1) when the newest saved run is slower or less accurate than its history",
        description=(
            "Compare each case of the newest saved run on this machine with the median of the "
            "same case over the last N earlier runs (--window). Exit 0: no regression, or no "
            "history yet (the message says so); 1: a regression; 2: an error such as no "
            "readable run at all."
        ),
    )
    _options.add_storage(parser)
    parser.add_argument(
        "--machine",
        default=None,
        help="machine id (storage folder) whose history to check (default: this machine's, "
        "or the only one in the storage)",
    )
    _options.add_thresholds(parser)
    parser.set_defaults(func=run)


def pick_machine(history: History, wanted: str | None) -> str:
    machines = history.machines
    if wanted is not None:
        if wanted not in machines:
            raise HistoryError(
                f"no readable runs of machine {wanted!r}; the storage has: {', '.join(machines)}"
            )
        return wanted
    here = str(get_machine_id())  # type: ignore[no-untyped-call]
    if here in machines:
        return here
    if len(machines) == 1:
        return machines[0]
    raise HistoryError(
        f"the storage holds several machines ({', '.join(machines)}) "
        f"and none is this one ({here}); choose with --machine"
    )


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.1f}%"


def report_table(report: CheckReport) -> Table:
    table = Table(title=f"run {report.newest.label} against the history")
    for name in (
        "Case",
        "Median s",
        "History median s",
        "Δ time",
        "WER %",
        "History WER %",
        "Δ WER pts",
        "Runs",
        "Result",
    ):
        table.add_column(
            name, justify="left" if name in ("Case", "Result") else "right", no_wrap=name == "Case"
        )
    for case in report.cases:
        wer = case.current.wer
        base_wer = case.baseline_wer
        change = case.wer_change_points
        failed = sorted({f.what for f in case.findings})
        table.add_row(
            escape(case.key.label),
            f"{case.current.median_s:.3f}",
            f"{case.baseline_time['median']:.3f}",
            _pct(case.time_change),
            "–" if wer is None else f"{100 * wer:.1f}",
            "–" if base_wer is None else f"{100 * base_wer:.1f}",
            "–" if change is None else f"{change:+.1f}",
            str(len(case.history)),
            f"[red]REGRESSION ({', '.join(failed)})[/]" if failed else "[green]ok[/]",
        )
    return table


def run(args: argparse.Namespace) -> int:
    history = _options.load(args)
    if not history.runs:
        raise HistoryError(
            f"no readable runs in {history.storage}: run the suite with --benchmark-autosave first"
        )
    machine = pick_machine(history, args.machine)
    for run_ in history.runs:
        if run_.machine != machine:
            print(f"{run_.path}: skipped: from machine {run_.machine}, not {machine}")
    runs = history.for_machine(machine)
    checks = _options.time_checks(args)
    wer = _options.wer_points(args)
    kinds = _options.kinds(args)
    report = check_newest(runs, window=args.window, time_checks=checks, wer_points=wer, kinds=kinds)
    if report is None:
        print(
            f"no history to compare: run {runs[-1].label} is the only saved run on {machine}; "
            "nothing to check (exit 0). Later runs will be checked against it."
        )
        return 0
    out = _options.console()
    rules = [describe_check(c) for c in checks] + (
        [f"WER +{wer:g} points"] if wer is not None else []
    )
    out.print(
        f"checking run {report.newest.label} on {machine} "
        f"against the median of up to {args.window} "
        f"earlier run(s) ({', '.join(r.run_id for r in report.baseline_runs) or 'none'}); "
        f"limits: {', '.join(rules) or 'none'}",
        markup=False,
    )
    for note in report.notes:
        out.print(f"note: {note}", markup=False)
    if report.cases:
        out.print(report_table(report))
    for key in report.new_cases:
        out.print(f"new case, no history yet: {key.label}", markup=False)
    for key in report.missing_cases:
        out.print(f"missing from the newest run (skipped or failed?): {key.label}", markup=False)
    if report.failed:
        print(f"FAILED: {len(report.findings)} regression(s) in run {report.newest.run_id}:")
        for finding in report.findings:
            print(f"  {finding.key.label}: {finding.message}")
        return 1
    print(f"OK: no regressions in run {report.newest.run_id} ({len(report.cases)} case(s) checked)")
    return 0
