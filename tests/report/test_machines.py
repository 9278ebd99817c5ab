"""The per-device leaderboard (``report/machines.py``) on runs recorded on two machines: 2 CPU
cores (7ee3082) and an H100 (4e2b31c, and 22f1e5c whose runs carry per-utterance errors):
machines grouped by what they are (never by hostname), a team's label kept, engines ranked
per model size and device with the verdict line, and the same engine and model across
machines in one table and one plot."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from whisperbench.fleet import machines as fleet
from whisperbench.history import History, load_history
from whisperbench.report import machines, plots
from whisperbench.report.html import across_plot, html_report
from whisperbench.report.markdown import markdown_summary
from whisperbench.results import metric
from whisperbench.verdict import verdicts

REPORTS = Path(__file__).resolve().parents[2] / "reports"
CPU = REPORTS / "cpu" / "runs-7ee3082"
H100_OLD = REPORTS / "gpu" / "h100-4e2b31c"
H100_NEW = REPORTS / "gpu" / "h100-22f1e5c" / "bench"
HOSTNAME = "build-box-7.corp.example"


def _copy(source: Path, folder: Path, hostname: str | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in [*source.glob("*.json"), *source.glob("*/*.json")]:
        data = json.loads(path.read_text(encoding="utf-8"))
        if hostname:
            data["machine_info"]["node"] = hostname
        (folder / path.name).write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture
def fleet_storage(tmp_path: Path) -> Path:
    """The CPU run, and the H100's runs of two commits in two folders (a local storage's and
    a published one's): two machines."""
    storage = tmp_path / "storage"
    _copy(CPU, storage / "Linux-CPython-3.11-64bit", hostname=HOSTNAME)
    _copy(H100_OLD, storage / "Linux-CPython-3.12-64bit")
    _copy(H100_NEW, storage / "nvidia-h100-80gb-hbm3-linux")
    return storage


def test_runs_are_grouped_by_what_the_machine_is(fleet_storage: Path) -> None:
    grouped = machines.machines(load_history(fleet_storage))
    assert [m.name for m in grouped] == ["AMD EPYC x2, 24 GB", "NVIDIA H100 80GB HBM3"]
    cpu, gpu = grouped
    assert [len(runs) for runs in grouped.values()] == [1, 9]  # both H100 folders pooled
    assert (cpu.accelerator, cpu.memory, cpu.os) == ("no GPU", "24 GB RAM", "Linux 6.18")
    assert cpu.torch == "torch 2.13.0+cpu"
    assert gpu.accelerator == "NVIDIA H100 80GB HBM3 (79.2 GB)"
    assert (gpu.cpu, gpu.memory, gpu.torch) == (
        "Intel Xeon Processor x16",
        "126 GB RAM",
        "torch 2.11.0, CUDA 13.0",
    )
    assert not cpu.labelled and not gpu.labelled


def test_a_label_names_its_machine_and_a_hostname_never_does(fleet_storage: Path) -> None:
    shutil.copytree(fleet_storage / "Linux-CPython-3.11-64bit", fleet_storage / "office-ci-2")
    history = load_history(fleet_storage)
    grouped = machines.machines(history)
    assert [m.name for m in grouped] == [
        "AMD EPYC x2, 24 GB",
        "NVIDIA H100 80GB HBM3",
        "office-ci-2",
    ]
    labelled = list(grouped)[2]
    assert labelled.labelled and machines.titles(list(grouped))[labelled] == (
        "office-ci-2 (no GPU; AMD EPYC x2; 24 GB RAM; Linux 6.18; torch 2.13.0+cpu)"
    )
    section = "\n".join(machines.markdown_section(history))
    assert "### office-ci-2 (no GPU" in section
    assert HOSTNAME not in section and HOSTNAME not in "\n".join(machines.html_section(history))
    run = history.for_machine("office-ci-2")[0]
    assert fleet.label_of(run) == "office-ci-2"
    assert fleet.label_of(history.for_machine("nvidia-h100-80gb-hbm3-linux")[0]) is None


