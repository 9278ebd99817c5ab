"""The per-device leaderboard of a report over several machines (a fleet's dataset repo, or a
storage with several machine folders).

- **Machines** are grouped by what they are (``fleet.machines.Machine``: the team's label or
  the hardware's name, the accelerator, the CPU, the memory, the OS and the torch build); two
  hosts of one kind, named alike, are one machine, and their runs are pooled.
- **Per machine**, for each model size on each device, the engines are ranked over the newest
  result of each case: first those not significantly less accurate than the most accurate
  engine, fastest first, then those that are, most accurate first; each with its version, its
  RTFx and WER (95 % intervals, on what every engine of the group ran) and its WER against
  the most accurate engine; then the verdict line (``verdict``) that says the same in words.
- **Across machines**, one table and one plot: the same engine, model and clip or corpus on
  each machine that ran it, RTFx (with its interval) and WER beside it.

It is shown when the runs come from two machines or more; a single machine's report has its
verdict lines already.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from whisperbench import formatting
from whisperbench.fleet.machines import Machine, machine_of, recorded_versions
from whisperbench.history import CaseResult, History, Run
from whisperbench.report.select import latest_results, model_order
from whisperbench.results import metric
from whisperbench.verdict import Standing, Verdict, verdicts

if TYPE_CHECKING:
    pass

RULE = (
    "Machines are grouped by what they are: the team's label (publish --machine-label) or "
    "the hardware's name, the accelerator, CPU, memory, OS and torch build; the engine's own "
    "version is shown beside it. Per machine, model size and device, the engines are ranked "
    "over the newest result of each case and on what they all ran: first those not "
    "significantly less accurate than the most accurate (paired test), fastest first, then "
    "the others, most accurate first. Brackets are 95% intervals."
)
ACROSS_RULE = (
    "The same engine, model and clip (or corpus) on each machine that ran it: the newest "
    "result, on the machine's fastest device (GPU, then Apple's MPS, then CPU). RTFx is audio "
    "seconds per second (higher is faster); vs fastest is RTFx over the fastest machine's."
)
RANK_HEADER = ("Rank", "Engine", "Version", "RTFx", "WER %", "WER vs most accurate", "Note")
ACROSS_HEADER = ("Engine", "Model", "Clip", "Machine", "Device", "RTFx", "WER %", "vs fastest")
DEVICE_ORDER = ("cuda", "mps", "cpu")


def machines(history: History) -> dict[Machine, list[Run]]:
    """The runs of each machine (oldest first), machines in name order."""
    grouped: dict[Machine, list[Run]] = {}
    for run in history.runs:
        grouped.setdefault(machine_of(run), []).append(run)
    return dict(sorted(grouped.items(), key=lambda item: item[0]))


def titles(grouped: Sequence[Machine]) -> dict[Machine, str]:
    """A heading per machine: its name (a label with what the machine is), with its torch
    build and OS where two machines share a name."""
    names = [m.name for m in grouped]
    return {
        m: (f"{m.title} ({m.torch}, {m.os})" if names.count(m.name) > 1 else m.title)
        for m in grouped
    }


def short_names(grouped: Sequence[Machine]) -> dict[Machine, str]:
    """A machine's name in a table cell or a legend: its name, with its torch build and OS
    where two machines share a name."""
    names = [m.name for m in grouped]
    return {
        m: (f"{m.name} ({m.torch}, {m.os})" if names.count(m.name) > 1 else m.name) for m in grouped
    }


def shown(history: History) -> bool:
    return len(machines(history)) > 1


def ranked(verdict: Verdict) -> list[Standing]:
    """The verdict's engines in leaderboard order."""
    equal = [e for e in verdict.engines if not e.significantly_worse]
    worse = [e for e in verdict.engines if e.significantly_worse]
    return sorted(equal, key=lambda e: -(e.rtfx or 0.0)) + sorted(
        worse, key=lambda e: e.wer if e.wer is not None else math.inf
    )


