"""``index.html``: one self-contained page (plots embedded as PNG, no external files): per
machine, the summary table, RTFx and WER-against-RTFx plots, the history of every benchmark
with regressions and changes of configuration marked, the machine's facts and the runs."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from whisperbench.history import History, Run
from whisperbench.regressions import Limits, describe_rule
from whisperbench.report import figures, html_parts, plots, sweep, sweep_plot
from whisperbench.report import machines as leaderboard
from whisperbench.report.html_parts import image
from whisperbench.report.select import (
    VERDICT_RULE,
    MachineSelection,
    Selection,
    as_selection,
    corpus_header,
    corpus_rows,
    energy_notes,
    latency_header,
    latency_rows,
    machine_title,
    missing_intervals,
    now,
    numeric_columns,
    run_name,
    summary_header,
    summary_rows,
    verdict_lines,
)

NAME = "index.html"

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.3em 0; }
.regression { color: #b00020; }
.config { color: #555; }
.skipped { color: #8a5300; }
.verdict li { font-weight: 600; margin: 0.3em 0; }
.note { color: #555; font-style: italic; }
code { background: #f6f6f6; padding: 0 0.2em; }
"""


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A table of the report's columns (their numbers right-aligned)."""
    return html_parts.table(header, rows, numeric_columns())


def facts_rows(run: Run) -> list[list[str]]:
    info = run.machine_info
    facts = run.facts
    cpu_raw = info.get("cpu")
    cpu: dict[str, Any] = cpu_raw if isinstance(cpu_raw, dict) else {}
    rows = [
        ["machine id", run.machine],
        ["node", str(info.get("node", "?"))],
        ["system", f"{info.get('system', '?')} {info.get('release', '')}".strip()],
        [
            "python",
            f"{info.get('python_implementation', '')} {info.get('python_version', '')}".strip(),
        ],
        ["cpu", str(cpu.get("brand_raw") or facts.get("cpu") or info.get("machine") or "?")],
    ]
    skip = {"versions", "cpu"}
    rows += [
        [name, str(value)]
        for name, value in facts.items()
        if name not in skip and value is not None
    ]
    versions = facts.get("versions")
    if isinstance(versions, dict):
        rows += [[f"version: {name}", str(v)] for name, v in versions.items() if v]
    return rows


def runs_rows(runs: Sequence[Run]) -> list[list[str]]:
    return [
        [
            run_name(run),
            f"{run.when:%Y-%m-%d %H:%M}",
            run.commit + (" (dirty)" if run.dirty else ""),
            run.branch,
            run.hardware,
            str(len(run.cases)) if run.record is None else run.record.counts(),
            run.path.name,
        ]
        for run in runs
    ]


def html_report(given: History | Selection, limits: Limits | None = None) -> str:
    """``index.html`` of a report's selection (or of a history's, made here)."""
    selection = as_selection(given, limits)
    history, limits = selection.history, selection.limits
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>whisperbench report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>whisperbench report</h1>",
        f"<p>{len(history.runs)} run(s) from {len(history.machines)} machine(s)"
        + (f" in <code>{html.escape(str(history.storage))}</code>" if history.storage else "")
        + f". Generated {now()}. Regressions are marked by this rule: each result "
        + f"{html.escape(describe_rule(limits))}.</p>",
    ]
    parts += [f"<h2>Verdict</h2><p>{html.escape(VERDICT_RULE)}</p><ul class='verdict'>"]
    parts += [
        f"<li>{html.escape(chosen.machine)}: {html.escape(line)}</li>"
        for chosen in selection.machines
        for line in verdict_lines(chosen.latest)
    ]
    parts.append("</ul>")
    parts += leaderboard.html_section(history, across_plot)  # two machines or more
    problems = history.problems()
    if problems:
        parts.append("<h2>Skipped history files</h2><ul class='skipped'>")
        parts += [f"<li>{html.escape(line)}</li>" for line in problems]
        parts.append("</ul>")
    for chosen in selection.machines:
        parts += machine_section(chosen)
    parts.append("</body></html>")
    return "\n".join(parts)


