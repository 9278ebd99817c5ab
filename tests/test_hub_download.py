"""``whisperbench download`` against a Hub on 127.0.0.1 (``hub_server``) that serves the real
imported tiny.en files: what is fetched for each format, the native repo before the one it is
converted from, a repo the Hub does not have, and the fix for an interrupted download."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.cache_helpers import TINY_CT2, TINY_TF, snapshot
from helpers.hub_server import LocalHub, local_hub

from whisperbench import weights
from whisperbench.weights.formats import GGML_FILE

pytestmark = pytest.mark.slow

WHISPER_CPP = "ggerganov/whisper.cpp"


def _files(cache: Path, repo_id: str) -> dict[str, Path]:
    return {path.name: path for path in snapshot(cache, repo_id).iterdir()}


@pytest.fixture(scope="module")
def served(
    offline_hub_cache: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Path]]:
    """tiny.en's two repos as imported, each with a file that no format asks for, and
    whisper.cpp's repo with tiny.en's ggml file (converted here) beside another size's."""
    other = tmp_path_factory.mktemp("served") / "not-asked-for"
    other.write_bytes(b"a file that no allow pattern matches")
    ggml = weights.provide("tiny.en", "ggml", cache_dir=offline_hub_cache) / GGML_FILE
    return {
        TINY_TF: {**_files(offline_hub_cache, TINY_TF), "flax_model.msgpack": other},
        TINY_CT2: {**_files(offline_hub_cache, TINY_CT2), "README.md": other},
        WHISPER_CPP: {"ggml-tiny.en.bin": ggml, "ggml-base.bin": other},
    }


@pytest.fixture
def hub(served: dict[str, dict[str, Path]]) -> Iterator[LocalHub]:
    with local_hub(served) as running:
        yield running


def _cli(hub: LocalHub, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_ENDPOINT": hub.endpoint, "COLUMNS": "200"}
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "whisperbench.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def _download(
    hub: LocalHub, implementations: str, cache: Path, size: str = "tiny.en"
) -> subprocess.CompletedProcess[str]:
    return _cli(
        hub,
        "download",
        "--model",
        size,
        "--implementations",
        implementations,
        "--cache-dir",
        str(cache),
    )


def _status(
    hub: LocalHub, implementation: str, cache: Path, method: str = "cache-only"
) -> dict[str, str]:
    result = _cli(
        hub, "check-models", "--model", "tiny.en", "--implementations", implementation,
        "--verify-method", method, "--cache-dir", str(cache), "--json",
    )  # fmt: skip
    (record,) = json.loads(result.stdout)["records"]
    return dict(record)


def test_each_format_gets_its_files_and_nothing_else(
    hub: LocalHub, served: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    cache = tmp_path / "hub"
    result = _download(hub, "transformers,faster-whisper", cache)
    assert result.returncode == 0, result.stderr
    assert "transformers tiny.en: complete" in result.stderr
    assert "faster-whisper tiny.en: complete" in result.stderr
    for repo_id, unwanted in ((TINY_TF, "flax_model.msgpack"), (TINY_CT2, "README.md")):
        assert sorted(hub.fetched(repo_id)) == sorted(set(served[repo_id]) - {unwanted})
        for name, path in _files(cache, repo_id).items():
            assert path.read_bytes() == served[repo_id][name].read_bytes(), name
        assert snapshot(cache, repo_id).name == hub.commit(repo_id)  # the Hub's revision
    assert hub.fetched(WHISPER_CPP) == []
    loaded = _status(hub, "transformers", cache, method="load")
    assert loaded["status"] == "complete" and loaded["reason"].startswith("loaded in ")


def test_a_converted_format_takes_its_native_repo_first(hub: LocalHub, tmp_path: Path) -> None:
    cache = tmp_path / "hub"
    result = _download(hub, "whisper.cpp", cache)
    assert result.returncode == 0, result.stderr
    assert hub.fetched(WHISPER_CPP) == ["ggml-tiny.en.bin"]  # not every size the repo holds
    assert hub.fetched(TINY_TF) == []
    assert f"the native repo {WHISPER_CPP}" in _status(hub, "whisper.cpp", cache)["reason"]


def test_a_repo_the_hub_lacks_is_one_line_then_the_next_repo(
    hub: LocalHub, served: dict[str, dict[str, Path]], tmp_path: Path
) -> None:
    del served[WHISPER_CPP]  # the fixture's hub serves the dict it was given: now it lacks it
    cache = tmp_path / "hub"
    result = _download(hub, "whisper.cpp", cache)
    assert result.returncode == 0, result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith(WHISPER_CPP)]
    assert (
        line == f"{WHISPER_CPP}: RepositoryNotFoundError: 404 Client Error.; trying the next repo"
    )
    assert "Traceback" not in result.stderr
    assert "whisper.cpp tiny.en: complete" in result.stderr
    assert "converted to ggml on first use" in result.stderr
    assert TINY_TF in {r.path.split("/resolve/")[0].strip("/") for r in hub.requests}
    nowhere = _download(hub, "transformers", tmp_path / "other", size="small")
    assert nowhere.returncode == 1
    assert "openai/whisper-small: RepositoryNotFoundError: 404 Client Error." in nowhere.stderr
    assert "transformers small: missing" in nowhere.stderr and "Traceback" not in nowhere.stderr


def test_the_fix_for_an_interrupted_download_makes_the_repo_whole(
    hub: LocalHub, tmp_path: Path
) -> None:
    """huggingface_hub 2 never resumes a killed download's ``<etag>.<id>.incomplete``; the
    download that check-models names as the fix fetches the file again and removes it."""
    cache = tmp_path / "hub"
    assert _download(hub, "transformers", cache).returncode == 0
    link = snapshot(cache, TINY_TF) / "model.safetensors"
    blob = link.resolve()
    whole = blob.read_bytes()
    partial = blob.with_name(f"{blob.name}.1a2b3c4d.incomplete")
    partial.write_bytes(whole[: len(whole) // 2])  # what a download killed half-way leaves
    blob.unlink()
    link.unlink()
    record = _status(hub, "transformers", cache)
    assert record["status"] == "incomplete" and ".incomplete blob" in record["reason"]
    fix = record["fix"].split("  (offline:")[0]
    download = "whisperbench download --model tiny.en --implementations transformers"
    assert fix == f"{download} --cache-dir {cache}"
    result = _cli(hub, *fix.split()[1:])
    assert result.returncode == 0, result.stderr
    assert f"removed {partial} (left by an interrupted download)" in result.stderr
    assert not partial.exists() and blob.read_bytes() == whole
    assert _status(hub, "transformers", cache)["status"] == "complete"
