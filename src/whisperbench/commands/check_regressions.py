"""``whisperbench check-regressions``: the newest run against the median of its history.

Exit status: 0 no regression, or no earlier run on this machine to compare with (the first
run of a history, said plainly); 1 a regression, or a newest run that is incomplete (cut short,
or lacking cases its history has) unless ``--allow-partial``; 2 an error (no readable run at
all, an unknown machine, bad options).
"""

from __future__ import annotations

import argparse
from typing import Any

from pytest_benchmark.utils import get_machine_id
from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table

from whisperbench import formatting
from whisperbench.commands import _options
from whisperbench.errors import HistoryError
from whisperbench.history import History
from whisperbench.names import Name
from whisperbench.regressions import CheckReport, check_newest, cut_short, describe_rule
from whisperbench.results.metrics import judged
from whisperbench.scoring.evidence import Difference


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check-regressions",
        description=(
            "Compare each case of the newest saved run on this machine with the median of the "
            "same case, in the same configuration (engine, device, dtype, quantisation, batch "
            "size, beam size, window length, decoder), over the last N earlier runs (--window); "
            "a change of configuration is reported, not judged. Exit 0: no regression, or no "
            "history yet (the message says so); 1: a regression, or a newest run that was cut "
            "short or lacks cases its history has (unless --allow-partial); 2: an error such "
            "as no readable run at all."
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
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="accept a newest run that was cut short (interrupted, stopped early) or lacks "
        "cases its history has: judge the cases it holds (default: fail)",
    )
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


def report_table(report: CheckReport) -> Table:
    """A row per checked case: time and each judged metric, now and in the history."""
    metrics = [  # those of the kinds checked (the latency track's only where it ran), and
        # a figure some machines cannot measure (energy) only where a case has it
        m
        for m in judged()
        if any(c.current.result.kind in m.kinds for c in report.cases)
        and (not m.where_present or any(c.current.value(m) is not None for c in report.cases))
    ]
    table = Table(title=f"run {report.newest.label} against the history")
    columns = ["Case", "Median s", "History median s", "Δ time"]
    for metric in metrics:
        points = " pts" if metric.change == "points" else ""
        columns += [metric.label, f"History {metric.label}", f"Δ {metric.short}{points}"]
    columns += ["Runs", "Result"]
    for name in columns:
        table.add_column(
            name,
            justify="left" if name in ("Case", "Result") else "right",
            no_wrap=name != "Case",  # a long case name is cut (Name), never a number
        )
    for case in report.cases:
        cells: list[RenderableType] = [
            Name(case.key.label),
            formatting.number(case.current.median_s, ".3f"),
            formatting.number(case.baseline_time["median"], ".3f"),
            escape(_with_interval(formatting.relative(case.time_change), case.time_evidence)),
        ]
        for metric in metrics:
            now, base = case.current.value(metric), case.baseline(metric)
            change = formatting.change_cell(metric, metric.change_between(base, now))
            cells += [
                formatting.value(metric, now),
                formatting.value(metric, base),
                escape(_with_interval(change, case.evidence(metric), metric.change)),
            ]
        failed = sorted({f.what for f in case.findings})
        cells += [
            str(len(case.history)),
            f"[red]REGRESSION ({', '.join(failed)})[/]" if failed else "[green]ok[/]",
        ]
        table.add_row(*cells)
    return table


def _with_interval(change: str, found: Difference | None, kind: str = "relative") -> str:
    """A change cell with its 95 % interval, where there is one."""
    return change if found is None else f"{change} {formatting.change_interval(found, kind)}"


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
    for lost in history.unreadable_after(runs[-1]):
        print(
            f"FAILED: {lost.path} is newer than run {runs[-1].run_id} but cannot be read "
            f"({lost.reason}): its session did not finish saving it; rerun the suite, or move "
            f"the file away to judge run {runs[-1].run_id}"
        )
        return 1
    limits = _options.limits(args)
    report = check_newest(runs, limits)
    if report is None:
        cut = cut_short(runs[-1])
        if cut is not None and not args.allow_partial:
            print(f"FAILED: {cut}; rerun the suite, or pass --allow-partial to accept it")
            return 1
        print(
            f"no history to compare: run {runs[-1].label} is the only saved run on {machine}; "
            "nothing to check (exit 0). Later runs will be checked against it."
        )
        return 0
    out = _options.console()
    baseline = [r.run_id for r in report.baseline_runs]
    out.print(
        f"checking run {report.newest.label} on {machine} {describe_rule(limits, baseline)}",
        markup=False,
    )
    for note in report.notes:
        out.print(f"note: {note}", markup=False)
    if report.cases:
        out.print(report_table(report))
    for key in report.new_cases:
        out.print(f"new case, no history yet: {key.label}", markup=False)
    for changed in report.config_changes:
        out.print(
            f"{changed.text} since run {changed.previous_run}, no earlier run of this "
            f"configuration (not judged): {changed.key.label}",
            markup=False,
        )
    for case in report.cases:
        if case.config_change:
            out.print(
                f"config changed: {', '.join(case.config_change)} since the previous run "
                f"(judged against earlier runs of this configuration): {case.key.label}",
                markup=False,
            )
    for key in report.missing_cases:
        why = report.missing_reasons.get(key, "skipped or failed?")
        out.print(f"missing from the newest run ({why}): {key.label}", markup=False)
    partial = [] if args.allow_partial else report.partial
    if report.failed:
        print(f"FAILED: {len(report.findings)} regression(s) in run {report.newest.run_id}:")
        for finding in report.findings:
            print(f"  {finding.key.label}: {finding.message}")
    for reason in partial:
        print(f"FAILED: {reason}; rerun the suite, or pass --allow-partial to judge what it holds")
    if report.failed or partial:
        return 1
    accepted = f"; accepted as partial: {'; '.join(report.partial)}" if report.partial else ""
    print(
        f"OK: no regressions in run {report.newest.run_id} "
        f"({len(report.cases)} case(s) checked{accepted})"
    )
    return 0
