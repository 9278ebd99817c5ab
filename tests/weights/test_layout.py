"""Where the hub cache is, read from the environment when asked, and how repos are named in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from whisperbench.errors import CacheDirError, ModelImportError
from whisperbench.weights.layout import (
    cache_dir_problem,
    check_cache_dir,
    holds_models,
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


def test_a_cache_dir_that_is_a_file_or_under_one_cannot_serve(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert cache_dir_problem(afile, write=False) == f"the cache folder {afile} is a file"
    under = afile / "hub" / "deeper"
    assert cache_dir_problem(under, write=True) == (
        f"the cache folder {under} lies under {afile}, which is a file"
    )
    with pytest.raises(CacheDirError, match=r"pass another folder with --cache-dir$"):
        check_cache_dir(afile, write=False)


def test_a_missing_cache_dir_is_fine_where_it_can_be_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "not" / "yet"
    assert cache_dir_problem(missing, write=True) is None
    assert check_cache_dir(missing, write=True) == missing
    assert not missing.exists()  # checked, not created
    assert not holds_models(missing) and not holds_models(tmp_path)
    (tmp_path / "models--openai--whisper-tiny.en").mkdir()
    assert holds_models(tmp_path)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "afile"))
    (tmp_path / "afile").write_text("x")
    with pytest.raises(CacheDirError, match=r"point HF_HUB_CACHE \(or HF_HOME\) at another folder"):
        check_cache_dir(None, write=False)
