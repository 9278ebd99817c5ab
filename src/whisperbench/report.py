"""Saved runs -> a Markdown summary and a self-contained HTML page with matplotlib plots.

Everything is grouped by machine (pytest-benchmark's machine id, the storage folder): timings
from different machines never share a table, a plot or a history line.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from whisperbench.history import CaseKey, CaseResult, History, Run
from whisperbench.models import MODELS
from whisperbench.regressions import (
    DEFAULT_WER_POINTS,
    DEFAULT_WINDOW,
    Finding,
    TimeCheck,
    describe_check,
    series_regressions,
)

MARKDOWN_NAME = "summary.md"
HTML_NAME = "index.html"

SUMMARY_COLUMNS = (
    "Implementation",
    "Model",
    "Clip",
    "Median s",
    "RTFx",
    "WER %",
    "Load s",
    "Peak RSS MB",
    "Peak device MB",
    "Device",
    "dtype",
    "Quantisation",
    "Run",
)


@dataclass(frozen=True)
class ReportSettings:
    """How regressions are marked in the history plots (the same rule as check-regressions)."""

    window: int = DEFAULT_WINDOW
    time_checks: tuple[TimeCheck, ...] = ()
    wer_points: float | None = DEFAULT_WER_POINTS
    kinds: tuple[str, ...] = ("transcribe",)
    """The kinds of case whose regressions are marked (model loads are noisy)."""


@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    html: Path


# --- selecting what to show -------------------------------------------------------------------


def _model_order(model: str) -> tuple[int, str]:
    names = list(MODELS)
    return (names.index(model) if model in names else len(names), model)


def _sort_key(key: CaseKey) -> tuple[Any, ...]:
    return (key.implementation, _model_order(key.model), key.clip or "", key.kind, key.label)


def latest_results(runs: Sequence[Run]) -> list[tuple[Run, CaseResult]]:
    """The newest result of each case among ``runs`` (oldest first)."""
    latest: dict[CaseKey, tuple[Run, CaseResult]] = {}
    for run in runs:
        for case in run.cases:
            latest[case.key] = (run, case)
    return [latest[key] for key in sorted(latest, key=_sort_key)]


def summary_rows(runs: Sequence[Run]) -> list[list[str]]:
    """Rows of the per-machine table: a row per transcription case, plus a load-only row for an
    implementation x model whose transcriptions are missing."""
    latest = latest_results(runs)
    transcribed = {
        (c.key.implementation, c.key.model) for _, c in latest if c.key.kind == "transcribe"
    }
    rows = []
    for run, case in latest:
        key = case.key
        if key.kind == "load" and (key.implementation, key.model) in transcribed:
            continue
        wer = case.wer
        rows.append(
            [
                key.implementation,
                key.model,
                key.clip if key.kind == "transcribe" and key.clip else "(load only)",
                _fmt(case.median_s, ".3f"),
                _fmt(case.rtfx, ".1f"),
                _fmt(None if wer is None else 100 * wer, ".1f"),
                _fmt(case.load_s, ".2f"),
                _fmt(case.peak_rss_mb, ".0f"),
                _fmt(case.peak_device_mb, ".0f"),
                key.device,
                key.dtype,
                key.quantization,
                run.run_id,
            ]
        )
    return rows


def _fmt(value: float | None, spec: str) -> str:
    return "–" if value is None else format(value, spec)


def machine_title(runs: Sequence[Run]) -> str:
    return f"{runs[-1].machine}: {runs[-1].hardware}"


# --- Markdown ---------------------------------------------------------------------------------


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def markdown_summary(history: History, settings: ReportSettings | None = None) -> str:
    settings = settings or ReportSettings()
    lines = ["# whisperbench results", ""]
    lines.append(
        f"{len(history.runs)} run(s) from {len(history.machines)} machine(s)"
        + (f" in `{history.storage}`" if history.storage else "")
        + f"; the newest result of each case. Generated {_now()}."
    )
    lines.append("")
    for machine in history.machines:
        runs = history.for_machine(machine)
        newest = runs[-1]
        lines += [f"## {machine_title(runs)}", ""]
        lines.append(
            f"{len(runs)} run(s); newest {newest.label}, commit `{newest.commit}`"
            + (" (uncommitted changes)" if newest.dirty else "")
            + f". {_versions_line(newest)}"
        )
        lines += ["", _md_row(SUMMARY_COLUMNS), _md_row(["---"] * len(SUMMARY_COLUMNS))]
        lines += [_md_row(row) for row in summary_rows(runs)]
        lines.append("")
        flagged = _newest_findings(runs, settings)
        if flagged:
            lines.append(f"Regressions in the newest run ({_rule(settings)}):")
            lines.append("")
            lines += [f"- {f.key.label}: {f.message}" for f in flagged]
            lines.append("")
    problems = history.problems()
    if problems:
        lines += ["## Skipped history files", ""]
        lines += [f"- {line}" for line in problems]
        lines.append("")
    return "\n".join(lines)


def _versions_line(run: Run) -> str:
    versions = run.facts.get("versions")
    if not isinstance(versions, dict):
        return ""
    shown = [f"{name} {version}" for name, version in versions.items() if version]
    return "Versions: " + ", ".join(shown) + "." if shown else ""


def _rule(settings: ReportSettings) -> str:
    parts = [describe_check(check) for check in settings.time_checks]
    if settings.wer_points is not None:
        parts.append(f"WER +{settings.wer_points:g} points")
    limits = ", ".join(parts) or "no thresholds"
    return f"{limits} against the median of the last {settings.window} run(s)"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# --- plots ------------------------------------------------------------------------------------


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    FigureCanvasAgg(fig)  # the Agg canvas: no GUI backend and no pyplot state
    fig.savefig(buffer, format="png", dpi=100)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _series_label(key: CaseKey, configs: set[tuple[str, str, str]]) -> str:
    """The implementation, with device/dtype/quantisation when the machine has several."""
    if len(configs) <= 1:
        return key.implementation
    quant = "" if key.quantization in ("none", "-") else f" {key.quantization}"
    return f"{key.implementation} ({key.device} {key.dtype}{quant})"


def rtfx_plot(runs: Sequence[Run]) -> str | None:
    """Grouped bars: RTFx of each model per implementation, one panel per clip."""
    cases = [c for _, c in latest_results(runs) if c.key.kind == "transcribe" and c.rtfx]
    if not cases:
        return None
    configs = {(c.key.device, c.key.dtype, c.key.quantization) for c in cases}
    clips = sorted({c.key.clip or "" for c in cases})
    models = sorted({c.key.model for c in cases}, key=_model_order)
    series = sorted({_series_label(c.key, configs) for c in cases})
    fig = Figure(figsize=(max(6.0, 1.2 * len(models) * len(clips) + 2), 4.0), layout="constrained")
    axes = fig.subplots(1, len(clips), squeeze=False, sharey=True)[0]
    width = 0.8 / len(series)
    for ax, clip in zip(axes, clips, strict=True):
        for s_index, name in enumerate(series):
            xs, ys = [], []
            for m_index, model in enumerate(models):
                value = next(
                    (
                        c.rtfx
                        for c in cases
                        if c.key.clip == clip
                        and c.key.model == model
                        and _series_label(c.key, configs) == name
                    ),
                    None,
                )
                if value is not None:
                    xs.append(m_index + (s_index - (len(series) - 1) / 2) * width)
                    ys.append(value)
            bars = ax.bar(xs, ys, width=width, label=name)
            ax.bar_label(bars, fmt="%.1f", fontsize=7)
        ax.set_xticks(range(len(models)), models)
        ax.set_title(f"clip: {clip}")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("RTFx (higher is faster)")
    axes[-1].legend(fontsize=8)
    fig.suptitle("RTFx by model and implementation\n(newest run of each case)", fontsize=10)
    return _png(fig)


def wer_rtfx_plot(runs: Sequence[Run]) -> str | None:
    """Scatter: WER against RTFx, a marker per implementation, each point named model/clip."""
    cases = [
        c
        for _, c in latest_results(runs)
        if c.key.kind == "transcribe" and c.rtfx is not None and c.wer is not None
    ]
    if not cases:
        return None
    configs = {(c.key.device, c.key.dtype, c.key.quantization) for c in cases}
    fig = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = fig.subplots()
    markers = "osD^v<>pXh"
    for index, name in enumerate(sorted({_series_label(c.key, configs) for c in cases})):
        mine = [c for c in cases if _series_label(c.key, configs) == name]
        ax.scatter(
            [c.rtfx or 0.0 for c in mine],
            [100 * (c.wer or 0.0) for c in mine],
            marker=markers[index % len(markers)],
            label=name,
            s=40,
        )
        for c in mine:
            ax.annotate(
                f"{c.key.model}/{c.key.clip}",
                (c.rtfx or 0.0, 100 * (c.wer or 0.0)),
                fontsize=7,
                xytext=(4, 3),
                textcoords="offset points",
            )
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.margins(0.15)
    ax.set_xlabel("RTFx (higher is faster)")
    ax.set_ylabel("WER % (lower is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("Accuracy against speed (newest run of each case)")
    return _png(fig)


@dataclass(frozen=True)
class CaseHistory:
    key: CaseKey
    points: tuple[tuple[Run, CaseResult], ...]
    findings: tuple[tuple[Finding, ...], ...]

    @property
    def regressions(self) -> list[tuple[Run, Finding]]:
        return [
            (run, finding)
            for (run, _), found in zip(self.points, self.findings, strict=True)
            for finding in found
        ]


def case_histories(runs: Sequence[Run], settings: ReportSettings) -> list[CaseHistory]:
    keys = sorted({c.key for run in runs for c in run.cases}, key=_sort_key)
    out = []
    for key in keys:
        points = tuple((run, case) for run in runs if (case := run.case(key)) is not None)
        findings = (
            series_regressions(
                [case for _, case in points],
                window=settings.window,
                time_checks=settings.time_checks,
                wer_points=settings.wer_points,
            )
            if key.kind in settings.kinds
            else [[] for _ in points]
        )
        out.append(CaseHistory(key, points, tuple(tuple(f) for f in findings)))
    return out


def history_plot(item: CaseHistory) -> str:
    """Median time per run (bars: min to max of the rounds), WER beneath for transcriptions;
    runs that the regression rule flags are marked in red."""
    has_wer = any(case.wer is not None for _, case in item.points)
    fig = Figure(
        figsize=(max(5.0, 0.55 * len(item.points) + 2.5), 4.6 if has_wer else 3.0),
        layout="constrained",
    )
    axes = fig.subplots(2 if has_wer else 1, 1, squeeze=False, sharex=True)[:, 0]
    xs = list(range(len(item.points)))
    cases = [case for _, case in item.points]
    medians = [c.median_s for c in cases]
    ax = axes[0]
    ax.errorbar(
        xs,
        medians,
        yerr=[[c.median_s - c.min_s for c in cases], [c.max_s - c.median_s for c in cases]],
        marker="o",
        capsize=3,
        label="median (min–max of rounds)",
    )
    _mark(ax, xs, medians, item, "time")
    ax.set_ylabel("seconds")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    if has_wer:
        wers = [100 * c.wer if c.wer is not None else float("nan") for c in cases]
        axes[1].plot(xs, wers, marker="s", color="tab:green", label="WER %")
        _mark(axes[1], xs, wers, item, "wer")
        axes[1].set_ylabel("WER %")
        axes[1].set_ylim(bottom=0)
        axes[1].grid(alpha=0.3)
        axes[1].legend(fontsize=7, loc="best")
    labels = [f"{run.run_id}\n{run.short_commit}" for run, _ in item.points]
    axes[-1].set_xticks(xs, labels, fontsize=7)
    fig.suptitle(item.key.label, fontsize=10)
    return _png(fig)


def _mark(ax: Any, xs: list[int], ys: list[float], item: CaseHistory, what: str) -> None:
    flagged = [i for i, found in enumerate(item.findings) if any(f.what == what for f in found)]
    if flagged:
        ax.scatter(
            [xs[i] for i in flagged],
            [ys[i] for i in flagged],
            s=140,
            marker="X",
            color="red",
            zorder=5,
            label="regression",
        )
        ax.legend(fontsize=7, loc="best")


# --- HTML -------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.3em 0; }
.regression { color: #b00020; }
.skipped { color: #8a5300; }
code { background: #f6f6f6; padding: 0 0.2em; }
"""

