"""Verification by loading, in a child process killed at the limit: each format's own loader on
the real imported weights, damaged copies, and a load that hangs."""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import pytest
from helpers.cache_helpers import (
    TINY_CT2,
    TINY_TF,
    blob_of,
    copy_repos,
    make_fifo,
    replace_blob,
    snapshot,
)

from whisperbench.models import get_model
from whisperbench.weights import inspect, provide
from whisperbench.weights.formats import get_format
from whisperbench.weights.verify import run_verify_load

pytestmark = pytest.mark.slow
needs_ctranslate2 = pytest.mark.skipif(
    importlib.util.find_spec("ctranslate2") is None,
    reason='the ctranslate2 loader needs ctranslate2: pip install "whisperbench[faster-whisper]"',
)


@pytest.mark.parametrize(
    "weights_format", ["transformers", pytest.param("ctranslate2", marks=needs_ctranslate2)]
)
def test_each_format_loads_with_its_own_loader(
    offline_hub_cache: Path, weights_format: str
) -> None:
    record = inspect("tiny.en", weights_format, cache_dir=offline_hub_cache, verify_method="load")
    assert record.status == "complete", record.reason
    assert record.verify_method == "load"
    assert record.limit_s == get_model("tiny.en").verify_timeout_s == 15.0
    assert record.load_s is not None and 0 < record.load_s < record.limit_s
    assert record.reason.startswith("loaded in ")


@pytest.mark.skipif(
    importlib.util.find_spec("_pywhispercpp") is None
    or importlib.util.find_spec("mlx_whisper") is None,
    reason="the ggml and MLX loaders need pywhispercpp and mlx-whisper",
)
def test_the_ggml_and_mlx_verifying_loads_stay_on_the_cpu(offline_hub_cache: Path) -> None:
    """On a Mac whisper.cpp and MLX take Metal by default; verification asks for the CPU.
    whisper.cpp's default context has the GPU on, the verifying load's has it off (read back
    from the loaded model); MLX's load runs on its CPU stream and loads the model."""
    import _pywhispercpp

    assert _pywhispercpp.whisper_context_default_params().use_gpu is True
    ggml = get_format("ggml").verify_loader()(
        provide("tiny.en", "ggml", cache_dir=offline_hub_cache)
    )
    assert ggml._context_params.use_gpu is False  # type: ignore[attr-defined]
    mlx_model = get_format("mlx").verify_loader()(
        provide("tiny.en", "mlx", cache_dir=offline_hub_cache)
    )
    assert type(mlx_model).__name__ == "Whisper"


def test_truncated_weights_are_found_before_any_load(
    offline_hub_cache: Path, tmp_path: Path
) -> None:
    """The safetensors header says how long the file must be: a truncated copy is incomplete
    (with the fix) by the cache-only check, and no load is tried."""
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_TF)
    whole = blob_of(offline_hub_cache, TINY_TF, "model.safetensors")
    with whole.open("rb") as f:
        head = f.read(whole.stat().st_size // 3)
    replace_blob(cache, TINY_TF, "model.safetensors", head)
    for method in ("cache-only", "load"):
        record = inspect("tiny.en", "transformers", cache_dir=cache, verify_method=method)  # type: ignore[arg-type]
        assert record.status == "incomplete", record.reason
        assert record.verify_method == "cache-only" and record.load_s is None
        assert f"model.safetensors is truncated: {len(head)} bytes" in record.reason
        assert f"its header says {whole.stat().st_size}" in record.reason
        assert record.fix is not None and f"--cache-dir {cache}" in record.fix


def test_a_truncated_ctranslate2_model_is_found_before_any_load(
    offline_hub_cache: Path, tmp_path: Path
) -> None:
    """model.bin's own headers give each tensor's size: walking them (seeking over the tensors)
    finds a cut-off copy by the cache-only check, as the safetensors header does."""
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_CT2)
    whole = blob_of(offline_hub_cache, TINY_CT2, "model.bin")
    with whole.open("rb") as f:
        head = f.read(whole.stat().st_size // 2)
    replace_blob(cache, TINY_CT2, "model.bin", head)
    record = inspect("tiny.en", "ctranslate2", cache_dir=cache, verify_method="load")
    assert record.status == "incomplete", record.reason
    assert record.verify_method == "cache-only" and record.load_s is None
    assert "model.bin is truncated or corrupt: reading the data of " in record.reason
    assert f"but the file has {len(head)}" in record.reason
    assert record.fix is not None and f"--cache-dir {cache}" in record.fix


def test_a_config_that_does_not_parse_fails_to_load_with_the_loaders_message(
    offline_hub_cache: Path, tmp_path: Path
) -> None:
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_TF)
    replace_blob(cache, TINY_TF, "config.json", b'{"model_type": "whisper", ')
    assert inspect("tiny.en", "transformers", cache_dir=cache).status == "complete"
    record = inspect("tiny.en", "transformers", cache_dir=cache, verify_method="load")
    assert record.status == "error"
    assert record.verify_method == "load"
    assert record.reason.startswith("loading failed: ")
    assert "config.json" in record.reason or "JSON" in record.reason
    assert "\n" not in record.reason


@needs_ctranslate2
def test_load_verification_succeeds_once_per_session(offline_hub_cache: Path) -> None:
    first = inspect("base", "ctranslate2", cache_dir=offline_hub_cache, verify_method="load")
    assert first.status == "complete", first.reason
    start = time.monotonic()
    again = inspect("base", "ctranslate2", cache_dir=offline_hub_cache, verify_method="load")
    assert time.monotonic() - start < 1.0, "the second verification should come from the cache"
    assert again.to_dict() == first.to_dict()


@needs_ctranslate2
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")
def test_a_hanging_load_is_killed_at_the_limit(offline_hub_cache: Path, tmp_path: Path) -> None:
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_CT2)
    make_fifo(cache, TINY_CT2, "model.bin")
    start = time.monotonic()
    result = run_verify_load(snapshot(cache, TINY_CT2), "ctranslate2", limit_s=1.5)
    assert result.outcome == "timeout"
    assert "1.5 s limit" in result.message and result.load_s is None
    assert time.monotonic() - start < 1.5 + 30


def test_an_unknown_format_is_an_error_of_the_child(tmp_path: Path) -> None:
    result = run_verify_load(tmp_path, "onnx", limit_s=5)
    assert result.outcome == "error"
    assert "unknown weight format 'onnx'" in result.message
