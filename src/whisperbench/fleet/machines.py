"""What a machine is, from what its saved runs record (``machine_info``: pytest-benchmark's
facts, and whisperbench's under ``machine_info["whisperbench"]``, see ``devices.machine_facts``).

A machine is named by what it is (its GPU, else its Apple chip, else its CPU with its core
count and memory), never by its hostname; a team may name it with ``--machine-label`` when it
publishes (``hub``), and the label is the folder its runs take in the shared store. Reading
runs back, a folder is a label unless it is the name this module would have given the run
(``default_folder``) or pytest-benchmark's own machine id of a local storage
(``Linux-CPython-3.11-64bit``).

Runs are grouped for the leaderboard by ``Machine``: the name, the accelerator, the CPU, the
memory, the OS and the torch build. An engine's own version (faster-whisper, pywhispercpp...)
is shown beside the engine (``engine_version``) rather than splitting the machine: an engine
upgraded on one machine is still that machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from whisperbench.history import Run

LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A ``--machine-label``: it names a folder in the dataset repository."""
_PYTEST_BENCHMARK_ID = re.compile(r"[A-Za-z]+-[A-Za-z]+-\d+\.\d+-(\d+|\?)bit")


def label_problem(label: str) -> str | None:
    """Why ``label`` cannot name a machine (None: it can)."""
    if LABEL.fullmatch(label):
        return None
    return (
        f"machine label {label!r} cannot name a folder of the dataset repo: use 1 to 64 "
        "letters, digits, '.', '_' or '-', starting with a letter or digit"
    )


def slug(text: str) -> str:
    """``NVIDIA H100 80GB HBM3 Linux`` -> ``nvidia-h100-80gb-hbm3-linux``."""
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-.") or "machine"


def _cpu(run: Run) -> str:
    info = run.machine_info.get("cpu")
    brand = info.get("brand_raw") if isinstance(info, dict) else None
    text = str(brand or run.facts.get("cpu") or run.machine_info.get("machine") or "unknown CPU")
    return re.sub(r"\((R|TM)\)", "", text).replace("  ", " ").strip()


def _cores(run: Run) -> int | None:
    count = run.facts.get("cpu_count_logical")
    if isinstance(count, int):
        return count
    info = run.machine_info.get("cpu")
    count = info.get("count") if isinstance(info, dict) else None
    return count if isinstance(count, int) else None


def _ram(run: Run) -> str | None:
    """The memory in whole GB: what the OS reports moves by a tenth from session to session
    (125.8, then 125.9), and must not make two machines of one."""
    value = run.facts.get("ram_gb")
    return f"{round(value)} GB" if isinstance(value, int | float) else None


def what_it_is(run: Run) -> str:
    """The machine's name from its hardware: the GPU, else the Apple chip (with its memory),
    else the CPU with its cores and memory."""
    facts = run.facts
    if facts.get("gpu_name"):
        return str(facts["gpu_name"])
    ram = _ram(run)
    if facts.get("apple_chip"):
        return f"{facts['apple_chip']}" + (f", {ram}" if ram else "")
    cores = _cores(run)
    parts = [_cpu(run) + (f" x{cores}" if cores else "")]
    return ", ".join([*parts, *([ram] if ram else [])])


def os_name(run: Run) -> str:
    """``macOS 15.1``, ``Linux 6.18``, ``Windows 11``: the OS and its major version."""
    info = run.machine_info
    platform_text = str(run.facts.get("platform") or "")
    mac = re.match(r"macOS-(\d+(?:\.\d+)?)", platform_text)
    if mac:
        return f"macOS {mac[1]}"
    system = str(info.get("system") or "unknown OS")
    release = re.match(r"\d+(?:\.\d+)?", str(info.get("release") or ""))
    return f"{system} {release[0]}" if release else system


def default_folder(run: Run) -> str:
    """The folder a run takes in a shared store when its machine has no label."""
    return slug(f"{what_it_is(run)} {run.machine_info.get('system') or ''}")


def label_of(run: Run) -> str | None:
    """The team's name for the run's machine: its folder, unless that is the name this module
    would have given it or pytest-benchmark's own machine id."""
    folder = run.machine
    if folder == default_folder(run) or _PYTEST_BENCHMARK_ID.fullmatch(folder):
        return None
    return folder


def recorded_versions(run: Run) -> dict[str, Any]:
    versions = run.facts.get("versions")
    return versions if isinstance(versions, dict) else {}


def torch_build(run: Run) -> str:
    """``torch 2.11.0, CUDA 13.0`` (``torch ?`` where the run did not record it)."""
    version = recorded_versions(run).get("torch") or "?"
    cuda = run.facts.get("cuda_version") if run.facts.get("cuda_available") else None
    return f"torch {version}" + (f", CUDA {cuda}" if cuda else "")


@dataclass(frozen=True, order=True)
class Machine:
    """A machine as the leaderboard groups runs: two hosts of the same kind, named alike,
    are one machine."""

    name: str
    accelerator: str
    cpu: str
    memory: str
    os: str
    torch: str
    labelled: bool = False

    def describe(self) -> str:
        """Everything but the name, in one line."""
        return "; ".join([self.accelerator, self.cpu, self.memory, self.os, self.torch])

    @property
    def title(self) -> str:
        return f"{self.name} ({self.describe()})" if self.labelled else self.name


def machine_of(run: Run) -> Machine:
    facts = run.facts
    label = label_of(run)
    if facts.get("gpu_name"):
        memory = facts.get("gpu_memory_gb")
        accelerator = str(facts["gpu_name"]) + (
            f" ({memory:g} GB)" if isinstance(memory, int | float) else ""
        )
    elif facts.get("apple_chip"):
        accelerator = f"{facts['apple_chip']} (MPS)" if facts.get("mps_available") else "no GPU"
    else:
        accelerator = "no GPU"
    cores = _cores(run)
    return Machine(
        name=label or what_it_is(run),
        accelerator=accelerator,
        cpu=_cpu(run) + (f" x{cores}" if cores else ""),
        memory=f"{_ram(run) or '? GB'} RAM",
        os=os_name(run),
        torch=torch_build(run),
        labelled=label is not None,
    )
