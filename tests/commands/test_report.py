"""``whisperbench report``.

Fast: on the runs recorded under ``reports/`` (the H100 history at 4e2b31c, with its change of
batch size) and on copies of a recorded run with a known change: the formats, the files, the
like-for-like history, broken files.

Slow: on real runs of the suite (``bench_runs.py``): the Markdown tables, the HTML page with its
embedded plots, the regressions injected into the third run."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from helpers.bench_runs import TIME_LIMIT, SuiteRuns, suite_runs

from whisperbench.cli import main
from whisperbench.history import load_run

if TYPE_CHECKING:
    from conftest import VariantStorage


@pytest.fixture(scope="module")
def runs(offline_hub_cache: Path, session_folder: Path) -> SuiteRuns:
    return suite_runs(offline_hub_cache, session_folder)


@pytest.fixture(scope="module")
def report(runs: SuiteRuns, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The report of all three runs, written once for the tests that read it."""
    storage = tmp_path_factory.mktemp("report-storage")
    runs.into(storage, runs.baseline, runs.same, runs.worse)
    out = tmp_path_factory.mktemp("report-out")
    code = main(["report", "--storage", str(storage), "--output", str(out), "--time", TIME_LIMIT])
    assert code == 0
    return {
        "md": (out / "summary.md").read_text(encoding="utf-8"),
        "html": (out / "index.html").read_text(encoding="utf-8"),
    }


def table_cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _images(page: str) -> dict[str, bytes]:
    found = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    return {alt: base64.b64decode(data) for alt, data in found}


@pytest.mark.slow
def test_markdown_has_a_table_per_machine_with_every_column(
    report: dict[str, str], runs: SuiteRuns
) -> None:
    md = report["md"]
    assert f"## {runs.machine}: " in md
    header = next(line for line in md.splitlines() if line.startswith("| Implementation"))
    for column in ("Median s", "RTFx", "WER %", "Load s", "Peak RSS MB", "Device", "dtype"):
        assert f"| {column} |" in header
    assert "Quantisation" in header
    row = next(line for line in md.splitlines() if line.startswith("| transformers | tiny.en"))
    cells = dict(zip(table_cells(header), table_cells(row), strict=True))
    worse = load_run(runs.worse).cases
    transcribe = next(case for case in worse if case.key.kind == "transcribe")
    assert [cells["Implementation"], cells["Model"], cells["Clip"]] == [
        "transformers",
        "tiny.en",
        "short",
    ]
    assert cells["Median s"] == f"{transcribe.median_s:.3f}"  # the newest run's median
    assert cells["WER %"] == "50.0"  # every other word dropped
    assert cells["Repeats"] == "0"
    assert [cells["Device"], cells["dtype"], cells["Quantisation"], cells["Run"]] == [
        "cpu",
        "float32",
        "none",
        runs.worse.name[:4],
    ]


@pytest.mark.slow
def test_markdown_lists_the_newest_runs_regressions(report: dict[str, str]) -> None:
    md = report["md"]
    section = md.split("Regressions in the newest run", 1)[1]
    assert "median time" in section
    assert "WER 50.0% vs 0.0%" in section


@pytest.mark.slow
def test_html_is_self_contained_with_the_plots(report: dict[str, str], runs: SuiteRuns) -> None:
    page = report["html"]
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    images = _images(page)
    assert "RTFx by model and implementation" in images
    assert "WER against RTFx" in images
    case = "transcribe transformers tiny.en short [cpu float32]"
    assert f"history of {case}" in images
    assert "history of load transformers tiny.en [cpu float32]" in images
    for png in images.values():
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(png) > 5_000  # a drawn figure, not an empty canvas


@pytest.mark.slow
def test_html_marks_regressions_and_shows_machine_facts_and_commits(
    report: dict[str, str], runs: SuiteRuns
) -> None:
    page = report["html"]
    regressions = page.split("<ul class='regression'>", 1)[1].split("</ul>", 1)[0]
    worse_id = runs.worse.name[:4]
    assert f"run {worse_id} (" in regressions
    assert "WER 50.0% vs 0.0%" in regressions
    assert "median time" in regressions
    for path in (runs.baseline, runs.same, runs.worse):
        commit = json.loads(path.read_text())["commit_info"]["id"]
        assert commit in page
        assert path.name in page
    assert "Machine facts" in page
    assert "torch_threads" in page
    assert "version: torch" in page


def test_report_without_storage_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--storage", str(tmp_path / "none"), "--output", str(tmp_path)]) == 2
    assert "no benchmark storage" in capsys.readouterr().err


# -- fast: recorded runs ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def gpu_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``whisperbench report`` of reports/gpu/h100-4e2b31c in every format, written once."""
    out = tmp_path_factory.mktemp("gpu-report")
    storage = Path(__file__).resolve().parents[2] / "reports" / "gpu" / "h100-4e2b31c"
    argv = ["report", "--storage", str(storage), "--output", str(out), "--format", "md,html,json"]
    assert main(argv) == 0
    return out


def test_every_format_is_written(gpu_report: Path) -> None:
    assert sorted(p.name for p in gpu_report.iterdir()) == [
        "benchmark-bigger-is-better.json",
        "benchmark-smaller-is-better.json",
        "index.html",
        "summary.md",
    ]


