"""Where the hub cache is, read from the environment when asked, and how repos are named in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from whisperbench.errors import ModelImportError
from whisperbench.weights.layout import (
    read_main_ref,
    repo_folder,
    repo_folder_name,
    resolve_cache_dir,
    whisperbench_cache_root,
)

CACHE_VARIABLES = ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME")


def test_cache_dir_comes_from_the_environment_at_call_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in CACHE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_cache_dir() == tmp_path / ".cache" / "huggingface" / "hub"
    assert whisperbench_cache_root() == tmp_path / ".cache" / "whisperbench"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_cache_dir() == tmp_path / "xdg" / "huggingface" / "hub"
    assert whisperbench_cache_root() == tmp_path / "xdg" / "whisperbench"
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert resolve_cache_dir() == tmp_path / "hf" / "hub"
    monkeypatch.setenv("HUGGINGFACE_HUB_CACHE", str(tmp_path / "old-name"))
    assert resolve_cache_dir() == tmp_path / "old-name"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert resolve_cache_dir() == tmp_path / "hub"
    assert resolve_cache_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert resolve_cache_dir("~/x") == tmp_path / "x"


def test_repo_folders_are_named_as_huggingface_hub_names_them(tmp_path: Path) -> None:
    assert repo_folder_name("openai/whisper-tiny.en") == "models--openai--whisper-tiny.en"
    assert repo_folder(tmp_path, "Systran/faster-whisper-base") == (
        tmp_path / "models--Systran--faster-whisper-base"
    )
    for bad in ("whisper-tiny", "a/b/c", "/whisper", "openai/"):
        with pytest.raises(ModelImportError, match="ORG/NAME"):
            repo_folder_name(bad)


def test_main_ref(tmp_path: Path) -> None:
    assert read_main_ref(tmp_path) is None
    (tmp_path / "refs").mkdir()
    (tmp_path / "refs" / "main").write_text("")
    assert read_main_ref(tmp_path) is None
    (tmp_path / "refs" / "main").write_text("abc123\n")
    assert read_main_ref(tmp_path) == "abc123"