_NUMERIC = {"Median s", "RTFx", "WER %", "Load s", "Peak RSS MB", "Peak device MB"}


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{html.escape(cell)}</td>'
            if h in _NUMERIC
            else f"<td>{html.escape(cell)}</td>"
            for h, cell in zip(header, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _img(data: str | None, alt: str) -> str:
    if data is None:
        return f"<p><em>{html.escape(alt)}: no data</em></p>"
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _facts_rows(run: Run) -> list[list[str]]:
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


def _runs_rows(runs: Sequence[Run]) -> list[list[str]]:
    return [
        [
            run.run_id,
            f"{run.when:%Y-%m-%d %H:%M}",
            run.commit + (" (dirty)" if run.dirty else ""),
            run.branch,
            run.hardware,
            str(len(run.cases)),
            run.path.name,
        ]
        for run in runs
    ]


def html_report(history: History, settings: ReportSettings | None = None) -> str:
    settings = settings or ReportSettings()
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<title>whisperbench report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>whisperbench report</h1>",
        f"<p>{len(history.runs)} run(s) from {len(history.machines)} machine(s)"
        + (f" in <code>{html.escape(str(history.storage))}</code>" if history.storage else "")
        + f". Generated {_now()}. Regressions are marked by this rule: "
        + f"{html.escape(_rule(settings))}.</p>",
    ]
    problems = history.problems()
    if problems:
        parts.append("<h2>Skipped history files</h2><ul class='skipped'>")
        parts += [f"<li>{html.escape(line)}</li>" for line in problems]
        parts.append("</ul>")
    for machine in history.machines:
        parts += _machine_section(history.for_machine(machine), settings)
    parts.append("</body></html>")
    return "\n".join(parts)


