"""whisperbench.cache on real hub caches: the imported offline models, and damaged copies."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cache_helpers import (
    TINY_CT2,
    TINY_TF,
    blob_of,
    copy_repos,
    replace_blob,
    repo_dir,
    snapshot,
)

from whisperbench import implementations
from whisperbench.cache import (
    ModelStatus,
    inspect_many,
    inspect_model,
    resolve_cache_dir,
)
from whisperbench.models import get_model

IMPLS = ["transformers", "faster-whisper"]
SIZES = ["tiny.en", "base"]


def _blob_bytes(snap: Path) -> int:
    return sum({p.resolve(): p.resolve().stat().st_size for p in snap.iterdir()}.values())


def test_imported_models_are_complete_with_their_size(offline_hub_cache: Path) -> None:
    records = inspect_many(IMPLS, SIZES, cache_dir=offline_hub_cache)
    assert [(r.implementation, r.model) for r in records] == [(i, s) for i in IMPLS for s in SIZES]
    for record in records:
        assert record.status == "complete", record.reason
        assert record.ready
        assert record.repo_id is not None
        snap = snapshot(offline_hub_cache, record.repo_id)
        assert record.revision == snap.name
        assert Path(record.snapshot_path or "").resolve() == snap.resolve()
        assert record.size_on_disk == _blob_bytes(snap)
        assert record.fix is None
    sizes = {(r.implementation, r.model): r.size_mb for r in records}
    assert 50 < sizes["faster-whisper", "tiny.en"] < sizes["faster-whisper", "base"]


def test_absent_repo_is_missing_with_the_fix(offline_hub_cache: Path, tmp_path: Path) -> None:
    record = inspect_model("transformers", "small", cache_dir=offline_hub_cache)
    assert record.status == "missing"
    assert not record.ready
    assert record.repo_id == "openai/whisper-small"
    assert str(offline_hub_cache) in record.reason
    assert record.fix and "whisperbench download --model small" in record.fix
    nowhere = inspect_model("faster-whisper", "tiny.en", cache_dir=tmp_path / "no-cache")
    assert nowhere.status == "missing"
    assert "does not exist" in nowhere.reason


def test_cache_dir_comes_from_the_environment_at_call_time(
    offline_hub_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_cache_dir() == tmp_path / ".cache" / "huggingface" / "hub"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert resolve_cache_dir() == tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(offline_hub_cache))
    assert resolve_cache_dir() == offline_hub_cache
    assert resolve_cache_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert inspect_model("faster-whisper", "tiny.en").status == "complete"


def test_incomplete_blob(offline_hub_cache: Path, tmp_path: Path) -> None:
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_CT2)
    (repo_dir(cache, TINY_CT2) / "blobs" / ("0" * 64 + ".incomplete")).write_bytes(b"x" * 1000)
    record = inspect_model("faster-whisper", "tiny.en", cache_dir=cache)
    assert record.status == "incomplete"
    assert ".incomplete" in record.reason
    assert record.fix and "--implementations faster-whisper" in record.fix
    assert record.revision is not None and record.size_on_disk > 0


@pytest.mark.parametrize(
    ("implementation", "repo_id", "weights"),
    [("faster-whisper", TINY_CT2, "model.bin"), ("transformers", TINY_TF, "model.safetensors")],
)
def test_snapshot_without_its_weights(
    offline_hub_cache: Path, tmp_path: Path, implementation: str, repo_id: str, weights: str
) -> None:
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", repo_id)
    (snapshot(cache, repo_id) / weights).unlink()
    record = inspect_model(implementation, "tiny.en", cache_dir=cache)
    assert record.status == "incomplete"
    assert f"lacks {weights}" in record.reason


def test_broken_snapshot_symlink(offline_hub_cache: Path, tmp_path: Path) -> None:
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_CT2)
    blob_of(cache, TINY_CT2, "tokenizer.json").unlink()
    record = inspect_model("faster-whisper", "tiny.en", cache_dir=cache)
    assert record.status == "incomplete"
    assert "tokenizer.json" in record.reason and "broken symlink" in record.reason
    assert record.snapshot_path is not None


def test_truncated_weights_fail_to_load_with_the_loaders_message(
    offline_hub_cache: Path, tmp_path: Path
) -> None:
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_TF)
    whole = blob_of(offline_hub_cache, TINY_TF, "model.safetensors")
    with whole.open("rb") as f:
        head = f.read(whole.stat().st_size // 3)
    replace_blob(cache, TINY_TF, "model.safetensors", head)
    assert inspect_model("transformers", "tiny.en", cache_dir=cache).status == "complete"
    record = inspect_model("transformers", "tiny.en", cache_dir=cache, verify_method="load")
    assert record.status == "error"
    assert record.verify_method == "load"
    assert record.reason.startswith("loading failed: ")
    assert "SafetensorError" in record.reason or "safetensors" in record.reason.lower()
    assert "\n" not in record.reason


def test_load_verification_succeeds_once_per_session(offline_hub_cache: Path) -> None:
    if "faster-whisper" not in implementations.available_names():
        pytest.skip("faster-whisper is not installed")
    first = inspect_model(
        "faster-whisper", "tiny.en", cache_dir=offline_hub_cache, verify_method="load"
    )
    assert first.status == "complete", first.reason
    assert first.limit_s == get_model("tiny.en").verify_timeout_s == 15.0
    assert first.load_s is not None and 0 < first.load_s < first.limit_s
    start = time.monotonic()
    again = inspect_model(
        "faster-whisper", "tiny.en", cache_dir=offline_hub_cache, verify_method="load"
    )
    assert time.monotonic() - start < 1.0, "the second verification should come from the cache"
    assert again.to_dict() == first.to_dict()


def test_unavailable_implementation_is_an_error_record(
    offline_hub_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(implementations.BUILTINS, "ghost", "no_such_package.ghost:Ghost")
    records = inspect_many(["ghost", "faster-whisper"], ["tiny.en"], cache_dir=offline_hub_cache)
    ghost, real = records
    assert ghost.status == "error" and "no_such_package" in ghost.reason
    assert real.status == "complete"


def test_records_round_trip_through_json(offline_hub_cache: Path) -> None:
    records = inspect_many(IMPLS, ["tiny.en", "small"], cache_dir=offline_hub_cache)
    text = json.dumps([r.to_dict() for r in records])
    assert [ModelStatus.from_dict(item) for item in json.loads(text)] == records
    with pytest.raises(ValueError, match="unknown status"):
        ModelStatus.from_dict({**records[0].to_dict(), "status": "fine"})
