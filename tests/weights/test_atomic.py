"""Folders that appear whole or not at all."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest

from whisperbench.weights.atomic import build_once, building


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


def _has_done(folder: Path) -> bool:
    return (folder / "done.txt").is_file()


def _build_slowly(target: Path, log: Path) -> None:
    def write(temp: Path) -> None:
        with log.open("a") as handle:
            handle.write("built\n")
        temp.mkdir()
        (temp / "part.bin").write_bytes(b"x" * 4096)
        time.sleep(0.5)  # long enough for the other processes to arrive mid-build
        (temp / "done.txt").write_text("done")

    folder = build_once(target, _has_done, write)
    assert (folder / "part.bin").stat().st_size == 4096 and _has_done(folder)


@pytest.mark.slow  # four processes
def test_processes_that_build_one_folder_at_once_build_it_once(tmp_path: Path) -> None:
    """What two pytest-xdist workers on a fresh machine do with the joined base model."""
    target, log = tmp_path / "base", tmp_path / "builds.log"
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_build_slowly, args=(target, log)) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    assert log.read_text() == "built\n"
    assert sorted(p.name for p in target.iterdir()) == ["done.txt", "part.bin"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == [".base.lock"]


def test_build_once_replaces_an_out_of_date_folder(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "stale.txt").write_text("from an older build")

    def write(temp: Path) -> None:
        temp.mkdir()
        (temp / "done.txt").write_text("done")

    assert build_once(target, _has_done, write) == target
    assert [p.name for p in target.iterdir()] == ["done.txt"]
    build_once(target, _has_done, lambda temp: pytest.fail("a current folder is rebuilt"))
