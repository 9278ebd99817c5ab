"""``whisperbench check-models`` and ``whisperbench download``, run for real."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from helpers.cache_helpers import TINY_CT2, copy_repos, make_fifo

from whisperbench import implementations
from whisperbench.cli import main
from whisperbench.commands._model_status import ModelStatus, inspect_rows
from whisperbench.weights import OFFLINE, WeightsStatus, estimate_download

UNREACHABLE = "http://127.0.0.1:9"
"""A hub endpoint that refuses connections: a real network error, without any network."""
DOWNLOAD = "download --model tiny.en --implementations faster-whisper"


def _cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "whisperbench.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200", **(env or {})},
    )


def _argv(line: str, cache: Path, *extra: str) -> list[str]:
    """``line`` split on spaces, then ``--cache-dir cache`` (a path may hold spaces)."""
    return [*line.split(), "--cache-dir", str(cache), *extra]


def _records(stdout: str) -> tuple[list[ModelStatus], dict[str, Any]]:
    payload = json.loads(stdout)
    return [ModelStatus.from_dict(item) for item in payload["records"]], payload["summary"]


def test_json_round_trips_and_exits_0_when_all_ready(offline_hub_cache: Path) -> None:
    line = "check-models --model tiny.en,base --implementations transformers,faster-whisper"
    result = _cli(*_argv(line + " --verify-method cache-only --json", offline_hub_cache))
    assert result.returncode == 0, result.stderr
    records, summary = _records(result.stdout)
    assert [(r.implementation, r.model, r.status) for r in records] == [
        (i, s, "complete") for i in ("transformers", "faster-whisper") for s in ("tiny.en", "base")
    ]
    assert json.loads(result.stdout)["records"] == [r.to_dict() for r in records]
    assert summary["counts"]["ready"] == 4 and summary["all_ready"]
    assert summary["download_needed_bytes"] == 0
    assert summary["free_disk_bytes"] > 0


def test_missing_models_exit_1_with_fixes_and_unknown_download(
    offline_hub_cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    line = "check-models --model all --implementations all --verify-method cache-only --json"
    code = main(_argv(line, offline_hub_cache))
    assert code == 1
    records, summary = _records(capsys.readouterr().out)
    by_key = {(r.implementation, r.model): r for r in records}
    assert by_key["faster-whisper", "tiny.en"].ready
    medium = by_key["transformers", "medium"]
    assert medium.status == "missing" and medium.repo_id == "openai/whisper-medium"
    assert medium.fix and "whisperbench download --model medium" in medium.fix
    # Every model not in the cache is missing; an engine whose package is not installed here
    # (lightning-whisper-mlx is not in the dev extras) is an error that says so, cached or not.
    not_ready = [r for r in records if not r.ready]
    unavailable = [r for r in not_ready if r.status == "error"]
    assert all("is not available here" in (r.reason or "") for r in unavailable), unavailable
    assert summary["counts"]["missing"] == len(not_ready) - len(unavailable)
    assert summary["download_needed"] == OFFLINE and summary["download_needed_bytes"] is None


def test_table_and_summary(
    offline_hub_cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "220")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    line = "check-models --model tiny.en,small --implementations faster-whisper"
    code = main(_argv(line + " --verify-method cache-only", offline_hub_cache))
    out = capsys.readouterr().out
    assert code == 1
    for column in ("Implementation", "Model", "Repo", "Status", "Size (MB)", "Reason"):
        assert column in out
    assert "Systran/faster-whisper-tiny.en" in out and "complete" in out and "missing" in out
    assert "ready 1 · incomplete 0 · missing 1" in out
    assert "free disk:" in out and f"download still needed: {OFFLINE}" in out
    assert "fix: whisperbench download --model small --implementations faster-whisper" in out
    fix = next(line for line in out.splitlines() if line.startswith("fix: "))
    assert fix.count(f"--cache-dir {offline_hub_cache}") == 2  # the download and the import


def test_unavailable_implementation_is_a_row_not_a_crash(
    offline_hub_cache: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(implementations.REGISTERED, "ghost", "no_such_package.ghost:Ghost")
    line = "check-models --model tiny.en --implementations ghost,faster-whisper"
    code = main(_argv(line + " --verify-method cache-only --json", offline_hub_cache))
    records, _ = _records(capsys.readouterr().out)
    assert code == 1
    assert [(r.implementation, r.status) for r in records] == [
        ("ghost", "error"),
        ("faster-whisper", "complete"),
    ]
    assert "cannot be imported" in records[0].reason


def test_unavailable_implementation_is_an_error_record(
    offline_hub_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(implementations.REGISTERED, "ghost", "no_such_package.ghost:Ghost")
    monkeypatch.setitem(sys.modules, "faster_whisper", None)  # as if it were not installed
    ghost, absent, real = inspect_rows(
        ["ghost", "faster-whisper", "transformers"], ["tiny.en"], cache_dir=offline_hub_cache
    )
    assert ghost.status == "error" and "no_such_package" in ghost.reason
    assert ghost.repo_id is None and ghost.fix is None
    assert absent.status == "error" and absent.fix is None
    assert "faster-whisper is not available here" in absent.reason
    assert "(cache: complete: " in absent.reason  # the files are there all the same
    assert (real.status, real.implementation, real.format) == (
        "complete",
        "transformers",
        "transformers",
    )
    assert list(real.to_dict())[:3] == ["status", "implementation", "model"]


def test_a_load_past_the_limit_times_out_and_the_command_returns(
    offline_hub_cache: Path,
) -> None:
    """A limit no load can meet: the child is killed at it, and the row says ``timeout``."""
    if "faster-whisper" not in implementations.available_names():
        pytest.skip("needs faster-whisper")
    start = time.monotonic()
    line = "check-models --model tiny.en --implementations faster-whisper --verify-timeout 0.001"
    result = _cli(*_argv(line + " --json", offline_hub_cache), timeout=60)
    elapsed = time.monotonic() - start
    assert result.returncode == 1, result.stderr
    (record,), summary = _records(result.stdout)
    assert record.status == "timeout" and record.limit_s == 0.001
    assert "0.001 s" in record.reason
    assert summary["counts"]["timeout"] == 1
    assert elapsed < 30, f"check-models took {elapsed:.1f} s"


def test_a_named_pipe_in_place_of_the_weights_is_an_error_found_without_loading(
    offline_hub_cache: Path, tmp_path: Path
) -> None:
    """Issue 14, case 9: the file is there but cannot be read; no load (which would hang on
    the pipe until the limit) is tried, and the fix re-imports it."""
    if "faster-whisper" not in implementations.available_names() or not hasattr(os, "mkfifo"):
        pytest.skip("needs faster-whisper and named pipes (POSIX)")
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_CT2)
    make_fifo(cache, TINY_CT2, "model.bin")
    start = time.monotonic()
    line = "check-models --model tiny.en --implementations faster-whisper --verify-timeout 30"
    result = _cli(*_argv(line + " --json", cache), timeout=60)
    assert result.returncode == 1, result.stderr
    (record,), _ = _records(result.stdout)
    assert record.status == "error" and record.load_s is None
    assert "model.bin (a named pipe)" in record.reason and "not a regular file" in record.reason
    assert record.fix is not None and "import-model --bundled tiny.en" in record.fix
    assert time.monotonic() - start < 25


def _one_offline_line(text: str, why: str) -> None:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert why in lines[0]
    assert "whisperbench import-model" in lines[0] and "import-model --bundled tiny.en" in lines[0]


def test_download_with_hf_hub_offline_names_import_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(_argv(DOWNLOAD, tmp_path / "hub"))
    assert code == 1
    _one_offline_line(capsys.readouterr().out, "HF_HUB_OFFLINE")


@pytest.mark.slow
def test_download_without_a_connection_names_import_model(tmp_path: Path) -> None:
    offline = {"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": UNREACHABLE}
    result = _cli(*_argv(DOWNLOAD, tmp_path / "hub"), env=offline)
    assert result.returncode == 1, result.stderr
    _one_offline_line(result.stdout, "cannot reach")


def test_download_estimate_is_unknown_when_the_hub_is_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huggingface_hub import HfApi

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    missing = WeightsStatus("missing", "tiny.en", "ctranslate2", TINY_CT2, None, 0, None, "gone")
    start = time.monotonic()
    estimate = estimate_download([missing], api=HfApi(endpoint=UNREACHABLE))
    assert estimate.bytes is None and estimate.describe() == OFFLINE
    assert time.monotonic() - start < 5
    assert estimate_download([]).bytes == 0
