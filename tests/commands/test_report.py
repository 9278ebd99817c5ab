"""``whisperbench report`` on real runs of the suite (see ``bench_runs.py``): the Markdown
tables, the HTML page with its embedded plots, and broken or foreign history files."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
from bench_runs import TIME_LIMIT, SuiteRuns, suite_runs, truncate

from whisperbench.cli import main
from whisperbench.history import load_history, load_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(offline_hub_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> SuiteRuns:
    return suite_runs(offline_hub_cache, tmp_path_factory)


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


def _images(page: str) -> dict[str, bytes]:
    found = re.findall(r'<img alt="([^"]+)" src="data:image/png;base64,([A-Za-z0-9+/=]+)">', page)
    return {alt: base64.b64decode(data) for alt, data in found}


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
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    worse = load_run(runs.worse).cases
    transcribe = next(case for case in worse if case.key.kind == "transcribe")
    assert cells[:3] == ["transformers", "tiny.en", "short"]
    assert cells[3] == f"{transcribe.median_s:.3f}"  # the newest run's median
    assert cells[5] == "50.0"  # every other word dropped
    assert cells[9:13] == ["cpu", "float32", "none", runs.worse.name[:4]]


def test_markdown_lists_the_newest_runs_regressions(report: dict[str, str]) -> None:
    md = report["md"]
    section = md.split("Regressions in the newest run", 1)[1]
    assert "median time" in section
    assert "WER 50.0% vs 0.0%" in section


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


def test_broken_and_foreign_history_files_are_reported_and_skipped(
    runs: SuiteRuns, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    storage = tmp_path / "storage"
    runs.into(storage, runs.baseline, runs.same)
    (truncated,) = runs.into(storage, runs.worse)
    truncate(truncated)
    # a pytest-benchmark run without whisperbench's extra_info (another project's benchmarks)
    foreign = json.loads(runs.baseline.read_text())
    for bench in foreign["benchmarks"]:
        bench["extra_info"] = {}
    foreign_path = storage / runs.machine / "0009_foreign.json"
    foreign_path.write_text(json.dumps(foreign))
    (storage / runs.machine / "0010_empty.json").write_text("")
    # a run of which one benchmark lacks extra_info: the run stays, that benchmark goes
    partial = json.loads(runs.same.read_text())
    partial["benchmarks"][0]["extra_info"] = {}
    partial["datetime"] = "2000-01-01T00:00:00+00:00"  # oldest: the newest results stay
    partial_path = storage / runs.machine / "0011_partial.json"
    partial_path.write_text(json.dumps(partial))
    # a run from another machine: kept, under its own heading
    (other,) = runs.into(storage, runs.same, machine="Darwin-CPython-3.12-64bit")

    out = tmp_path / "html"
    assert main(["report", "--storage", str(storage), "--output", str(out)]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "skipped" in line]
    assert len(lines) == 3, err
    assert any(str(truncated) in line and "not valid JSON" in line for line in lines)
    assert any(str(foreign_path) in line and "no whisperbench results" in line for line in lines)
    assert any("0010_empty.json" in line and "empty file" in line for line in lines)

    assert f"{partial_path}: 1 benchmark(s) left out: " in err

    md = (out / "summary.md").read_text()
    assert "4 run(s) from 2 machine(s)" in md
    assert f"## {runs.machine}: " in md
    assert "## Darwin-CPython-3.12-64bit: " in md
    assert "## Skipped history files" in md
    page = (out / "index.html").read_text()
    assert "not valid JSON" in page
    assert other.name in page

    history = load_history(storage)
    assert [run.path.name for run in history.for_machine(runs.machine)] == [
        partial_path.name,
        runs.baseline.name,
        runs.same.name,
    ]
    assert len(history.for_machine(runs.machine)[0].cases) == len(partial["benchmarks"]) - 1


def test_report_without_storage_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "--storage", str(tmp_path / "none"), "--output", str(tmp_path)]) == 2
    assert "no benchmark storage" in capsys.readouterr().err
