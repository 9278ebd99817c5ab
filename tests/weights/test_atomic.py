"""Folders that appear whole or not at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from whisperbench.weights.atomic import building


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_finished_build_is_renamed_into_place(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with building(target, replace=False) as temp:
        assert temp.parent == tmp_path and not temp.exists()
        temp.mkdir()
        (temp / "a.txt").write_text("a")
        assert not target.exists()  # nothing is visible while it is being written
    assert (target / "a.txt").read_text() == "a"
    assert _hidden(tmp_path) == []


def test_a_failed_build_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(RuntimeError, match="half-way"), building(target, replace=True) as temp:
        temp.mkdir()
        (temp / "a.txt").write_text("a")
        raise RuntimeError("half-way")
    assert list(tmp_path.iterdir()) == []


def test_replace_swaps_an_old_folder_and_keep_keeps_it(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old.txt").write_text("old")
    with building(target, replace=False) as temp:
        temp.mkdir()
        (temp / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["old.txt"]  # another build got there first
    with building(target, replace=True) as temp:
        temp.mkdir()
        (temp / "new.txt").write_text("new")
    assert [p.name for p in target.iterdir()] == ["new.txt"]
    assert _hidden(tmp_path) == []
