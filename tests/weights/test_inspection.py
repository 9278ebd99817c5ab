"""whisperbench.weights.inspection on real hub caches: the imported offline models, and damaged
copies of them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers.cache_helpers import (
    TINY_CT2,
    TINY_TF,
    blob_of,
    copy_repos,
    repo_dir,
    snapshot,
)

from whisperbench.weights import WeightsRequest, WeightsStatus, inspect_many
from whisperbench.weights.inspection import inspect_one

pytestmark = pytest.mark.slow

FORMATS = ["transformers", "ctranslate2"]
SIZES = ["tiny.en", "base"]


def _blob_bytes(snap: Path) -> int:
    return sum({p.resolve(): p.resolve().stat().st_size for p in snap.iterdir()}.values())


def test_imported_models_are_complete_with_their_size(offline_hub_cache: Path) -> None:
    requests = [WeightsRequest(size, f) for f in FORMATS for size in SIZES]
    records = inspect_many(requests, cache_dir=offline_hub_cache)
    assert [(r.format, r.model) for r in records] == [(r.format, r.size) for r in requests]
    for record in records:
        assert record.status == "complete", record.reason
        assert record.ready
        assert record.repo_id is not None
        snap = snapshot(offline_hub_cache, record.repo_id)
        assert record.revision == snap.name
        assert Path(record.snapshot_path or "").resolve() == snap.resolve()
        assert record.size_on_disk == _blob_bytes(snap)
        assert record.fix is None
    sizes = {(r.format, r.model): r.size_mb for r in records}
    assert 50 < sizes["ctranslate2", "tiny.en"] < sizes["ctranslate2", "base"]


def test_absent_repo_is_missing_with_the_fix(offline_hub_cache: Path, tmp_path: Path) -> None:
    record = inspect_one(
        "small", "transformers", cache_dir=offline_hub_cache, needed_by="transformers"
    )
    assert record.status == "missing"
    assert not record.ready
    assert record.repo_id == "openai/whisper-small"
    assert str(offline_hub_cache) in record.reason
    assert record.fix is not None
    assert "whisperbench download --model small --implementations transformers" in record.fix
    assert f"--cache-dir {offline_hub_cache}" in record.fix  # the cache that was checked
    nowhere = inspect_one("tiny.en", "ctranslate2", cache_dir=tmp_path / "no-cache")
    assert nowhere.status == "missing"
    assert "does not exist" in nowhere.reason
    assert nowhere.fix is not None and "import-model --bundled tiny.en --cache-dir" in nowhere.fix


def test_the_environments_cache_is_inspected_when_none_is_given(
    offline_hub_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(offline_hub_cache))
    record = inspect_one("tiny.en", "ctranslate2")
    assert record.status == "complete"
    missing = inspect_one("small", "ctranslate2")
    assert missing.fix is not None and "--cache-dir" not in missing.fix  # none was given


def test_incomplete_blob(offline_hub_cache: Path, tmp_path: Path) -> None:
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_CT2)
    (repo_dir(cache, TINY_CT2) / "blobs" / ("0" * 64 + ".incomplete")).write_bytes(b"x" * 1000)
    record = inspect_one("tiny.en", "ctranslate2", cache_dir=cache, needed_by="faster-whisper")
    assert record.status == "incomplete"
    assert ".incomplete" in record.reason
    assert record.fix and "--implementations faster-whisper" in record.fix
    assert record.revision is not None and record.size_on_disk > 0


@pytest.mark.parametrize(
    ("weights_format", "repo_id", "weights"),
    [("ctranslate2", TINY_CT2, "model.bin"), ("transformers", TINY_TF, "model.safetensors")],
)
def test_snapshot_without_its_weights(
    offline_hub_cache: Path, tmp_path: Path, weights_format: str, repo_id: str, weights: str
) -> None:
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", repo_id)
    (snapshot(cache, repo_id) / weights).unlink()
    record = inspect_one("tiny.en", weights_format, cache_dir=cache)
    assert record.status == "incomplete"
    assert f"lacks {weights}" in record.reason


def test_broken_snapshot_symlink(offline_hub_cache: Path, tmp_path: Path) -> None:
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_CT2)
    blob_of(cache, TINY_CT2, "tokenizer.json").unlink()
    record = inspect_one("tiny.en", "ctranslate2", cache_dir=cache)
    assert record.status == "incomplete"
    assert "tokenizer.json" in record.reason and "broken symlink" in record.reason
    assert record.snapshot_path is not None


def test_refs_main_without_its_snapshot(offline_hub_cache: Path, tmp_path: Path) -> None:
    cache = copy_repos(offline_hub_cache, tmp_path / "hub", TINY_CT2)
    ref = repo_dir(cache, TINY_CT2) / "refs" / "main"
    ref.unlink()  # a hard link to the session cache's own ref
    ref.write_text("f" * 40)
    record = inspect_one("tiny.en", "ctranslate2", cache_dir=cache)
    assert record.status == "incomplete"
    assert "snapshot folder" in record.reason and "f" * 40 in record.reason


def test_unknown_format_is_an_error_record(offline_hub_cache: Path) -> None:
    (record,) = inspect_many([WeightsRequest("tiny.en", "onnx")], cache_dir=offline_hub_cache)
    assert record.status == "error"
    assert "unknown weight format 'onnx'" in record.reason and "transformers" in record.reason


def test_records_round_trip_through_json(offline_hub_cache: Path) -> None:
    requests = [WeightsRequest(size, f) for f in FORMATS for size in ("tiny.en", "small")]
    records = inspect_many(requests, cache_dir=offline_hub_cache)
    text = json.dumps([r.to_dict() for r in records])
    assert [WeightsStatus.from_dict(item) for item in json.loads(text)] == records
    with pytest.raises(ValueError, match="unknown status"):
        WeightsStatus.from_dict({**records[0].to_dict(), "status": "fine"})
