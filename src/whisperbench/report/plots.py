"""The report's plots, as base64 PNG for a self-contained page (matplotlib's Agg canvas: no
GUI backend and no pyplot state).

They stay readable as engines and sizes grow: RTFx bars are horizontal, one row per model and
engine, each labelled at its end and coloured by engine with a legend; RTFx (tens to thousands)
is on a log scale.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from whisperbench import formatting
from whisperbench.history import CaseResult
from whisperbench.report.figures import png, series_label
from whisperbench.report.select import CaseHistory, Latest, model_order
from whisperbench.resources.timeline import SERIES
from whisperbench.results.metrics import judged, metric
from whisperbench.results.records import ONE_BY_ONE, STREAM, CorpusResult

if TYPE_CHECKING:
    from whisperbench.report.machines import Across

BAR_HEIGHT_IN = 0.32
"""Inches of figure per bar of the RTFx plot."""


def _transcriptions(latest: Latest, *fields: str, kind: str = "transcribe") -> list[CaseResult]:
    """The newest result of each case of ``kind`` that has every metric in ``fields``."""
    declared = [metric(name) for name in fields]
    return [
        case
        for _, case in latest
        if case.key.kind == kind and all(case.value(m) is not None for m in declared)
    ]


def rtfx_plot(latest: Latest) -> str | None:
    fig = rtfx_figure(latest)
    return None if fig is None else png(fig)


def rtfx_figure(latest: Latest) -> Figure | None:
    """Horizontal bars on a log scale: RTFx of each model (rows) per implementation (colours),
    one panel per clip."""
    rtfx = metric("rtfx")
    cases = _transcriptions(latest, "rtfx")
    if not cases:
        return None
    configs = {(c.key.device, c.key.dtype, c.key.quantization) for c in cases}
    clips = sorted({c.key.clip or "" for c in cases})
    models = sorted({c.key.model for c in cases}, key=model_order)
    series = sorted({series_label(c.key, configs) for c in cases})
    values = {
        (c.key.clip or "", c.key.model, series_label(c.key, configs)): c.value(rtfx) or 0.0
        for c in cases
    }
    panels = [
        (clip, [m for m in models if any((clip, m, name) in values for name in series)])
        for clip in clips
    ]
    rows = [len(panel_models) * len(series) for _, panel_models in panels]
    fig = Figure(
        figsize=(8.0, 1.4 + sum(0.6 + BAR_HEIGHT_IN * n for n in rows)), layout="constrained"
    )
    axes = fig.subplots(
        len(panels), 1, squeeze=False, sharex=True, gridspec_kw={"height_ratios": rows}
    )[:, 0]
    height = 0.8 / len(series)
    colours = {name: f"C{i % 10}" for i, name in enumerate(series)}
    for ax, (clip, panel_models) in zip(axes, panels, strict=True):
        for s_index, name in enumerate(series):
            ys, xs = [], []
            for m_index, model in enumerate(panel_models):
                value = values.get((clip, model, name))
                if value:
                    ys.append(m_index + (s_index - (len(series) - 1) / 2) * height)
                    xs.append(value)
            bars = ax.barh(ys, xs, height=height * 0.9, color=colours[name], label=name)
            ax.bar_label(bars, labels=[f"{x:.1f}" for x in xs], fontsize=7, padding=3)
        ax.set_yticks(range(len(panel_models)), panel_models, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_title(f"clip: {clip}", fontsize=9, loc="left")
        ax.grid(axis="x", which="both", alpha=0.25)
    low, high = min(values.values()), max(values.values())
    axes[-1].set_xlim(low / 2, high * 4)  # room for the labels at the bars' ends
    axes[-1].set_xlabel("RTFx, log scale (audio seconds per second; higher is faster)")
    handles, labels = axes[0].get_legend_handles_labels()  # every series, even if empty
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=min(len(series), 3),
        fontsize=8,
    )
    fig.suptitle("RTFx by model and implementation (newest run of each case)", fontsize=10)
    return fig


def wer_rtfx_plot(latest: Latest) -> str | None:
    fig = wer_rtfx_figure(latest)
    return None if fig is None else png(fig)


def wer_rtfx_figure(latest: Latest) -> Figure | None:
    """Scatter: WER against RTFx (log scale), a marker per implementation, each point named
    model/clip."""
    cases = _transcriptions(latest, "rtfx", "wer")
    if not cases:
        return None
    configs = {(c.key.device, c.key.dtype, c.key.quantization) for c in cases}
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.subplots()
    _wer_rtfx_points(ax, cases, configs, lambda c: f"{c.key.model}/{c.key.clip}")
    ax.set_title("Accuracy against speed (newest run of each case)", fontsize=10)
    return fig


def corpus_plot(latest: Latest) -> str | None:
    fig = corpus_figure(latest)
    return None if fig is None else png(fig)


def corpus_figure(latest: Latest) -> Figure | None:
    """WER against RTFx (log scale) per corpus: a panel per corpus, a marker per
    implementation, each point named by its model (and ``one-by-one`` where the utterances ran
    one after the other)."""
    cases = _transcriptions(latest, "rtfx", "wer", kind="corpus")
    if not cases:
        return None
    configs = {(c.key.device, c.key.dtype, c.key.quantization) for c in cases}
    corpora = sorted({_corpus_of(c) for c in cases})
    fig = Figure(figsize=(7.5, 0.6 + 4.0 * len(corpora)), layout="constrained")
    axes = fig.subplots(len(corpora), 1, squeeze=False)[:, 0]
    for ax, corpus in zip(axes, corpora, strict=True):
        mine = [c for c in cases if _corpus_of(c) == corpus]
        _wer_rtfx_points(ax, mine, configs, _corpus_point_label)
        ax.set_title(f"corpus: {corpus}", fontsize=9, loc="left")
    fig.suptitle("Corpus WER against corpus RTFx (newest run of each case)", fontsize=10)
    return fig


def _corpus_of(case: CaseResult) -> str:
    result = case.result
    return result.dataset if isinstance(result, CorpusResult) else str(case.key.clip)


def _corpus_point_label(case: CaseResult) -> str:
    result = case.result
    one_by_one = isinstance(result, CorpusResult) and result.batching == ONE_BY_ONE
    return case.key.model + (" one-by-one" if one_by_one else "")


def _wer_rtfx_points(
    ax: Any,
    cases: Sequence[CaseResult],
    configs: set[tuple[str, str, str]],
    label_of: Callable[[CaseResult], str],
) -> None:
    """WER (%) against RTFx (log scale): a marker per implementation series, each point
    labelled."""
    rtfx, wer = metric("rtfx"), metric("wer")
    markers = "osD^v<>pXh"
    for index, name in enumerate(sorted({series_label(c.key, configs) for c in cases})):
        mine = [c for c in cases if series_label(c.key, configs) == name]
        xs = [c.value(rtfx) or 0.0 for c in mine]
        ys = [wer.scaled(c.value(wer)) or 0.0 for c in mine]
        ax.scatter(xs, ys, marker=markers[index % len(markers)], label=name, s=40)
        for c, x, y in zip(mine, xs, ys, strict=True):
            ax.annotate(label_of(c), (x, y), fontsize=6, xytext=(4, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.margins(0.15)
    ax.set_xlabel("RTFx, log scale (higher is faster)")
    ax.set_ylabel("WER % (lower is better)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="best")


def delay_wer_plot(latest: Latest) -> str | None:
    fig = delay_wer_figure(latest)
    return None if fig is None else png(fig)


def delay_wer_figure(latest: Latest) -> Figure | None:
    """The latency track's trade-off: the streamed WER (%) against the median emission delay,
    a marker per engine, a line from each point to its 90th-percentile delay, and a hollow
    marker at the same engine's offline WER on the clip (what streaming cost in accuracy);
    each point named model/clip."""
    p50, p90, wer, offline = (
        metric(name) for name in ("delay_p50_s", "delay_p90_s", "stream_wer", "offline_wer")
    )
    cases = _transcriptions(latest, "delay_p50_s", "stream_wer", kind=STREAM)
    if not cases:
        return None
    configs = {(c.key.device, c.key.dtype, c.key.quantization) for c in cases}
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.subplots()
    markers = "osD^v<>pXh"
    for index, name in enumerate(sorted({series_label(c.key, configs) for c in cases})):
        mine = [c for c in cases if series_label(c.key, configs) == name]
        colour, marker = f"C{index % 10}", markers[index % len(markers)]
        xs = [c.value(p50) or 0.0 for c in mine]
        ys = [wer.scaled(c.value(wer)) or 0.0 for c in mine]
        tails = [max(0.0, (c.value(p90) or x) - x) for c, x in zip(mine, xs, strict=True)]
        ax.errorbar(
            xs,
            ys,
            xerr=[[0.0] * len(xs), tails],
            fmt=marker,
            color=colour,
            capsize=3,
            label=f"{name} (streamed; line to p90)",
        )
        offline_ys = [offline.scaled(c.value(offline)) for c in mine]
        shown = [(x, y) for x, y in zip(xs, offline_ys, strict=True) if y is not None]
        if shown:
            ax.scatter(
                [x for x, _ in shown],
                [y for _, y in shown],
                marker=marker,
                facecolors="none",
                edgecolors=colour,
                s=50,
                label=f"{name} (offline WER)",
            )
        for c, x, y in zip(mine, xs, ys, strict=True):
            label = f"{c.key.model}/{c.key.clip}"
            ax.annotate(label, (x, y), fontsize=6, xytext=(4, 3), textcoords="offset points")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.margins(0.15)
    ax.set_xlabel("median emission delay, s (lower is sooner)")
    ax.set_ylabel("WER % (lower is better)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    ax.set_title("Emission delay against WER per engine (newest stream case)", fontsize=10)
    return fig


def history_plot(item: CaseHistory) -> str:
    return png(history_figure(item))


def history_figure(item: CaseHistory) -> Figure:
    """Median time per run (bars: min to max of the rounds), then a panel per judged metric the
    case has (WER, repeated n-grams); runs the regression rule flags are marked in red, changes
    of configuration by a dashed line and what changed."""
    cases = [case for _, case in item.points]
    panels = [m for m in judged() if any(c.value(m) is not None for c in cases)]
    height = 3.0 + 1.6 * len(panels)
    fig = Figure(figsize=(max(5.5, 0.6 * len(cases) + 3.0), height))
    # Margins in inches, set once: a report draws one of these per case, and a layout engine
    # that measures every label took half of the drawing time.
    fig.subplots_adjust(left=0.14, right=0.98, top=1 - 0.45 / height, bottom=0.75 / height)
    axes = fig.subplots(1 + len(panels), 1, squeeze=False, sharex=True)[:, 0]
    xs = list(range(len(cases)))
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
    for panel_ax, declared in zip(axes[1:], panels, strict=True):
        ys = [
            shown if (shown := declared.scaled(c.value(declared))) is not None else float("nan")
            for c in cases
        ]
        panel_ax.plot(xs, ys, marker="s", color="tab:green", label=declared.label)
        _mark(panel_ax, xs, ys, item, declared.field)
        panel_ax.set_ylabel(declared.label)
        panel_ax.set_ylim(bottom=0)
    for each in axes:
        each.grid(alpha=0.3)
        each.legend(fontsize=7, loc="best")
    _config_lines(axes, item)
    labels = [f"{run.run_id}\n{run.short_commit}" for run, _ in item.points]
    axes[-1].set_xticks(xs, labels, fontsize=7)
    fig.suptitle(item.key.label, fontsize=10)
    return fig


def _mark(ax: Any, xs: list[int], ys: list[float], item: CaseHistory, what: str) -> None:
    flagged = [
        i
        for i, verdict in enumerate(item.verdicts)
        if any(f.what == what for f in verdict.findings)
    ]
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


def _config_lines(axes: Any, item: CaseHistory) -> None:
    """A dashed line before each run whose configuration changed, with what changed."""
    for index, verdict in enumerate(item.verdicts):
        if not verdict.config_change:
            continue
        for ax in axes:
            ax.axvline(index - 0.5, color="grey", linestyle="--", linewidth=1)
        axes[0].annotate(
            "config changed:\n" + "\n".join(verdict.config_change),
            (index - 0.45, 0.98),
            xycoords=("data", "axes fraction"),
            fontsize=6,
            va="top",
            color="dimgrey",
        )


def across_machines(groups: Sequence[Sequence[Across]]) -> Figure:
    """Horizontal bars, log RTFx: a row per engine/model/clip, a bar per machine (a colour
    each), labelled with its RTFx and WER."""
    wer = metric("wer")
    machine_names = sorted({row.machine for group in groups for row in group})
    colours = {name: f"C{i % 10}" for i, name in enumerate(machine_names)}
    bars = sum(len(group) for group in groups)
    fig = Figure(
        figsize=(9.0, 1.6 + BAR_HEIGHT_IN * bars + 0.2 * len(groups)), layout="constrained"
    )
    ax = fig.subplots()
    y = 0.0
    ticks, labels = [], []
    seen: set[str] = set()
    for group in groups:
        start = y
        for row in group:
            value = row.rtfx or 0.0
            name = row.machine
            bar = ax.barh(
                [y],
                [value],
                height=0.8,
                color=colours[name],
                label=None if name in seen else name,
            )
            seen.add(name)
            wer_value = row.case.value(wer)
            text = f"{value:.1f}x" + (
                f", WER {formatting.value_with_unit(wer, wer_value)}"
                if wer_value is not None
                else ""
            )
            ax.bar_label(bar, labels=[text], fontsize=7, padding=3)
            y += 1.0
        ticks.append((start + y - 1.0) / 2)
        labels.append(f"{group[0].implementation} {group[0].model}\n{group[0].subject}")
        y += 0.6
    ax.set_yticks(ticks, labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    values = [row.rtfx or 0.0 for group in groups for row in group if row.rtfx]
    if values:
        ax.set_xlim(min(values) / 2, max(values) * 8)  # room for the labels
    ax.grid(axis="x", which="both", alpha=0.25)
    ax.set_xlabel("RTFx, log scale (audio seconds per second; higher is faster), WER beside it")
    fig.legend(loc="outside lower center", ncols=min(len(machine_names), 3), fontsize=8)
    fig.suptitle("The same engine and model across machines (newest result)", fontsize=10)
    return fig


def slowest_per_engine(latest: Latest) -> list[CaseResult]:
    """Each engine's slowest transcribe or corpus case (by median time) that has a resource
    timeline, in the engines' order."""
    slowest: dict[str, CaseResult] = {}
    for _, case in latest:
        result = case.result
        if case.key.kind not in ("transcribe", "corpus") or result.timeline is None:
            continue
        known = slowest.get(case.key.implementation)
        if known is None or case.median_s > known.median_s:
            slowest[case.key.implementation] = case
    return [slowest[name] for name in sorted(slowest)]


