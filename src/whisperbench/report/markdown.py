"""``summary.md``: per machine, the newest result of each case, then the newest run's
regressions and changes of configuration."""

from __future__ import annotations

from collections.abc import Sequence

from whisperbench.history import History, Run
from whisperbench.regressions import Limits, describe_rule
from whisperbench.report import machines as leaderboard
from whisperbench.report import sweep
from whisperbench.report.select import (
    VERDICT_RULE,
    Latest,
    Selection,
    as_selection,
    corpus_header,
    corpus_rows,
    energy_notes,
    incomplete_runs,
    latency_header,
    latency_rows,
    machine_title,
    missing_intervals,
    now,
    summary_header,
    summary_rows,
    verdict_lines,
)

NAME = "summary.md"


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def versions_line(run: Run) -> str:
    versions = run.facts.get("versions")
    if not isinstance(versions, dict):
        return ""
    shown = [f"{name} {version}" for name, version in versions.items() if version]
    return "Versions: " + ", ".join(shown) + "." if shown else ""


def verdict_section(selection: Selection) -> list[str]:
    """The verdict lines of every machine, heading the summary."""
    lines = ["## Verdict", "", VERDICT_RULE, ""]
    for chosen in selection.machines:
        lines += [f"- {chosen.machine}: {line}" for line in verdict_lines(chosen.latest)]
    return [*lines, ""]


def latency_section(latest: Latest) -> list[str]:
    """The latency track's table (first words, emission delays, stream RTF, kept up, streamed
    and offline WER), where the machine has such cases."""
    rows = latency_rows(latest)
    if not rows:
        return []
    header = latency_header()
    return [
        "### Latency (first words and simulated live streaming)",
        "",
        _row(header),
        _row(["---"] * len(header)),
        *(_row(row) for row in rows),
        "",
    ]


def sweep_section(latest: Latest) -> list[str]:
    """The batch sweep's table (RTFx, time and device memory per batch size), where the
    machine has one (the HTML report plots it)."""
    rows = sweep.sweep_rows(latest)
    if not rows:
        return []
    header = sweep.sweep_header()
    return [
        "### Batch sweep (speed and memory against batch size)",
        "",
        _row(header),
        _row(["---"] * len(header)),
        *(_row(row) for row in rows),
        "",
    ]


def markdown_summary(given: History | Selection, limits: Limits | None = None) -> str:
    """``summary.md`` of a report's selection (or of a history's, made here)."""
    selection = as_selection(given, limits)
    history, limits = selection.history, selection.limits
    lines = ["# whisperbench results", ""]
    lines.append(
        f"{len(history.runs)} run(s) from {len(history.machines)} machine(s)"
        + (f" in `{history.storage}`" if history.storage else "")
        + f"; the newest result of each case. Generated {now()}."
    )
    lines.append("")
    lines += verdict_section(selection)
    lines += leaderboard.markdown_section(selection.history)  # two machines or more
    header = summary_header()
    for chosen in selection.machines:
        runs, newest = chosen.runs, chosen.newest
        lines += [f"## {machine_title(runs)}", ""]
        lines.append(
            f"{len(runs)} run(s); newest {newest.label}, commit `{newest.commit}`"
            + (" (uncommitted changes)" if newest.dirty else "")
            + f". {versions_line(newest)}"
        )
        rows = summary_rows(chosen.latest)
        lines.append("")
        if rows:  # none where only the latency track ran (its table follows)
            lines += [_row(header), _row(["---"] * len(header)), *(_row(row) for row in rows), ""]
        notes = [*missing_intervals(chosen.latest), *energy_notes(chosen.latest)]
        lines += [f"*{note}.*" for note in notes]
        lines.append("")
        cut = incomplete_runs(runs)
        if cut:
            lines.append("Incomplete runs (cut short; their missing cases were not measured):")
            lines.append("")
            lines += [f"- {line}" for line in cut]
            lines.append("")
        corpora = corpus_rows(chosen.latest)
        if corpora:
            lines += [
                "### Corpora",
                "",
                _row(corpus_header()),
                _row(["---"] * len(corpus_header())),
            ]
            lines += [_row(row) for row in corpora]
            lines.append("")
        lines += latency_section(chosen.latest)
        lines += sweep_section(chosen.latest)
        flagged = chosen.newest_findings()
        if flagged:
            lines.append(f"Regressions in the newest run ({describe_rule(limits)}):")
            lines.append("")
            lines += [f"- {f.key.label}: {f.message}" for f in flagged]
            lines.append("")
        changed = chosen.newest_config_changes()
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
