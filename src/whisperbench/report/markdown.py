"""``summary.md``: per machine, the newest result of each case, then the newest run's
regressions and changes of configuration."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from whisperbench.history import History, Run
from whisperbench.regressions import Limits, describe_rule
from whisperbench.report import machines as leaderboard
from whisperbench.report.select import (
    case_histories,
    corpus_header,
    corpus_rows,
    incomplete_runs,
    machine_title,
    missing_intervals,
    newest_findings,
    summary_header,
    summary_rows,
    verdict_lines,
)

NAME = "summary.md"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def versions_line(run: Run) -> str:
    versions = run.facts.get("versions")
    if not isinstance(versions, dict):
        return ""
    shown = [f"{name} {version}" for name, version in versions.items() if version]
    return "Versions: " + ", ".join(shown) + "." if shown else ""


VERDICT_RULE = (
    "Per device and model size, over the newest result of each case: the fastest engine whose "
    "WER is not significantly worse than the most accurate engine's (paired test on the units "
    "of speech they all ran), and the engines significantly less accurate. Brackets are 95% "
    "intervals."
)


def verdict_section(history: History) -> list[str]:
    """The verdict lines of every machine, heading the summary."""
    lines = ["## Verdict", "", VERDICT_RULE, ""]
    for machine in history.machines:
        lines += [f"- {machine}: {line}" for line in verdict_lines(history.for_machine(machine))]
    return [*lines, ""]


def markdown_summary(history: History, limits: Limits | None = None) -> str:
    limits = limits or Limits()
    lines = ["# whisperbench results", ""]
    lines.append(
        f"{len(history.runs)} run(s) from {len(history.machines)} machine(s)"
        + (f" in `{history.storage}`" if history.storage else "")
        + f"; the newest result of each case. Generated {now()}."
    )
    lines.append("")
    lines += verdict_section(history)
    lines += leaderboard.markdown_section(history)  # two machines or more
    header = summary_header()
    for machine in history.machines:
        runs = history.for_machine(machine)
        newest = runs[-1]
        lines += [f"## {machine_title(runs)}", ""]
        lines.append(
            f"{len(runs)} run(s); newest {newest.label}, commit `{newest.commit}`"
            + (" (uncommitted changes)" if newest.dirty else "")
            + f". {versions_line(newest)}"
        )
        lines += ["", _row(header), _row(["---"] * len(header))]
        lines += [_row(row) for row in summary_rows(runs)]
        lines.append("")
        lines += [f"*{note}.*" for note in missing_intervals(runs)]
        lines.append("")
        cut = incomplete_runs(runs)
        if cut:
            lines.append("Incomplete runs (cut short; their missing cases were not measured):")
            lines.append("")
            lines += [f"- {line}" for line in cut]
            lines.append("")
        corpora = corpus_rows(runs)
        if corpora:
            lines += [
                "### Corpora",
                "",
                _row(corpus_header()),
                _row(["---"] * len(corpus_header())),
            ]
            lines += [_row(row) for row in corpora]
            lines.append("")
        flagged = newest_findings(runs, limits)
        if flagged:
            lines.append(f"Regressions in the newest run ({describe_rule(limits)}):")
            lines.append("")
            lines += [f"- {f.key.label}: {f.message}" for f in flagged]
            lines.append("")
        changed = [
            (item.key, item.verdicts[-1].config_change)
            for item in case_histories(runs, limits)
            if item.points[-1][0] is newest and item.verdicts[-1].config_change
        ]
        if changed:
            lines.append("Configuration changes in the newest run (compared only with runs of")
            lines.append("the same configuration, never judged as regressions):")
            lines.append("")
            lines += [f"- {key.label}: config changed: {', '.join(c)}" for key, c in changed]
            lines.append("")
    problems = history.problems()
    if problems:
        lines += ["## Skipped history files", ""]
        lines += [f"- {line}" for line in problems]
        lines.append("")
    return "\n".join(lines)
