"""The published copy of a recorded run: no hostname, and no home folder in its paths."""

from __future__ import annotations

import json
from pathlib import Path

from whisperbench.fleet.published import HOST_KEY, published_copy
from whisperbench.history import load_history

RECORDED = Path(__file__).resolve().parents[2] / "reports" / "cpu" / "runs-7ee3082"


def test_the_home_folder_leaves_the_paths_and_nothing_else_changes(tmp_path: Path) -> None:
    run = load_history(RECORDED).runs[0]
    saved = json.loads(run.path.read_bytes())
    home = tmp_path / "alice"
    first = saved["benchmarks"][0]["extra_info"]
    first["audio_path"] = str(home / "clips" / "a.flac")
    first["clip"] = str(home) + "-not-a-path-below-it"  # shares the prefix, not the folder
    published = json.loads(published_copy(run, json.dumps(saved).encode(), home=home))
    extra = published["benchmarks"][0]["extra_info"]
    assert extra["audio_path"] == "~/clips/a.flac"
    assert extra["clip"] == first["clip"]
    assert published["machine_info"][HOST_KEY] != saved["machine_info"][HOST_KEY]
    del published["machine_info"][HOST_KEY], saved["machine_info"][HOST_KEY]
    del extra["audio_path"], first["audio_path"]
    assert published == saved  # every other field as it was


def test_a_run_without_the_home_folder_is_published_as_it_was_but_the_host() -> None:
    run = load_history(RECORDED).runs[0]
    saved = json.loads(run.path.read_bytes())
    published = json.loads(published_copy(run, run.path.read_bytes(), home=Path("/nonexistent")))
    del published["machine_info"][HOST_KEY], saved["machine_info"][HOST_KEY]
    assert published == saved
