"""``convert_once``: each conversion kept in a folder keyed by the source repo, its revision and
the converter, written whole or not at all.

The conversion here writes a reversed copy of each file: the helper does not care what a
converter writes (the real CTranslate2 -> transformers conversion runs in test_provide and
test_ct2_to_hf)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from whisperbench.weights.convert import (
    MARKER,
    Conversion,
    conversion_folder,
    convert_once,
    load_conversion,
)

written: list[Path] = []


def write_reversed(source: Path, out: Path) -> None:
    written.append(source)
    out.mkdir()
    for path in sorted(source.iterdir()):
        (out / path.name).write_bytes(path.read_bytes()[::-1])


def write_nothing_then_fail(source: Path, out: Path) -> None:
    out.mkdir()
    (out / "half.bin").write_bytes(b"x")
    raise OSError("disk full")


REVERSE = Conversion("plain", "reversed", write_reversed)


def _folders(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if not p.name.endswith(".lock"))


@pytest.fixture
def source(tmp_path: Path) -> Path:
    folder = tmp_path / "snapshot"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"abc")
    written.clear()
    return folder


def test_converts_once_per_revision(source: Path, tmp_path: Path) -> None:
    root = tmp_path / "converted"
    first = convert_once(REVERSE, source, source_repo="org/model", revision="r1", root=root)
    assert first == root / "reversed" / "models--org--model" / f"r1-{REVERSE.digest()}"
    assert (first / "weights.bin").read_bytes() == b"cba"
    provenance = json.loads((first / MARKER).read_text())
    assert provenance["source_repo"] == "org/model" and provenance["revision"] == "r1"
    again = convert_once(REVERSE, source, source_repo="org/model", revision="r1", root=root)
    assert again == first and written == [source]  # reused, not written again
    other = convert_once(REVERSE, source, source_repo="org/model", revision="r2", root=root)
    assert other != first and len(written) == 2
    assert _folders(first.parent) == sorted([first.name, other.name])


def test_a_failed_conversion_leaves_no_folder(source: Path, tmp_path: Path) -> None:
    root = tmp_path / "converted"
    failing = Conversion("plain", "reversed", write_nothing_then_fail)
    with pytest.raises(OSError, match="disk full"):
        convert_once(failing, source, source_repo="org/model", revision="r1", root=root)
    parent = conversion_folder(failing, "org/model", "r1", root).parent
    assert _folders(parent) == []  # only the lock file that the build took is left


def test_a_folder_without_the_marker_is_converted_again(source: Path, tmp_path: Path) -> None:
    root = tmp_path / "converted"
    stray = conversion_folder(REVERSE, "org/model", "r1", root)
    stray.mkdir(parents=True)
    (stray / "weights.bin").write_bytes(b"stale")
    done = convert_once(REVERSE, source, source_repo="org/model", revision="r1", root=root)
    assert done == stray and (done / "weights.bin").read_bytes() == b"cba"


def test_the_digest_follows_the_converter_source() -> None:
    assert len(REVERSE.digest()) == 12
    assert REVERSE.digest() == Conversion("a", "b", write_nothing_then_fail).digest()  # one file
    ct2 = load_conversion("whisperbench.weights.convert.ct2_to_hf")
    assert (ct2.source_format, ct2.target_format) == ("ctranslate2", "transformers")
    assert ct2.digest() != REVERSE.digest()
    with pytest.raises(TypeError, match="CONVERSION"):
        load_conversion("whisperbench.weights.layout")
