"""The ``.incomplete`` blobs of interrupted downloads, found by the cache's layout on every
huggingface_hub that ``pyproject.toml`` allows (``HFCacheInfo.incomplete_files`` exists only in
recent ones), and what inspection makes of them: a cache folder written by hand, no weights."""

from __future__ import annotations

from pathlib import Path

from whisperbench.weights.inspection import inspect_one
from whisperbench.weights.partials import partial_blobs

REVISION = "f" * 40


def _repo(cache: Path, repo_id: str, *partials: tuple[str, int]) -> Path:
    """A cached repo with a snapshot named by ``refs/main`` and ``partials`` in its blobs."""
    folder = cache / f"models--{repo_id.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(REVISION)
    (folder / "snapshots" / REVISION).mkdir(parents=True)
    (folder / "blobs").mkdir()
    for name, size in partials:
        (folder / "blobs" / name).write_bytes(b"x" * size)
    return folder


def test_partial_blobs_are_found_by_the_cache_layout(tmp_path: Path) -> None:
    tiny = _repo(tmp_path, "openai/whisper-tiny.en", ("a1.incomplete", 1000), ("b2", 10))
    base = _repo(tmp_path, "openai/whisper-base", ("c3.0badc0de.incomplete", 5))
    _repo(tmp_path, "openai/whisper-small")
    found = partial_blobs(tmp_path)
    assert found == {
        tiny.resolve(): [(tiny.resolve() / "blobs" / "a1.incomplete", 1000)],
        base.resolve(): [(base.resolve() / "blobs" / "c3.0badc0de.incomplete", 5)],
    }
    assert partial_blobs(tmp_path / "absent") == {}


def test_a_repo_with_a_partial_blob_is_incomplete_with_the_fix(tmp_path: Path) -> None:
    """The check that crashed with AttributeError on huggingface_hub releases before
    ``incomplete_files`` (the lowest-versions tier, ``tox -e lowest``, runs it)."""
    _repo(tmp_path, "openai/whisper-tiny.en", ("a1.incomplete", 2_000_000))
    record = inspect_one("tiny.en", "transformers", cache_dir=tmp_path)
    assert record.status == "incomplete"
    assert record.reason.startswith(
        "an interrupted download left 1 .incomplete blob(s) (2.0 MB) in "
    )
    assert record.fix is not None and "whisperbench download --model tiny.en" in record.fix
