"""What a saved run looks like once published: the run as the suite saved it, but for the
hostname that pytest-benchmark records as ``machine_info.node`` (``platform.node()``), and the
home folder at the start of any path it holds (an audio file's ``audio_path``, which names the
user: ``/Users/alice/clips/a.flac`` is published as ``~/clips/a.flac``).

A shared store names machines by what they are, never by hostname (``machines``): the published
copy's ``node`` is what the machine is (``machines.default_folder``: its GPU or chip, else its
CPU, cores and memory, and its OS), read from the run's own facts. It does not depend on the
team's ``--machine-label``, so that one run has one published copy, one content digest and one
path however it is labelled (a label is the folder it goes into, not part of its content).

The local storage keeps the run as pytest-benchmark wrote it; only the uploaded copy changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from whisperbench.fleet.machines import default_folder
from whisperbench.history import Run

__all__ = ["HOST_KEY", "published_copy"]

HOST_KEY = "node"
"""The key of ``machine_info`` where pytest-benchmark records the hostname."""


def published_copy(run: Run, data: bytes, home: Path | None = None) -> bytes:
    """``data`` (the saved file of ``run``) with ``machine_info.node`` replaced by what the
    machine is and ``home`` (this user's home folder) at the start of a path replaced by
    ``~``, written as pytest-benchmark writes a run (4-space indents, ASCII); the other fields
    as they were, in their order."""
    parsed = _without_home(json.loads(data), str(home or Path.home()).rstrip("/"))
    machine_info = parsed.get("machine_info")
    if isinstance(machine_info, dict) and HOST_KEY in machine_info:
        machine_info[HOST_KEY] = default_folder(run)
    return json.dumps(parsed, ensure_ascii=True, indent=4).encode("ascii")


def _without_home(value: Any, home: str) -> Any:
    """``value`` with every string that is ``home`` or starts with ``home/`` written from
    ``~`` (a home of ``/`` or none changes nothing)."""
    if isinstance(value, dict):
        return {key: _without_home(item, home) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_home(item, home) for item in value]
    if isinstance(value, str) and home and (value == home or value.startswith(home + "/")):
        return "~" + value[len(home) :]
    return value
