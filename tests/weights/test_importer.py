"""Importing local models into a Hugging Face hub cache: layout, offline loading, errors.

Real bundled weights (``offline_hub_cache`` holds tiny.en and base for both families), CPU,
offline. The small synthetic folders below are real files too: they test the layout rules.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from whisperbench.cli import main
from whisperbench.errors import ModelImportError, UnknownModelError
from whisperbench.scoring import wer
from whisperbench.weights import ImportedModel, import_bundled, import_model, inspect
from whisperbench.weights.bundled import bundled_source
from whisperbench.weights.importer import content_revision, target_format

pytestmark = pytest.mark.slow
AUDIO = (
    Path(__file__).resolve().parents[2] / "src" / "whisperbench" / "data" / "audio" / "short.flac"
)
Records = dict[tuple[str, str], ImportedModel]


def _tiny_transformers_folder(path: Path, value: float = 0.0) -> Path:
    """A minimal transformers-style folder: config.json and a valid safetensors file."""
    from safetensors.numpy import save_file

    path.mkdir(parents=True)
    (path / "config.json").write_text(json.dumps({"model_type": "whisper"}))
    save_file({"w": np.full((4, 4), value, dtype=np.float32)}, str(path / "model.safetensors"))
    return path


def _blobs(cache: Path) -> set[Path]:
    return set(cache.glob("models--*/blobs/*"))


# --- layout --------------------------------------------------------------------------------


def test_scan_cache_dir_lists_every_import_with_its_size(
    offline_hub_cache: Path, offline_models: Records
) -> None:
    from huggingface_hub import scan_cache_dir

    info = scan_cache_dir(offline_hub_cache)
    assert info.warnings == []
    repos = {repo.repo_id: repo for repo in info.repos}
    assert set(repos) == {record.repo_id for record in offline_models.values()}
    for (size, weights_format), record in offline_models.items():
        repo = repos[record.repo_id]
        (revision,) = repo.revisions
        assert revision.commit_hash == record.revision and len(record.revision) == 40
        assert revision.refs == frozenset({"main"})
        assert repo.size_on_disk == record.size_bytes
        assert record.snapshot_path == revision.snapshot_path
        for file in revision.files:
            link = os.readlink(file.file_path)
            assert link.startswith("../../blobs/") and file.blob_path.parent.name == "blobs"
        if weights_format == "ctranslate2":  # copied as it is
            source = bundled_source(size)
            files = [p for p in source.iterdir() if p.is_file() and not p.name.startswith(".")]
            assert record.size_bytes == sum(p.stat().st_size for p in files)
            assert {f.file_name for f in revision.files} == {p.name for p in files}
            assert content_revision(source) == record.revision
        else:
            names = {f.file_name for f in revision.files}
            assert {"config.json", "model.safetensors", "generation_config.json"} <= names
            assert {"preprocessor_config.json", "tokenizer.json", "tokenizer_config.json"} <= names
    assert not any((offline_hub_cache / ".locks").glob("whisperbench-staging/*"))


def test_the_revision_is_the_content(tmp_path: Path) -> None:
    a = _tiny_transformers_folder(tmp_path / "a")
    b = _tiny_transformers_folder(tmp_path / "b")
    c = _tiny_transformers_folder(tmp_path / "c", value=1.0)
    cache = tmp_path / "cache"
    first = import_model(a, "test-org/tiny-model", cache)
    assert import_model(b, "test-org/tiny-model", cache) == first  # same bytes, same snapshot
    changed = import_model(c, "test-org/tiny-model", cache)
    assert changed.revision != first.revision
    refs = cache / "models--test-org--tiny-model" / "refs" / "main"
    assert refs.read_text() == changed.revision
    assert first.snapshot_path.is_dir()  # the earlier revision stays, as after a hub update
    assert sorted(p.name for p in cache.iterdir()) == [".locks", "models--test-org--tiny-model"]


def test_importing_again_writes_nothing_new(
    offline_hub_cache: Path, offline_models: Records
) -> None:
    blobs = _blobs(offline_hub_cache)
    record = offline_models[("tiny.en", "ctranslate2")]
    snapshot_mtime = record.snapshot_path.stat().st_mtime_ns
    again = import_model(bundled_source("tiny.en"), record.repo_id, offline_hub_cache)
    assert again == record
    assert _blobs(offline_hub_cache) == blobs
    assert record.snapshot_path.stat().st_mtime_ns == snapshot_mtime
    assert (
        import_bundled("base", "transformers", offline_hub_cache)
        == (offline_models[("base", "transformers")])
    )


# --- loading offline -----------------------------------------------------------------------


def test_transformers_loads_the_import_offline(
    offline_hub_env: Path, offline_models: Records
) -> None:
    import torch
    from huggingface_hub import snapshot_download
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    record = offline_models[("tiny.en", "transformers")]
    assert record.repo_id == "openai/whisper-tiny.en"
    path = snapshot_download(record.repo_id, cache_dir=offline_hub_env, local_files_only=True)
    assert Path(path) == record.snapshot_path
    model = WhisperForConditionalGeneration.from_pretrained(
        record.repo_id, cache_dir=offline_hub_env
    )
    processor = WhisperProcessor.from_pretrained(record.repo_id)  # found through HF_HUB_CACHE
    assert model.dtype == torch.float32
    audio, _ = sf.read(AUDIO, dtype="float32")
    features = processor(audio, sampling_rate=16000, return_tensors="pt").input_features
    with torch.inference_mode():
        ids = model.generate(features, num_beams=1, do_sample=False)
    text = processor.batch_decode(ids, skip_special_tokens=True)[0]
    assert wer(AUDIO.with_suffix(".txt").read_text(), text) < 0.25, text


def test_faster_whisper_loads_the_ct2_copy_offline(
    offline_hub_env: Path, offline_models: Records
) -> None:
    from faster_whisper import WhisperModel
    from huggingface_hub import snapshot_download

    record = offline_models[("tiny.en", "ctranslate2")]
    path = snapshot_download(record.repo_id, cache_dir=offline_hub_env, local_files_only=True)
    model = WhisperModel(path, device="cpu", compute_type="int8", cpu_threads=1)
    segments, _ = model.transcribe(AUDIO.as_posix(), beam_size=1)
    text = " ".join(segment.text for segment in segments)
    assert wer(AUDIO.with_suffix(".txt").read_text(), text) < 0.25, text


# --- errors --------------------------------------------------------------------------------


def test_an_empty_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelImportError, match=r"not a model folder \(it is empty\).*Expected"):
        import_model(tmp_path / "empty", "openai/whisper-tiny.en", tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_a_transformers_folder_is_refused_for_a_ct2_repo(tmp_path: Path) -> None:
    folder = _tiny_transformers_folder(tmp_path / "hf")
    with pytest.raises(ModelImportError, match=r"CTranslate2.*ct2-transformers-converter"):
        import_model(folder, "Systran/faster-whisper-tiny.en", tmp_path / "cache")
    with pytest.raises(ModelImportError, match="CTranslate2"):
        import_model(folder, "someone/faster-whisper-custom", tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


@pytest.mark.parametrize("repo_id", ["Systran/faster-whisper-tiny.en", "openai/whisper-tiny.en"])
def test_a_truncated_model_bin_is_refused_and_leaves_nothing(tmp_path: Path, repo_id: str) -> None:
    source = bundled_source("tiny.en")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(source / name, broken / name)
    with (source / "model.bin").open("rb") as handle:
        (broken / "model.bin").write_bytes(handle.read(5_000_000))
    cache = tmp_path / "cache"
    with pytest.raises(ModelImportError, match=r"model\.bin is truncated.*download it again"):
        import_model(broken, repo_id, cache)
    assert not cache.exists() or not any(cache.glob("models--*"))


def test_missing_files_and_bad_repo_ids_are_named(tmp_path: Path) -> None:
    folder = tmp_path / "ct2"
    folder.mkdir()
    shutil.copyfile(bundled_source("tiny.en") / "config.json", folder / "config.json")
    (folder / "model.bin").write_bytes(b"")
    with pytest.raises(ModelImportError, match="truncated"):
        import_model(folder, "Systran/faster-whisper-tiny.en", tmp_path / "cache")
    good = _tiny_transformers_folder(tmp_path / "hf")
    with pytest.raises(ModelImportError, match="ORG/NAME"):
        import_model(good, "whisper-tiny", tmp_path / "cache")
    (good / "model.safetensors").write_bytes((good / "model.safetensors").read_bytes()[:-8])
    with pytest.raises(ModelImportError, match="truncated"):
        import_model(good, "test-org/tiny-model", tmp_path / "cache")
    with pytest.raises(UnknownModelError):
        import_bundled("huge", "transformers", tmp_path / "cache")
    with pytest.raises(ModelImportError, match="whisperbench download --model small"):
        import_bundled("small", "transformers", tmp_path / "cache")


def test_target_format_follows_the_model_map() -> None:
    assert target_format("openai/whisper-base") == "transformers"
    assert target_format("Systran/faster-whisper-base") == "ctranslate2"
    assert target_format("mobiuslabsgmbh/faster-whisper-large-v3-turbo") == "ctranslate2"
    assert target_format("someone/my-faster-whisper") == "ctranslate2"
    assert target_format("someone/whisper-finetune") == "transformers"


# --- the command ---------------------------------------------------------------------------


def test_import_model_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"
    code = main(
        [
            "import-model",
            "--bundled",
            "tiny.en",
            "--family",
            "ctranslate2",
            "--cache-dir",
            str(cache),
        ]
    )
    assert code == 0
    record = inspect("tiny.en", "ctranslate2", cache_dir=cache)
    assert record.ready and record.revision and record.snapshot_path
    assert not (cache / "models--openai--whisper-tiny.en").exists()  # --family ctranslate2 only
    out = capsys.readouterr().out
    assert record.revision in out and record.snapshot_path in out and "MB" in out
    folder = _tiny_transformers_folder(tmp_path / "hf")
    assert (
        main(["import-model", str(folder), "--repo-id", "test-org/tiny", "--cache-dir", str(cache)])
        == 0
    )
    assert "test-org/tiny" in capsys.readouterr().out
    assert main(["import-model", "--cache-dir", str(cache)]) == 2
    assert "SOURCE_DIR --repo-id" in capsys.readouterr().err
