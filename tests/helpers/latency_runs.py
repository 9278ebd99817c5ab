"""The fast tier's one small real run of the latency track, and runs derived from it.

``latency_run``: ``pytest benchmarks/ -m stream`` in a subprocess (``bench_runs.run_suite``)
with faster-whisper on real tiny.en (imported by the suite itself from the bundled weights into
an empty cache folder) and one short real clip, ``REAL_CLIP`` (4.3 s of read speech, 17
words: enough words for the delays' intervals), saved into a pytest-benchmark storage.

``scaled_copy``: a copy of a saved run as a later run, its stream cases' emission delays
multiplied by a factor: an injected delay regression for ``check-regressions``, in the saved
data (no code is patched)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from helpers.bench_runs import run_suite
from whisperbench.datasets import FIXTURE_REALSPEECH_DIR

REAL_CLIP = FIXTURE_REALSPEECH_DIR / "fleurs_en-004.flac"
ENGINE = "faster-whisper"
DELAY_FIELDS = ("delay_mean_s", "delay_p50_s", "delay_p90_s")


def latency_run(storage: Path, cache_dir: Path) -> Path:
    """One real run of the latency track (first words and a stream of ``REAL_CLIP``)."""
    return run_suite(
        storage,
        cache_dir,
        f"--implementations={ENGINE}",
        f"--audio={REAL_CLIP}",
        "--rounds=2",
        "-m",
        "stream",
    )


def scaled_copy(path: Path, run_number: int, delay_factor: float = 1.0) -> Path:
    """A copy of the saved run ``path`` beside it as run ``run_number`` (saved that many
    minutes later), every stream case's emission delays times ``delay_factor``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for bench in data["benchmarks"]:
        info = bench["extra_info"]
        if info.get("kind") != "stream":
            continue
        info["delays_s"] = [delay * delay_factor for delay in info["delays_s"]]
        for name in DELAY_FIELDS:
            info[name] *= delay_factor
    when = datetime.fromisoformat(data["datetime"]) + timedelta(minutes=run_number)
    data["datetime"] = when.isoformat()
    copy = path.parent / f"{run_number:04d}_derived_{when:%Y%m%d_%H%M%S}.json"
    copy.write_text(json.dumps(data), encoding="utf-8")
    return copy
