"""``summary.md`` from saved runs: a table per machine, the newest run's regressions and
changes of configuration, the skipped files."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from whisperbench.history import load_history
from whisperbench.regressions import Limits
from whisperbench.report.markdown import markdown_summary

if TYPE_CHECKING:
    from conftest import VariantStorage


def test_a_table_per_machine_with_its_versions(cpu_storage: Path) -> None:
    md = markdown_summary(load_history(cpu_storage))
    assert md.startswith("# whisperbench results\n\n1 run(s) from 1 machine(s) in ")
    assert "## Linux-CPython-3.11-64bit: AMD EPYC" in md
    assert "Versions: whisperbench 0.1.0, torch 2.13.0+cpu, transformers 5.23.0" in md
    assert "(uncommitted changes)" in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and "---" not in line]
    assert len(rows) == 1 + 12  # the header and 3 engines x 2 sizes x 2 clips
    assert "| faster-whisper | tiny.en | long | 4.199 | 78.4 | 9.5 | – |" in md


def test_the_newest_runs_regressions_and_configuration_changes(variants: VariantStorage) -> None:
    variants.add("0001", repeats=0)
    variants.add("0002", repeats=0)
    variants.add("0003", repeats=5, params={"beam_size": 5}, machine=None)
    md = markdown_summary(load_history(variants.root), Limits())
    assert "Regressions in the newest run" not in md  # beam 5 has no history: not judged
    changes = md.split("Configuration changes in the newest run", 1)[1]
    assert "- transcribe transformers tiny.en short [cpu float32]: config changed: " in changes
    assert "beam_size 1 -> 5" in changes
    variants.add("0004", repeats=7, params={"beam_size": 5})
    md = markdown_summary(load_history(variants.root), Limits())
    section = md.split("Regressions in the newest run", 1)[1]
    assert "repeated 8-grams 7 vs 5 (median of 1 run(s)): +2, over 0" in section


def test_skipped_files_are_listed(variants: VariantStorage) -> None:
    path = variants.add("0001")
    (path.parent / "0002_empty.json").write_text("")
    md = markdown_summary(load_history(variants.root))
    assert md.rstrip().endswith("0002_empty.json: skipped: empty file")
    assert "## Skipped history files" in md


def test_runs_saved_before_the_evidence_load_and_the_report_says_so(cpu_storage: Path) -> None:
    md = markdown_summary(load_history(cpu_storage))
    verdict = md.split("## Verdict", 1)[1].split("\n## ", 1)[0]
    assert "- Linux-CPython-3.11-64bit: cpu, tiny.en: fastest: faster-whisper (RTFx " in verdict
    assert (
        "accuracy cannot be compared: no per-utterance errors saved (runs saved before "
        "whisperbench recorded them)"
    ) in verdict
    assert "*no interval for WER: no per-utterance errors saved (" in md
    assert "saved before whisperbench recorded them.*" in md
    assert "| faster-whisper | tiny.en | long | 4.199 | 78.4 | 9.5 | – |" in md  # no brackets
