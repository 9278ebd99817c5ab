"""The report's plots on the recorded runs: horizontal RTFx bars on a log scale whose labels do
not overlap, WER against RTFx on a log scale, and histories with a panel per judged metric and
changes of configuration marked."""

from __future__ import annotations

import base64
import dataclasses
import itertools
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg

from whisperbench.history import CaseKey, load_history
from whisperbench.regressions import Limits
from whisperbench.report import plots
from whisperbench.report.select import case_histories, latest_results


def drawn(fig: Any) -> Any:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


def overlapping(boxes: list[Any]) -> list[tuple[int, int]]:
    return [
        (i, j) for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2) if a.overlaps(b)
    ]


def test_rtfx_bars_are_horizontal_on_a_log_scale_with_labels_apart(
    cpu_storage: Path, gpu_storage: Path
) -> None:
    for storage in (cpu_storage, gpu_storage):
        history = load_history(storage)
        fig = plots.rtfx_figure(latest_results(history.for_machine(history.machines[0])))
        assert fig is not None
        renderer = drawn(fig)
        axes = [ax for ax in fig.axes if ax.patches]
        assert axes
        for ax in axes:
            assert ax.get_xscale() == "log"
            heights = {round(bar.get_height(), 6) for bar in ax.patches}
            assert len(heights) == 1  # horizontal bars: one thickness, lengths vary
            labels = [text.get_window_extent(renderer) for text in ax.texts]
            assert len(labels) == len(ax.patches)  # every bar labelled with its value
            assert overlapping(labels) == []
            ticks = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_text()]
            assert overlapping(ticks) == []
        engines = {c.key.implementation for r in history.runs for c in r.cases}
        assert len(fig.legends[0].get_texts()) == len(engines)


def test_the_cpu_run_shows_every_engine_in_the_legend(cpu_storage: Path) -> None:
    history = load_history(cpu_storage)
    fig = plots.rtfx_figure(latest_results(history.runs))
    assert fig is not None
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == [
        "faster-whisper (cpu int8_float32 int8)",
        "transformers (cpu float32)",
        "transformers-reference (cpu float32)",
    ]


def test_wer_against_rtfx_is_on_a_log_scale(gpu_storage: Path) -> None:
    fig = plots.wer_rtfx_figure(latest_results(load_history(gpu_storage).runs))
    assert fig is not None
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    assert ax.get_ylabel() == "WER % (lower is better)"


def test_a_history_has_a_panel_per_judged_metric_and_marks_the_config_change(
    gpu_storage: Path,
) -> None:
    runs = load_history(gpu_storage).runs
    item = next(
        i
        for i in case_histories(runs, Limits())
        if i.key.label == "transcribe transformers tiny.en long-x2 [cuda float16]"
    )
    fig = plots.history_figure(item)
    assert [ax.get_ylabel() for ax in fig.axes] == ["seconds", "WER %"]  # no repeats saved
    notes = [t.get_text() for t in fig.axes[0].texts]
    assert notes == ["config changed:\nbatch_size 64 -> 24"]
    png = base64.b64decode(plots.history_plot(item))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")


def test_no_data_gives_no_plot(gpu_storage: Path) -> None:
    runs = load_history(gpu_storage).runs
    loads_only = [r for r in runs if all(c.key.kind == "load" for c in r.cases)]
    assert plots.rtfx_plot(latest_results(loads_only)) is None
    assert plots.wer_rtfx_plot(latest_results(loads_only)) is None


def test_rtfx_labels_stay_apart_with_many_engines_and_sizes(cpu_storage: Path) -> None:
    """Six engines x five sizes x two clips, RTFx from 5 to 4000: every bar still has its own
    row and its label, and none overlaps another."""
    (run,) = load_history(cpu_storage).runs
    template = next(c for c in run.cases if c.key.kind == "transcribe")
    cases = []
    for e_index, engine in enumerate(["ours", "recipe", "fw", "cpp", "mlx", "openai"]):
        for s_index, size in enumerate(["tiny", "base", "small", "medium", "large-v3"]):
            for clip in ("short", "long"):
                record = dataclasses.replace(
                    template.result,
                    implementation=engine,
                    model=size,
                    clip=clip,
                    rtfx=5.0 * 1.9 ** (e_index + s_index),
                )
                cases.append(dataclasses.replace(template, key=CaseKey.of(record), result=record))
    fig = plots.rtfx_figure(latest_results([dataclasses.replace(run, cases=tuple(cases))]))
    assert fig is not None
    renderer = drawn(fig)
    for ax in fig.axes:
        assert len(ax.patches) == 30 and len(ax.texts) == 30
        assert overlapping([t.get_window_extent(renderer) for t in ax.texts]) == []
        ticks = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_text()]
        assert len(ticks) == 5 and overlapping(ticks) == []
    assert len(fig.legends[0].get_texts()) == 6