def test_a_change_of_batch_size_is_shown_as_such_not_as_a_regression(gpu_report: Path) -> None:
    """Issue 11: run 0003 ran ours at batch 24 after batch 64 in run 0002, same test ID; the
    report flagged it "+42.8%, over median:10%"."""
    page = (gpu_report / "index.html").read_text(encoding="utf-8")
    assert "+42.8%" not in page
    assert "over median:10%" not in page
    assert "No regressions in the saved history." in page
    changes = page.split("<ul class='config'>", 1)[1].split("</ul>", 1)[0]
    assert (
        "run 0003 (unknown, 2026-11-24 08:27): transcribe transformers tiny.en long-x2 "
        "[cuda float16]: config changed: batch_size 64 -&gt; 24"
    ) in changes
    assert "history of transcribe transformers tiny.en long-x2 [cuda float16]" in _images(page)


def test_the_summary_shows_every_report_metric_and_the_batch(gpu_report: Path) -> None:
    from whisperbench.report.select import summary_metrics

    md = (gpu_report / "summary.md").read_text(encoding="utf-8")
    header_line = next(line for line in md.splitlines() if line.startswith("| Implementation"))
    header = table_cells(header_line)
    shown = summary_metrics()  # the report's metrics but the latency track's (a table apart)
    assert [m.label for m in shown] == header[3 : 3 + len(shown)]
    rows = [
        dict(zip(header, table_cells(line), strict=True))
        for line in md.splitlines()
        if line.startswith("| transformers")
    ]
    ours = next(r for r in rows if r["Model"] == "tiny.en" and r["Clip"] == "long-x2")
    assert ours["Batch"] == "24" and ours["Run"] == "0003"
    assert ours["RTFx"] == "2819.5" and ours["WER %"] == "14.7"
    assert ours["Repeats"] == "–"  # recorded before the metric existed
    assert "Regressions in the newest run" not in md


def test_the_json_export_is_what_github_action_benchmark_reads(gpu_report: Path) -> None:
    bigger = json.loads((gpu_report / "benchmark-bigger-is-better.json").read_text())
    smaller = json.loads((gpu_report / "benchmark-smaller-is-better.json").read_text())
    for entries in (bigger, smaller):
        assert isinstance(entries, list) and entries
        for entry in entries:
            assert set(entry) == {"name", "unit", "value", "extra"}
            assert isinstance(entry["value"], float | int)
        assert len({e["name"] for e in entries}) == len(entries)
    assert {e["unit"] for e in bigger} == {"x"}
    assert all(" RTFx (Linux-CPython-3.12-64bit)" in e["name"] for e in bigger)
    assert {e["unit"] for e in smaller} == {"%"}  # no repeated n-grams saved in these runs
    ours = next(
        e for e in bigger if e["name"].startswith("transcribe transformers tiny.en long-x2")
    )
    assert ours["value"] == pytest.approx(2819.525, abs=0.001)
    assert "run 0003" in ours["extra"] and "batch_size=24" in ours["extra"]


def test_formats_are_chosen_and_a_wrong_one_is_a_usage_error(
    tmp_path: Path, cpu_storage: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "md-only"
    assert (
        main(["report", "--storage", str(cpu_storage), "--output", str(out), "--format", "md"]) == 0
    )
    assert [p.name for p in out.iterdir()] == ["summary.md"]
    assert f"wrote {out / 'summary.md'}" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--storage", str(cpu_storage), "--output", str(out), "--format", "pdf"])
    assert exit_info.value.code == 2
    assert "unknown format pdf; choose from md, html, json" in capsys.readouterr().err


def test_regressions_of_the_newest_run_are_listed(variants: VariantStorage, tmp_path: Path) -> None:
    variants.add("0001", repeats=0)
    variants.add("0002", slower=1.5, wer_points=2.0, repeats=1)
    out = tmp_path / "out"
    assert (
        main(["report", "--storage", str(variants.root), "--output", str(out), "--format", "md"])
        == 0
    )
    md = (out / "summary.md").read_text()
    section = md.split("Regressions in the newest run", 1)[1]
    assert section.startswith(
        " (against the median of up to 5 earlier run(s) of the same configuration; limits: "
        "median:10%, WER +1 points, repeated 8-grams +0, time to first words 25%, median "
        "emission delay 25%, streamed WER +1 points):"
    )
    line = next(
        row
        for row in section.splitlines()
        if "faster-whisper tiny.en short" in row and "WER" in row
    )
    assert line.endswith(
        "WER 2.0% vs 0.0% (median of 1 run(s)): +2.0 points, over 1"
        " (limit alone, no interval: no per-utterance errors saved)"
    )
    assert "repeated 8-grams 1 vs 0 (median of 1 run(s)): +1, over 0" in section
    assert "+50.0%, over median:10%" in section


def test_broken_and_foreign_history_files_are_reported_and_skipped(
    variants: VariantStorage,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    broken_copies: Any,
) -> None:
    good = variants.add("0001")
    broken_copies(good, good.parent)
    variants.add("0005", machine="Darwin-CPython-3.12-64bit")
    out = tmp_path / "html"
    assert (
        main(["report", "--storage", str(variants.root), "--output", str(out), "--format", "md"])
        == 0
    )
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "skipped" in line]
    assert len(lines) == 3, err
    assert any("0002_truncated.json" in line and "not valid JSON" in line for line in lines)
    assert any("0003_empty.json" in line and "empty file" in line for line in lines)
    assert any("0004_foreign.json" in line and "no whisperbench results" in line for line in lines)
    md = (out / "summary.md").read_text()
    assert "2 run(s) from 2 machine(s)" in md
    assert "## Darwin-CPython-3.12-64bit: " in md
    assert "## Skipped history files" in md
