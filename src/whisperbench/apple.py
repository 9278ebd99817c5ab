"""The facts of an Apple machine that a reader of a saved run needs: chip, GPU cores, unified
memory, macOS version, performance and efficiency cores.

They are read from two commands, ``sysctl`` and ``system_profiler SPDisplaysDataType -json``,
by pure functions over the commands' text (tested on recorded outputs on any machine); only
``read_apple_facts`` runs them, and only on macOS.
"""

from __future__ import annotations

import json
import platform
import subprocess
from dataclasses import asdict, dataclass
from typing import Any

SYSCTL_KEYS = (
    "machdep.cpu.brand_string",
    "hw.model",
    "hw.memsize",
    "hw.perflevel0.physicalcpu",
    "hw.perflevel1.physicalcpu",
)
"""Chip name, Mac model, unified memory in bytes, performance cores, efficiency cores
(``perflevel1`` is absent on chips with one kind of core, and both on Intel Macs)."""
GPU_COMMAND = ("system_profiler", "SPDisplaysDataType", "-json")
COMMAND_TIMEOUT_S = 10


@dataclass(frozen=True)
class AppleFacts:
    chip: str | None
    model: str | None
    gpu_cores: int | None
    unified_memory_gb: float | None
    macos_version: str | None
    performance_cores: int | None
    efficiency_cores: int | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_sysctl(text: str) -> dict[str, str]:
    """``sysctl NAME...`` output (``name: value`` lines) as a mapping; unknown names are
    reported on stderr by sysctl and simply absent here."""
    values = {}
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() and value.strip():
            values[name.strip()] = value.strip()
    return values


def _int(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


def parse_gpu_cores(profiler_json: str) -> int | None:
    """The Apple GPU's core count (``sppci_cores``) from ``system_profiler SPDisplaysDataType
    -json``; None where it is not reported (Intel Macs, or unreadable output)."""
    try:
        entries = json.loads(profiler_json).get("SPDisplaysDataType") or []
    except (ValueError, AttributeError):
        return None
    for entry in entries:
        cores = _int(str(entry.get("sppci_cores", ""))) if isinstance(entry, dict) else None
        if cores:
            return cores
    return None


def apple_facts(sysctl_text: str, profiler_json: str, macos_version: str) -> AppleFacts:
    """The facts from the two commands' outputs and ``platform.mac_ver()[0]``."""
    values = parse_sysctl(sysctl_text)
    memory = _int(values.get("hw.memsize"))
    return AppleFacts(
        chip=values.get("machdep.cpu.brand_string"),
        model=values.get("hw.model"),
        gpu_cores=parse_gpu_cores(profiler_json),
        unified_memory_gb=None if memory is None else round(memory / 2**30, 1),
        macos_version=macos_version or None,
        performance_cores=_int(values.get("hw.perflevel0.physicalcpu")),
        efficiency_cores=_int(values.get("hw.perflevel1.physicalcpu")),
    )


def _output(command: tuple[str, ...]) -> str:
    """A command's standard output, whatever its exit status (sysctl exits 1 when one of
    several names is unknown but prints the others); empty when it cannot run."""
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


def read_apple_facts() -> AppleFacts | None:
    """This Mac's facts; None on any other system."""
    if platform.system() != "Darwin":
        return None
    return apple_facts(
        _output(("sysctl", *SYSCTL_KEYS)), _output(GPU_COMMAND), platform.mac_ver()[0]
    )


def macos_version() -> str | None:
    """``platform.mac_ver()``'s version (``"14.5"``) on macOS, else None."""
    if platform.system() != "Darwin":
        return None
    return platform.mac_ver()[0] or None


def performance_cores() -> int | None:
    """On macOS, the performance cores (``hw.perflevel0.physicalcpu``): the cores a
    compute-bound thread pool should use, as efficiency cores slow every thread that waits
    for them. None elsewhere, or where macOS does not tell."""
    if platform.system() != "Darwin":
        return None
    return _int(
        parse_sysctl(_output(("sysctl", "hw.perflevel0.physicalcpu"))).get(
            "hw.perflevel0.physicalcpu"
        )
    )
