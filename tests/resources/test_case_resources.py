"""A case's resources end to end on the fake engine (fast): the timeline and the energy of its
timed rounds alone in the record, through the codec and back, the report's timeline plot for the
slowest case of each engine, and runs saved before (``reports/``) still loading."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from whisperbench.audio import fixture_clip_path, load_clip
from whisperbench.history import load_history
from whisperbench.implementations import ImplementationOptions, TranscriptionResult
from whisperbench.implementations.fake import FakeWhisper, saying
from whisperbench.report import plots
from whisperbench.report.html import html_report
from whisperbench.report.select import latest_results
from whisperbench.resources.energy import RaplMeter, rapl_zones
from whisperbench.results import TranscribeResult, from_extra_info, to_extra_info
from whisperbench.suite import resource_watch
from whisperbench.suite.measure import measure_transcription
from whisperbench.suite.pool import LoadedModel

ROUNDS, WARMUP = 3, 2


def working(text: str, seconds: float, on_call: Any = None) -> Any:
    """A handler that works for ``seconds`` (a real workload: it allocates and computes)."""
    said = saying(text)

    def handler(audio: np.ndarray) -> TranscriptionResult:
        if on_call is not None:
            on_call()
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            np.sort(np.random.default_rng(0).random(20_000))
        return said(audio)

    return handler


def measured_case(bench: Any, seconds: float, name: str = "fake", on_call: Any = None) -> Any:
    engine = FakeWhisper(
        ImplementationOptions(device="cpu"), handler=working("and so my fellow", seconds, on_call)
    )
    engine.name = name
    engine.load(None, engine.get_model_info("tiny.en"))
    clip = load_clip(fixture_clip_path("short"))
    return measure_transcription(
        bench,
        LoadedModel(engine, "tiny.en", "tiny.en", 0.001, 1.0),
        clip,
        rounds=ROUNDS,
        warmup_rounds=WARMUP,
        resource_interval_s=0.02,
    )


def test_a_case_records_its_timeline_and_why_energy_is_absent(stand_in_benchmark: Any) -> None:
    bench = stand_in_benchmark()
    result = measured_case(bench, 0.04).result
    assert isinstance(result, TranscribeResult)
    timeline = result.timeline
    assert timeline is not None and timeline.interval_s == 0.02
    assert len(timeline.t_s) >= 5 and list(timeline.t_s) == sorted(timeline.t_s)
    assert timeline.peak("rss_mb") is not None and timeline.peak("rss_mb") > 10
    assert timeline.timed_from_s is not None and timeline.timed_to_s is not None
    assert 0 < timeline.timed_from_s < timeline.timed_to_s <= timeline.t_s[-1]
    # the timed span, each end rounded to the millisecond: at least the rounds' work, less 1 ms
    assert timeline.timed_to_s - timeline.timed_from_s >= ROUNDS * 0.04 - 0.001
    if isinstance(resource_watch.meter_for("cpu"), RaplMeter):
        pytest.skip("this machine reads RAPL")
    assert result.energy_j_per_audio_hour is None and result.energy_method is None
    assert result.energy_absent_reason and "RAPL" in result.energy_absent_reason
    assert result.nvml_peak_device_mb is None  # a CPU case

    written = json.loads(json.dumps(to_extra_info(result)))
    assert written["timeline"]["rss_mb"] and written["energy_j_per_audio_hour"] is None
    assert from_extra_info(written) == result


def test_energy_covers_the_timed_rounds_alone(
    stand_in_benchmark: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A RAPL counter (real files) that each call of the engine advances by 1 J: the cold run
    and the warm-up leave it out, the timed rounds count ROUNDS joules."""
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "energy_uj").write_text("0")
    (zone / "max_energy_range_uj").write_text(str(10**12))
    zones = rapl_zones(tmp_path)
    assert isinstance(zones, list)
    monkeypatch.setattr(resource_watch, "meter_for", lambda device: RaplMeter(zones))

    def one_joule() -> None:
        energy = zone / "energy_uj"
        energy.write_text(str(int(energy.read_text()) + 1_000_000))

    result = measured_case(stand_in_benchmark(), 0.01, on_call=one_joule).result
    assert isinstance(result, TranscribeResult) and result.audio_s
    assert result.energy_j == pytest.approx(ROUNDS)
    assert result.energy_j_per_audio_hour == pytest.approx(
        ROUNDS * 3600 / (ROUNDS * result.audio_s)
    )
    assert result.energy_method is not None and result.energy_method.startswith("RAPL")
    assert result.energy_absent_reason is None
    assert result.energy_note is not None and "--rounds" in result.energy_note  # < 1 s timed
    again = from_extra_info(json.loads(json.dumps(to_extra_info(result))))
    assert again == result


def test_the_report_plots_the_timeline_of_each_engines_slowest_case(
    stand_in_benchmark: Any, tmp_path: Path
) -> None:
    folder = tmp_path / "storage" / "Linux-CPython-3.11-64bit"
    folder.mkdir(parents=True)
    saved = []
    for name, seconds in (("fake", 0.01), ("fake", 0.03), ("other", 0.01)):
        bench = stand_in_benchmark()
        measured_case(bench, seconds, name)
        saved.append(bench.saved(f"test_transcribe[{name}-tiny.en-short-{seconds}]"))
        saved[-1]["extra_info"]["clip"] = f"short-{seconds}"
    run = {
        "machine_info": {"system": "Linux"},
        "commit_info": {"id": "c1"},
        "datetime": "2026-12-06T00:00:00+00:00",
        "benchmarks": saved,
    }
    (folder / "0001_run.json").write_text(json.dumps(run))
    history = load_history(folder.parent)
    latest = latest_results(history.runs)
    chosen = plots.slowest_per_engine(latest)
    assert [(c.key.implementation, c.key.clip) for c in chosen] == [
        ("fake", "short-0.03"),
        ("other", "short-0.01"),
    ]
    image = plots.timeline_plot(latest)
    assert image is not None
    data = base64.b64decode(image)
    assert data.startswith(b"\x89PNG") and len(data) > 5000
    (tmp_path / "timeline.png").write_bytes(data)
    page = html_report(history)
    assert "Resources over the slowest case of each engine" in page
    assert "Energy per audio hour is absent" in page or "J/audio h" in page


def test_runs_saved_before_still_load_with_no_resource_fields(
    recorded_storages: tuple[Path, ...],
) -> None:
    """Runs recorded before schema 3 (every folder of ``reports/`` but the cost runs of issue
    24, which measured energy) load with no resource fields, and no reason for their absence."""
    before = [s for s in recorded_storages if _schema(s) < 3]
    assert len(before) < len(recorded_storages)  # the cost runs are schema 3
    records = [
        case.result
        for storage in before
        for run in load_history(storage).runs
        for case in run.cases
    ]
    assert len(records) > 100
    assert all(r.timeline is None and r.energy_j_per_audio_hour is None for r in records)
    assert all(r.energy_absent_reason is None for r in records)  # not measured: no reason


def _schema(storage: Path) -> int:
    """The highest ``schema_version`` its runs were saved with (1 where none is written)."""
    versions = [
        bench.get("extra_info", {}).get("schema_version", 1)
        for path in storage.rglob("*.json")
        for bench in json.loads(path.read_text())["benchmarks"]
    ]
    return max(versions, default=1)
