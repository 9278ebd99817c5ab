"""A real suite run (slow): faster-whisper on tiny.en (bundled weights) on the short clip, and
the real-speech corpus, with the resource sampler at 0.1 s: each saved case holds its timeline
and, here (no RAPL, no GPU), the reason energy is absent; the session says it once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.bench_runs import run_benchmarks

from whisperbench.results import from_extra_info

pytestmark = pytest.mark.slow


def test_a_real_run_saves_each_cases_timeline_and_energys_reason(
    offline_hub_cache: Path, tmp_path: Path
) -> None:
    storage = tmp_path / "storage"
    done = run_benchmarks(
        offline_hub_cache,
        "--implementations=faster-whisper",
        "--clips=short",
        "--rounds=2",
        "--resource-interval=0.1",
        f"--benchmark-storage=file://{storage}",
        "--benchmark-autosave",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (saved,) = storage.glob("*/*.json")
    records = [
        from_extra_info(b["extra_info"]) for b in json.loads(saved.read_text())["benchmarks"]
    ]
    (case,) = [r for r in records if r.kind == "transcribe"]
    assert case.timeline is not None and case.timeline.interval_s == 0.1
    assert case.timeline.peak("rss_mb") is not None and len(case.timeline.t_s) >= 2
    assert case.timeline.timed_from_s is not None and case.timeline.timed_to_s is not None
    if case.energy_j_per_audio_hour is None:
        assert case.energy_absent_reason
        assert "energy per audio hour is absent for 1 case(s)" in done.stdout
    else:
        assert case.energy_method and case.energy_j_per_audio_hour > 0


def test_a_bad_interval_is_a_usage_error(offline_hub_cache: Path) -> None:
    done = run_benchmarks(offline_hub_cache, "--resource-interval=0")
    assert done.returncode == 4, done.stdout + done.stderr
    said = done.stdout + done.stderr
    assert "--resource-interval 0.0: give the seconds between resource samples" in said
