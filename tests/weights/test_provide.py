"""``weights.provide`` and ``weights.inspect`` on real caches: a cached snapshot, a missing one
(with the fix naming the cache that was checked), the bundled import on first use, and a
format converted from another format's snapshot."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from helpers.cache_helpers import TINY_CT2, snapshot

from whisperbench.weights import FORMATS, WeightsNotReady, inspect, provide
from whisperbench.weights.bundled import bundled_source
from whisperbench.weights.convert import MARKER, conversion_folder
from whisperbench.weights.convert.ct2_to_hf import CONVERSION as CT2_TO_HF
from whisperbench.weights.importer import content_revision
from whisperbench.weights.verify import run_verify_load

pytestmark = pytest.mark.slow


def test_a_cached_snapshot_is_its_folder(offline_hub_cache: Path) -> None:
    for weights_format, repo_id in (("ctranslate2", TINY_CT2), ("transformers", None)):
        path = provide("tiny.en", weights_format, cache_dir=offline_hub_cache)
        if repo_id is not None:
            assert path.resolve() == snapshot(offline_hub_cache, repo_id).resolve()
        assert path.is_dir() and (path / "config.json").is_file()


def test_missing_weights_raise_with_the_fix_for_the_cache_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "hub"
    with pytest.raises(WeightsNotReady) as caught:
        provide(
            "small",
            "ctranslate2",
            cache_dir=cache,
            allow_bundled=True,  # small is not bundled
            allow_download=True,  # offline: not tried
            needed_by="faster-whisper",
        )
    status = caught.value.status
    assert (status.status, status.repo_id) == ("missing", "Systran/faster-whisper-small")
    message = str(caught.value)
    assert message.startswith("Systran/faster-whisper-small: missing: not cached: ")
    assert (
        f"whisperbench download --model small --implementations faster-whisper --cache-dir {cache}"
        in message
    )
    assert not cache.exists()  # nothing was written


def test_bundled_weights_are_imported_on_first_use_with_one_notice(tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    notices: list[str] = []
    path = provide(
        "tiny.en", "transformers", cache_dir=cache, allow_bundled=True, notify=notices.append
    )
    (notice,) = notices
    assert notice.startswith("whisperbench: openai/whisper-tiny.en was not cached; imported ")
    assert "the bundled tiny.en weights (whisperbench[offline-models])" in notice
    assert str(path) in notice
    assert provide("tiny.en", "transformers", cache_dir=cache, allow_bundled=True) == path
    assert len(notices) == 1
    assert sorted(p.name for p in cache.glob("models--*")) == ["models--openai--whisper-tiny.en"]
    # The conversion is kept, keyed by the revision the bundled CTranslate2 folder has in a cache.
    ct2 = bundled_source("tiny.en")
    kept = conversion_folder(CT2_TO_HF, TINY_CT2, content_revision(ct2))
    assert (kept / MARKER).is_file()
    assert (kept / "model.safetensors").stat().st_size == (
        path / "model.safetensors"
    ).stat().st_size


def test_a_converted_format_is_made_once_from_its_source_snapshot(
    offline_hub_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A format declared as converted from another (as the lineup's openai, ggml and mlx
    formats are from transformers) is provided from its source's snapshot through its
    conversion module: here the real CTranslate2 -> transformers one, under a name of its own."""
    converted = dataclasses.replace(
        FORMATS["transformers"],
        name="transformers-from-ct2",
        converted_from="ctranslate2",
        conversion="whisperbench.weights.convert.ct2_to_hf",
    )
    monkeypatch.setitem(FORMATS, converted.name, converted)
    source = snapshot(offline_hub_cache, TINY_CT2)
    path = provide("tiny.en", converted.name, cache_dir=offline_hub_cache)
    assert path == conversion_folder(CT2_TO_HF, TINY_CT2, source.name)
    assert (path / MARKER).is_file() and (path / "model.safetensors").is_file()
    status = inspect("tiny.en", converted.name, cache_dir=offline_hub_cache)
    assert status.ready and status.repo_id == TINY_CT2 and status.revision == source.name
    assert status.snapshot_path == str(path)
    assert "converted to transformers-from-ct2" in status.reason
    # (a child process does not see this test's declaration: load with the transformers one)
    loaded = run_verify_load(path, "transformers", limit_s=15)
    assert loaded.outcome == "ok", loaded.message