def timeline_plot(latest: Latest) -> str | None:
    fig = timeline_figure(slowest_per_engine(latest))
    return None if fig is None else png(fig)


def timeline_figure(cases: Sequence[CaseResult]) -> Figure | None:
    """A row per case, a panel per series sampled (host RSS, device memory, power, temperature,
    SM clock) against seconds from the case's start; the timed rounds shaded."""
    timelines = [(case, case.result.timeline) for case in cases]
    shown = [
        (case, timeline) for case, timeline in timelines if timeline is not None and timeline.t_s
    ]
    if not shown:
        return None
    names = [name for name in SERIES if any(name in t.series for _, t in shown)]
    width = max(6.5, 3.2 * len(names) + 0.6)  # room for the title with one series
    fig = Figure(figsize=(width, 0.6 + 2.2 * len(shown)), layout="constrained")
    axes = fig.subplots(len(shown), len(names), squeeze=False)
    for row, (case, timeline) in zip(axes, shown, strict=True):
        for ax, name in zip(row, names, strict=True):
            values = timeline.series.get(name)
            if values is not None:
                ys = [float("nan") if v is None else v for v in values]
                ax.plot(timeline.t_s, ys, linewidth=1.2)
            if timeline.timed_from_s is not None and timeline.timed_to_s is not None:
                ax.axvspan(
                    timeline.timed_from_s, timeline.timed_to_s, color="tab:green", alpha=0.12
                )
            ax.set_title(SERIES[name][0], fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
        row[0].set_ylabel(
            f"{case.key.implementation}\n{case.key.model} {case.key.clip}", fontsize=7
        )
    for ax in axes[-1]:
        ax.set_xlabel("s from the case's start (timed rounds shaded)", fontsize=7)
    fig.suptitle("Resources over the slowest case of each engine (newest run)", fontsize=10)
    return fig