def engine_package(implementation: str) -> str:
    """The package whose version is the engine's (``whisper.cpp``: pywhispercpp), as the engine
    declares it; the engine's own name where it is not registered here."""
    from whisperbench.errors import WhisperBenchError
    from whisperbench.implementations import get_implementation

    try:
        return get_implementation(implementation).package
    except (WhisperBenchError, AttributeError):
        return implementation


def engine_version(run: Run, implementation: str) -> str | None:
    """The version of ``implementation``'s package that ``run`` recorded."""
    version = recorded_versions(run).get(engine_package(implementation))
    return str(version) if version else None


@dataclass(frozen=True)
class Board:
    """One model size on one device of one machine: the ranked rows and the verdict line."""

    device: str
    model: str
    rows: tuple[tuple[str, ...], ...]
    line: str


def boards(runs: Sequence[Run]) -> list[Board]:
    latest = latest_results(runs)
    version_run: dict[str, Run] = {}
    for run, case in latest:
        version_run[case.key.implementation] = run
    rtfx, wer = metric("rtfx"), metric("wer")
    out = []
    found = verdicts(case for _, case in latest)
    found.sort(key=lambda v: (_device_rank(v.device), model_order(v.model)))
    for verdict in found:
        rows = []
        best = verdict.best
        for rank, engine in enumerate(ranked(verdict), start=1):
            versus = engine.against_best
            if best is not None and engine.implementation == best.implementation:
                against = "most accurate"
            elif versus is not None:
                against = (
                    f"{100 * versus.delta:+.1f} pts [{100 * versus.low:+.1f}, "
                    f"{100 * versus.high:+.1f}], {formatting.p_value(versus.p)}"
                )
            else:
                against = formatting.MISSING
            note = "significantly less accurate" if engine.significantly_worse else ""
            ran = version_run.get(engine.implementation)
            version = engine_version(ran, engine.implementation) if ran else None
            rows.append(
                (
                    str(rank),
                    engine.implementation,
                    version or formatting.MISSING,
                    formatting.value_and_interval(rtfx, engine.rtfx, engine.rtfx_interval),
                    formatting.value_and_interval(wer, engine.wer, engine.wer_interval),
                    against,
                    note,
                )
            )
        out.append(Board(verdict.device, verdict.model, tuple(rows), verdict.line()))
    return out


def _device_rank(device: str) -> int:
    return DEVICE_ORDER.index(device) if device in DEVICE_ORDER else len(DEVICE_ORDER)


@dataclass(frozen=True)
class Across:
    """One engine, model and clip on one machine."""

    implementation: str
    model: str
    subject: str
    machine: str
    case: CaseResult

    @property
    def rtfx(self) -> float | None:
        return self.case.value(metric("rtfx"))


def _preference(case: CaseResult) -> tuple[int, int]:
    return (_device_rank(case.key.device), 0 if case.key.quantization in ("none", "-") else 1)


def across(history: History) -> list[list[Across]]:
    """Per engine, model and clip that two machines or more ran: its result on each (the
    fastest machine first)."""
    grouped = machines(history)
    names = short_names(list(grouped))
    found: dict[tuple[str, str, str], dict[str, CaseResult]] = {}
    for machine, runs in grouped.items():
        chosen: dict[tuple[str, str, str], CaseResult] = {}
        for _, case in latest_results(runs):
            key = case.key
            if key.kind not in ("transcribe", "corpus") or case.value(metric("rtfx")) is None:
                continue
            slot = (key.implementation, key.model, key.clip or "")
            if slot not in chosen or _preference(case) <= _preference(chosen[slot]):
                chosen[slot] = case
        for slot, case in chosen.items():
            found.setdefault(slot, {})[names[machine]] = case
    out = []
    for (implementation, model, subject), cases in sorted(
        found.items(), key=lambda item: (item[0][0], model_order(item[0][1]), item[0][2])
    ):
        if len(cases) < 2:
            continue
        rows = [Across(implementation, model, subject, name, c) for name, c in cases.items()]
        rows.sort(key=lambda row: -(row.rtfx or 0.0))
        out.append(rows)
    return out


