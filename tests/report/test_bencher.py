"""``whisperbench report --format bencher``: Bencher Metric Format (BMF) JSON, one file per
machine (a Bencher testbed), checked against the JSON schema Bencher documents for BMF
(bencher.dev/docs/reference/bencher-metric-format), on recorded runs: the H100's newest runs
carry 95 % intervals (the bounds), the older CPU runs carry none (no bounds)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from whisperbench.cli import main
from whisperbench.history import load_history
from whisperbench.report import bencher
from whisperbench.results import metric

jsonschema = pytest.importorskip(
    "jsonschema", reason="the BMF schema check needs jsonschema (the dev extra)"
)

REPORTS = Path(__file__).resolve().parents[2] / "reports"
GPU_WITH_INTERVALS = REPORTS / "gpu" / "h100-22f1e5c" / "bench"
CPU_WITHOUT = REPORTS / "cpu" / "runs-7ee3082"

BMF_SCHEMA = {
    "$id": "https://bencher.dev/bmf.json",
    "$schema": "http://json-schema.org/draft-07/schema",
    "type": "object",
    "patternProperties": {
        ".+": {
            "type": "object",
            "patternProperties": {
                ".+": {
                    "type": "object",
                    "properties": {
                        "value": {"type": "number"},
                        "lower_value": {"type": "number"},
                        "upper_value": {"type": "number"},
                    },
                    "required": ["value"],
                }
            },
        }
    },
}
"""The schema of BMF JSON, as Bencher's reference documents it."""


@pytest.fixture
def two_machines(tmp_path: Path) -> Path:
    """A storage of the H100's runs with intervals and the CPU runs without, a folder each."""
    storage = tmp_path / "storage"
    for source in (GPU_WITH_INTERVALS, CPU_WITHOUT):
        for path in source.glob("*/*.json"):
            folder = storage / path.parent.name
            folder.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, folder / path.name)
    return storage


def _check_bmf(document: object) -> None:
    jsonschema.Draft7Validator.check_schema(BMF_SCHEMA)
    jsonschema.validate(document, BMF_SCHEMA, cls=jsonschema.Draft7Validator)
    assert isinstance(document, dict) and document
    for name, measures in document.items():
        assert 0 < len(name) <= bencher.NAME_LIMIT
        for slug, entry in measures.items():
            assert 0 < len(slug) <= bencher.SLUG_LIMIT and slug == slug.lower()
            assert set(entry) in ({"value"}, {"value", "lower_value", "upper_value"})
            if "lower_value" in entry:
                assert entry["lower_value"] <= entry["value"] <= entry["upper_value"]


def test_one_valid_file_per_machine_written_by_the_report(
    two_machines: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out"
    code = main(
        ["report", "--storage", str(two_machines), "--output", str(output), "--format", "bencher"]
    )
    assert code == 0, capsys.readouterr().err
    written = sorted(path.name for path in output.iterdir())
    assert written == [
        "bencher-amd-epyc-x2-24-gb-linux.json",
        "bencher-nvidia-h100-80gb-hbm3-linux.json",
    ]
    for name in written:
        _check_bmf(json.loads((output / name).read_text(encoding="utf-8")))


def test_bounds_are_the_intervals_the_runs_carry() -> None:
    history = load_history(GPU_WITH_INTERVALS)
    document = bencher.metrics_of(history.runs)
    _check_bmf(document)
    newest = {case.key.label: case for run in history.runs for case in run.cases}
    wer, rtfx = metric("wer"), metric("rtfx")
    bounded = 0
    for name, measures in document.items():
        case = newest[name]
        assert "rtfx" in measures
        assert ("wer" in measures) == (not case.result.synthetic)  # random weights: no WER
        for declared in (wer, rtfx):
            if case.value(declared) is None:
                continue
            entry = measures[bencher.measure_slug(declared)]
            assert entry["value"] == pytest.approx(declared.scaled(case.value(declared)))
            interval = declared.interval(case.result)
            if interval is None:
                assert "lower_value" not in entry
                continue
            bounded += 1
            assert entry["lower_value"] == pytest.approx(interval.low * declared.scale)
            assert entry["upper_value"] == pytest.approx(interval.high * declared.scale)
    assert bounded >= 20  # real intervals: WER over utterances, RTFx over rounds
    label = "transcribe transformers tiny.en ljspeech_LJ001-0008to0019 [cuda float16]"
    assert document[label]["wer"]["value"] == pytest.approx(1.860465, abs=1e-6)  # percent


def test_no_interval_no_bounds() -> None:
    document = bencher.metrics_of(load_history(CPU_WITHOUT).runs)
    _check_bmf(document)
    entries = [entry for measures in document.values() for entry in measures.values()]
    assert entries and all(set(entry) == {"value"} for entry in entries)
    assert not any("load" in name.split()[0] for name in document)  # no exported metric


def test_a_labelled_machine_is_its_own_testbed(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    for folder in ("office-m4", "nvidia-h100-80gb-hbm3-linux"):
        (storage / folder).mkdir(parents=True)
        for path in GPU_WITH_INTERVALS.glob("*/*.json"):
            shutil.copy2(path, storage / folder / path.name)
    files = bencher.export(load_history(storage))
    assert sorted(files) == [
        "bencher-nvidia-h100-80gb-hbm3-linux.json",
        "bencher-office-m4.json",
    ]