def machine_section(chosen: MachineSelection) -> list[str]:
    runs, newest, latest = chosen.runs, chosen.newest, chosen.latest
    parts = [
        f"<h2>{html.escape(machine_title(runs))}</h2>",
        "<h3>Newest result of each case</h3>",
        table(summary_header(), summary_rows(latest)) if summary_rows(latest) else "",
        *(
            f"<p class='note'>{html.escape(note)}.</p>"
            for note in (*missing_intervals(latest), *energy_notes(latest))
        ),
        "<h3>RTFx by model and implementation</h3>",
        image(plots.rtfx_plot(latest), "RTFx by model and implementation"),
        "<h3>WER against RTFx</h3>",
        image(plots.wer_rtfx_plot(latest), "WER against RTFx"),
    ]
    corpora = corpus_rows(latest)
    if corpora:
        parts += [
            "<h3>Corpora</h3>",
            table(corpus_header(), corpora),
            "<h3>WER against RTFx per corpus</h3>",
            image(plots.corpus_plot(latest), "WER against RTFx per corpus"),
        ]
    latency = latency_rows(latest)
    if latency:
        parts += [
            "<h3>Latency (first words and simulated live streaming)</h3>",
            table(latency_header(), latency),
            "<h3>Emission delay against WER per engine</h3>",
            image(plots.delay_wer_plot(latest), "Emission delay against WER per engine"),
        ]
    timeline = plots.timeline_plot(latest)
    if timeline is not None:
        parts += [
            "<h3>Resources over the slowest case of each engine</h3>",
            image(timeline, "Resources over the slowest case of each engine"),
        ]
    swept = sweep.sweep_rows(latest)
    if swept:
        parts += [
            "<h3>Batch sweep: speed and memory against batch size</h3>",
            table(sweep.sweep_header(), swept),
            image(sweep_plot.sweep_plot(latest), "Speed and memory against batch size"),
        ]
    parts.append("<h3>History per benchmark</h3>")
    histories = chosen.histories
    regressions = [(item.key, run, f) for item in histories for run, f in item.regressions]
    if regressions:
        parts.append("<ul class='regression'>")
        parts += [
            f"<li>run {html.escape(run.label)}: {html.escape(key.label)}: "
            f"{html.escape(f.message)}</li>"
            for key, run, f in regressions
        ]
        parts.append("</ul>")
    else:
        parts.append("<p>No regressions in the saved history.</p>")
    changes = [(item.key, run, c) for item in histories for run, c in item.config_changes]
    if changes:
        parts.append(
            "<p>Changes of configuration (each result is compared only with results of its own "
            "configuration):</p><ul class='config'>"
        )
        parts += [
            f"<li>run {html.escape(run.label)}: {html.escape(key.label)}: "
            f"config changed: {html.escape(', '.join(change))}</li>"
            for key, run, change in changes
        ]
        parts.append("</ul>")
    for item in histories:
        parts.append(f"<h4 id='{html.escape(item.key.slug)}'>{html.escape(item.key.label)}</h4>")
        parts.append(image(plots.history_plot(item), f"history of {item.key.label}"))
    parts += [
        f"<h3>Machine facts (newest run, {html.escape(newest.run_id)})</h3>",
        table(("Fact", "Value"), facts_rows(newest)),
        "<h3>Runs</h3>",
        table(
            ("Run", "Date (UTC)", "Commit", "Branch", "Hardware", "Cases", "File"), runs_rows(runs)
        ),
    ]
    return parts


def across_plot(groups: Sequence[Sequence[leaderboard.Across]]) -> str:
    """The leaderboard's figure of the same engine and model across machines, embedded."""
    return image(
        figures.png(plots.across_machines(groups)),
        "RTFx and WER of the same engine and model across machines",
    )