def test_engines_ranked_per_model_and_device_with_the_verdict_line(fleet_storage: Path) -> None:
    history = load_history(fleet_storage)
    grouped = machines.machines(history)
    gpu_runs = list(grouped.values())[1]
    (board,) = [b for b in machines.boards(gpu_runs) if b.model == "tiny.en"]
    assert board.device == "cuda"
    ranks = [(row[0], row[1], row[2], row[6]) for row in board.rows]
    assert ranks == [
        ("1", "transformers", "5.17.0", ""),
        ("2", "transformers-reference", "5.17.0", "significantly less accurate"),
    ]
    assert board.rows[0][5] == "most accurate"
    assert board.rows[1][5].startswith("+") and "p=" in board.rows[1][5]
    from whisperbench.report.select import latest_results

    (expected,) = [
        v for v in verdicts(c for _, c in latest_results(gpu_runs)) if v.model == "tiny.en"
    ]
    assert board.line == expected.line()
    assert "fastest at equal accuracy: transformers" in board.line
    cpu_boards = machines.boards(next(iter(grouped.values())))
    assert [(b.model, b.device) for b in cpu_boards] == [("tiny.en", "cpu"), ("base", "cpu")]
    versions = {row[1]: row[2] for b in cpu_boards for row in b.rows}
    assert versions["faster-whisper"] == "1.2.1" and versions["transformers"] == "5.23.0"


def test_the_same_engine_and_model_across_machines(fleet_storage: Path) -> None:
    history = load_history(fleet_storage)
    groups = machines.across(history)
    slots = [(g[0].implementation, g[0].model, g[0].subject) for g in groups]
    assert ("transformers", "tiny.en", "long") in slots
    long = groups[slots.index(("transformers", "tiny.en", "long"))]
    assert [row.machine for row in long] == ["NVIDIA H100 80GB HBM3", "AMD EPYC x2, 24 GB"]
    gpu, cpu = long
    assert gpu.case.key.device == "cuda" and cpu.case.key.device == "cpu"
    rows = {(r[0], r[1], r[2], r[3]): r for r in machines.across_rows(groups)}
    cpu_row = rows[("transformers", "tiny.en", "long", "AMD EPYC x2, 24 GB")]
    assert cpu_row[7] == f"{(cpu.rtfx or 0) / (gpu.rtfx or 1):.2f}x"
    assert cpu_row[6] == f"{metric('wer').scaled(cpu.case.value(metric('wer'))):.1f}"
    gpu_row = rows[("transformers", "tiny.en", "long", "NVIDIA H100 80GB HBM3")]
    assert gpu_row[4] == "cuda float16" and gpu_row[7] == "1.00x"
    # every group ran on both machines; nothing that ran on one machine only
    assert all(len({row.machine for row in group}) == len(group) == 2 for group in groups)
    assert ("transformers", "tiny.en", "ljspeech_LJ001-0008to0019") not in slots
    figure = plots.across_machines(groups)
    texts = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert any(text.endswith(f", WER {cpu_row[6]}%") for text in texts)


def test_the_report_shows_it_for_two_machines_and_not_for_one(fleet_storage: Path) -> None:
    two = load_history(fleet_storage)
    summary = markdown_summary(two)
    assert "## Leaderboard per machine" in summary
    assert "### NVIDIA H100 80GB HBM3" in summary and "#### tiny.en on cuda" in summary
    assert "## Same engine and model across machines" in summary
    section = "\n".join(machines.html_section(two, across_plot))  # the page's leaderboard part
    assert "<h2>Leaderboard per machine</h2>" in section
    assert 'alt="RTFx and WER of the same engine and model across machines"' in section
    one = History(storage=two.storage, runs=two.for_machine("Linux-CPython-3.11-64bit"))
    assert "Leaderboard" not in markdown_summary(one)
    assert machines.html_section(one, across_plot) == []


@pytest.mark.slow
def test_the_whole_page_of_two_machines_holds_the_leaderboard(fleet_storage: Path) -> None:
    """The page end to end (a plot per case of both machines: slow)."""
    page = html_report(load_history(fleet_storage))
    assert "<h2>Leaderboard per machine</h2>" in page
    assert 'alt="RTFx and WER of the same engine and model across machines"' in page