def across_rows(groups: Sequence[Sequence[Across]]) -> list[tuple[str, ...]]:
    rtfx, wer = metric("rtfx"), metric("wer")
    rows: list[tuple[str, ...]] = []
    for group in groups:
        fastest = max((row.rtfx or 0.0) for row in group)
        for row in group:
            result = row.case.result
            key = row.case.key
            device = f"{key.device} {key.dtype}" + (
                f" {key.quantization}" if key.quantization not in ("none", "-") else ""
            )
            rows.append(
                (
                    row.implementation,
                    row.model,
                    row.subject,
                    row.machine,
                    device,
                    formatting.value_and_interval(rtfx, row.rtfx, rtfx.interval(result)),
                    formatting.value_and_interval(wer, row.case.value(wer), wer.interval(result)),
                    f"{(row.rtfx or 0.0) / fastest:.2f}x" if fastest else formatting.MISSING,
                )
            )
    return rows


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return [_md_row(header), _md_row(["---"] * len(header)), *(_md_row(r) for r in rows)]


def markdown_section(history: History) -> list[str]:
    """The leaderboard in Markdown (nothing for a single machine)."""
    grouped = machines(history)
    if len(grouped) < 2:
        return []
    names = titles(list(grouped))
    lines = ["## Leaderboard per machine", "", RULE, ""]
    for machine, runs in grouped.items():
        lines += [f"### {names[machine]}", "", _facts_line(machine, runs), ""]
        found = boards(runs)
        if not found:
            lines += ["No transcription with real weights to rank.", ""]
        for board in found:
            lines += [f"#### {board.model} on {board.device}", ""]
            lines += _md_table(RANK_HEADER, board.rows)
            lines += ["", f"Verdict: {board.line}", ""]
    lines += ["## Same engine and model across machines", "", ACROSS_RULE, ""]
    groups = across(history)
    if groups:
        lines += [*_md_table(ACROSS_HEADER, across_rows(groups)), ""]
    else:
        lines += ["No engine, model and clip has run on two machines yet.", ""]
    return lines


def _facts_line(machine: Machine, runs: Sequence[Run]) -> str:
    folders = sorted({run.machine for run in runs})
    newest = runs[-1]
    return (
        f"{machine.describe()}. {len(runs)} run(s) from {len(folders)} folder(s) "
        f"({', '.join(folders)}); newest {newest.label}."
    )


def html_section(
    history: History, plot: Callable[[Sequence[Sequence[Across]]], str] | None = None
) -> list[str]:
    """The leaderboard in HTML (nothing for one machine), with ``plot``'s embedded figure of
    the same engine and model across machines (``html.across_plot``) where given."""
    grouped = machines(history)
    if len(grouped) < 2:
        return []
    from whisperbench.report.html_parts import table
    from whisperbench.report.select import numeric_columns

    numeric = numeric_columns()

    names = titles(list(grouped))
    parts = ["<h2>Leaderboard per machine</h2>", f"<p>{html.escape(RULE)}</p>"]
    for machine, runs in grouped.items():
        parts += [
            f"<h3>{html.escape(names[machine])}</h3>",
            f"<p>{html.escape(_facts_line(machine, runs))}</p>",
        ]
        for board in boards(runs):
            parts += [
                f"<h4>{html.escape(board.model)} on {html.escape(board.device)}</h4>",
                table(RANK_HEADER, board.rows, numeric),
                f"<ul class='verdict'><li>{html.escape(board.line)}</li></ul>",
            ]
    groups = across(history)
    parts += [
        "<h2>Same engine and model across machines</h2>",
        f"<p>{html.escape(ACROSS_RULE)}</p>",
    ]
    if groups:
        parts.append(table(ACROSS_HEADER, across_rows(groups), numeric))
        if plot is not None:
            parts.append(plot(groups))
    else:
        parts.append("<p>No engine, model and clip has run on two machines yet.</p>")
    return parts
