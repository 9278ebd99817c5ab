"""The latency track in the report, from the fast tier's real run (``latency_storage``): the
Markdown and HTML latency table (first words, emission delays with their intervals, streamed
and offline WER), and the plot of emission delay against WER per engine."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg

from whisperbench.history import load_history
from whisperbench.report import plots
from whisperbench.report.html import html_report
from whisperbench.report.markdown import markdown_summary
from whisperbench.report.select import latency_header, latency_rows, latest_results, summary_rows


def test_the_latency_table_has_a_row_per_engine_and_clip(latency_storage: Path) -> None:
    latest = latest_results(load_history(latency_storage).runs)
    header = latency_header()
    (row,) = latency_rows(latest)  # the first-words and the stream case side by side
    cells = dict(zip(header, row, strict=True))
    assert cells["Implementation"] == "faster-whisper" and cells["Clip"] == "fleurs_en-004"
    for label in ("First words s", "Full text s", "Stream WER %", "Offline WER %", "Kept up"):
        assert cells[label] not in ("", "–"), label
    for label in ("Delay mean s", "Delay p50 s", "Delay p90 s"):
        assert "[" in cells[label], label  # value [low, high], the bootstrap over the words
    assert cells["Chunk s"] == "1.0" and cells["Device"] == "cpu"
    assert summary_rows(latest) == []  # no throughput case: the summary table is empty


def test_markdown_and_html_show_the_track(latency_storage: Path) -> None:
    history = load_history(latency_storage)
    markdown = markdown_summary(history)
    assert "### Latency (first words and simulated live streaming)" in markdown
    table = markdown.split("### Latency")[1]
    assert "| faster-whisper | tiny.en | fleurs_en-004 |" in table
    assert "Delay p90 s" in table and "Stream WER %" in table
    page = html_report(history)
    assert "<h3>Latency (first words and simulated live streaming)</h3>" in page
    assert "<h3>Emission delay against WER per engine</h3>" in page
    figure = page.split("<h3>Emission delay against WER per engine</h3>")[1]
    assert figure.lstrip().startswith('<img alt="Emission delay against WER per engine"')


def test_the_delay_plot_puts_each_engine_at_its_delay_and_wer(
    latency_storage: Path, tmp_path: Path
) -> None:
    # a second engine: the same saved run under another name, its delays doubled
    (run_file,) = latency_storage.glob("*/*.json")
    text = run_file.read_text(encoding="utf-8")
    other = tmp_path / "storage" / run_file.parent.name
    other.mkdir(parents=True)
    shutil.copy2(run_file, other / run_file.name)
    (other / ("0002" + run_file.name[4:])).write_text(
        text.replace('"implementation": "faster-whisper"', '"implementation": "other-engine"'),
        encoding="utf-8",
    )
    latest = latest_results(load_history(tmp_path / "storage").runs)
    fig = plots.delay_wer_figure(latest)
    assert fig is not None
    FigureCanvasAgg(fig).draw()
    (ax,) = fig.axes
    assert ax.get_xlabel().startswith("median emission delay, s")
    assert ax.get_ylabel() == "WER % (lower is better)"
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert "faster-whisper (streamed; line to p90)" in labels
    assert "other-engine (streamed; line to p90)" in labels
    stream = next(case for _, case in latest if case.key.kind == "stream")
    p50 = stream.result.value("delay_p50_s")
    points = [tuple(line.get_xydata()[0]) for line in ax.lines if len(line.get_xydata()) == 1]
    assert any(abs(x - p50) < 1e-9 for x, _ in points)
    png = plots.delay_wer_plot(latest)
    assert png is not None and base64.b64decode(png).startswith(b"\x89PNG")


def test_no_stream_case_gives_no_delay_plot(gpu_storage: Path) -> None:
    assert plots.delay_wer_plot(latest_results(load_history(gpu_storage).runs)) is None
