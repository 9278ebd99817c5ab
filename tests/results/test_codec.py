"""Saved records carry ``schema_version``; runs saved before it (every run under ``reports/``,
version 1) load through the explicit upgrades, and a record of a version this whisperbench does
not know is refused with a line that says why."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from whisperbench.errors import ResultError
from whisperbench.results import codec
from whisperbench.results.codec import (
    SCHEMA_VERSION,
    VERSION_KEY,
    from_extra_info,
    to_extra_info,
    upgraded,
)


def _saved_records(files: tuple[Path, ...]) -> list[dict[str, Any]]:
    return [
        bench["extra_info"]
        for path in files
        for bench in json.loads(path.read_text()).get("benchmarks", [])
        if bench.get("extra_info", {}).get("kind")
    ]


def test_runs_saved_before_the_version_load_as_version_1(
    recorded_files: tuple[Path, ...],
) -> None:
    saved = [info for info in _saved_records(recorded_files) if VERSION_KEY not in info]
    assert len(saved) > 200  # the runs recorded before the version was written
    for info in saved:
        record = from_extra_info(info)
        assert VERSION_KEY not in record.extra
        written = to_extra_info(record)
        assert written[VERSION_KEY] == SCHEMA_VERSION
        assert from_extra_info(json.loads(json.dumps(written))) == record


def test_each_version_goes_through_its_upgrade_in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """A version 3 with its upgrade: a version-1 record passes 1 -> 2 -> 3."""
    seen: list[int] = []

    def to_3(data: dict[str, Any]) -> dict[str, Any]:
        seen.append(data[VERSION_KEY])
        return {**data, "renamed": data.get("old"), VERSION_KEY: 3}

    monkeypatch.setattr(codec, "SCHEMA_VERSION", 3)
    monkeypatch.setitem(codec.UPGRADES, 2, to_3)
    out = upgraded({"kind": "load", "old": 1})
    assert seen == [2]
    assert out == {"kind": "load", "old": 1, "renamed": 1, VERSION_KEY: 3}


@pytest.mark.parametrize("version", [SCHEMA_VERSION + 1, 0, "2"])
def test_a_version_it_does_not_know_is_refused(version: object) -> None:
    with pytest.raises(ResultError, match=VERSION_KEY):
        upgraded({"kind": "load", VERSION_KEY: version})