def _machine_section(runs: Sequence[Run], settings: ReportSettings) -> list[str]:
    newest = runs[-1]
    parts = [
        f"<h2>{html.escape(machine_title(runs))}</h2>",
        "<h3>Newest result of each case</h3>",
        _table(SUMMARY_COLUMNS, summary_rows(runs)),
        "<h3>RTFx by model and implementation</h3>",
        _img(rtfx_plot(runs), "RTFx by model and implementation"),
        "<h3>WER against RTFx</h3>",
        _img(wer_rtfx_plot(runs), "WER against RTFx"),
        "<h3>History per benchmark</h3>",
    ]
    histories = case_histories(runs, settings)
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
    for item in histories:
        parts.append(f"<h4 id='{html.escape(item.key.slug)}'>{html.escape(item.key.label)}</h4>")
        parts.append(_img(history_plot(item), f"history of {item.key.label}"))
    parts += [
        f"<h3>Machine facts (newest run, {html.escape(newest.run_id)})</h3>",
        _table(("Fact", "Value"), _facts_rows(newest)),
        "<h3>Runs</h3>",
        _table(
            ("Run", "Date (UTC)", "Commit", "Branch", "Hardware", "Cases", "File"), _runs_rows(runs)
        ),
    ]
    return parts


def _newest_findings(runs: Sequence[Run], settings: ReportSettings) -> list[Finding]:
    newest = runs[-1]
    out: list[Finding] = []
    for item in case_histories(runs, settings):
        if item.points and item.points[-1][0] is newest:
            out += item.findings[-1]
    return out


# --- writing ----------------------------------------------------------------------------------


def write_report(
    history: History,
    output: Path,
    settings: ReportSettings | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> ReportFiles:
    output.mkdir(parents=True, exist_ok=True)
    files = ReportFiles(output / MARKDOWN_NAME, output / HTML_NAME)
    files.markdown.write_text(markdown_summary(history, settings), encoding="utf-8")
    progress(f"wrote {files.markdown}")
    files.html.write_text(html_report(history, settings), encoding="utf-8")
    progress(f"wrote {files.html}")
    return files
