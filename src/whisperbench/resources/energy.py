"""The energy of a case's timed rounds, by the best meter this machine offers
(``choose_meter``): Zeus (``ZeusMonitor``, ml.energy) where it is installed and sees a device;
else NVML's energy counter of the CUDA GPU; else the CPU packages' RAPL counters in
``/sys/class/powercap``; else no meter, with the reason (``EnergyAbsent``), never a zero.

The counters advance in steps: NVML's every 20-100 ms, RAPL's about every millisecond. A window
shorter than about ten steps (``MIN_SPAN_S``) is off by a large share of one step; the suite
notes such a case (``short_span_note``)."""

from __future__ import annotations

import importlib.util
import re
import threading
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from whisperbench.resources.nvml import NvmlGpu, open_gpu

POWERCAP = Path("/sys/class/powercap")
NVML_PERIOD_S = 0.1
"""The slowest update period of NVML's energy counter (20-100 ms by GPU)."""
RAPL_PERIOD_S = 0.001
MIN_PERIODS = 10
"""A window shorter than this many counter periods gives a figure off by more than ~10 %."""
MIN_SPAN_S = MIN_PERIODS * NVML_PERIOD_S
"""The timed span (all timed rounds together) that gives a figure worth reading on every
meter: 1 s."""
AUDIO_HOUR_S = 3600.0
_PACKAGE_ZONE = re.compile(r"^intel-rapl:\d+$")
"""A CPU package's RAPL zone (``intel-rapl:0``; its sub-zones ``intel-rapl:0:0`` are parts of
it, and would be counted twice). AMD CPUs expose theirs under the same name."""


class EnergyMeter(ABC):
    """Energy between ``begin`` and ``end`` (joules)."""

    method: str
    """What is measured and how, in a sentence saved with the figure."""
    period_s: float
    """How often the counter behind it advances."""

    @abstractmethod
    def begin(self) -> None: ...

    @abstractmethod
    def end(self) -> float:
        """Joules since ``begin``."""


@dataclass(frozen=True)
class EnergyAbsent:
    """No meter here, and why."""

    reason: str


# --- RAPL ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RaplZone:
    name: str
    energy: Path
    """``energy_uj``: microjoules, wrapping to 0 past ``max_uj``."""
    max_uj: int


def rapl_zones(root: Path = POWERCAP) -> list[RaplZone] | str:
    """The readable CPU package zones under ``root``, or why there are none."""
    found = sorted(p for p in root.glob("intel-rapl:*") if _PACKAGE_ZONE.match(p.name))
    zones, unreadable = [], []
    for zone in found:
        energy = zone / "energy_uj"
        try:
            int(energy.read_text())
            top = int((zone / "max_energy_range_uj").read_text())
        except (OSError, ValueError) as exc:
            unreadable.append(f"{energy}: {exc.strerror if isinstance(exc, OSError) else exc}")
            continue
        zones.append(RaplZone(zone.name, energy, top))
    if zones:
        return zones
    if unreadable:
        return "RAPL is not readable here (" + "; ".join(unreadable) + "; it needs root)"
    return f"RAPL is not exposed here ({root} has no readable intel-rapl energy_uj)"


def wrapped_delta(before: int, after: int, max_uj: int) -> int:
    """Microjoules from ``before`` to ``after`` on a counter that wraps past ``max_uj``."""
    return after - before if after >= before else max_uj - before + after


class RaplMeter(EnergyMeter):
    """The CPU packages' RAPL counters, summed. ``poll`` between ``begin`` and ``end`` (the
    sampler does) keeps counting through more than one wrap of a long case."""

    period_s = RAPL_PERIOD_S

    def __init__(self, zones: list[RaplZone]) -> None:
        self.zones = zones
        self.method = (
            f"RAPL CPU package energy ({', '.join(z.name for z in zones)}, "
            "/sys/class/powercap energy_uj)"
        )
        self._last: list[int] = []
        self._total_uj = 0
        self._lock = threading.Lock()  # the sampler's thread polls while the case begins/ends

    def _read(self) -> list[int]:
        return [int(zone.energy.read_text()) for zone in self.zones]

    def begin(self) -> None:
        with self._lock:
            self._last, self._total_uj = self._read(), 0

    def poll(self) -> None:
        """Count what the counters advanced since the last reading (nothing before ``begin``)."""
        with self._lock:
            if not self._last:
                return
            now = self._read()
            self._total_uj += sum(
                wrapped_delta(before, after, zone.max_uj)
                for before, after, zone in zip(self._last, now, self.zones, strict=True)
            )
            self._last = now

    def end(self) -> float:
        self.poll()
        with self._lock:
            self._last = []
            return self._total_uj / 1e6


# --- NVML ---------------------------------------------------------------------------------------


class NvmlEnergyMeter(EnergyMeter):
    """The CUDA GPU's own energy counter (``nvmlDeviceGetTotalEnergyConsumption``): the whole
    GPU, another process's work on it included."""

    period_s = NVML_PERIOD_S

    def __init__(self, gpu: NvmlGpu) -> None:
        self.gpu = gpu
        self.method = (
            f"NVML energy counter of GPU {gpu.index} ({gpu.name}; "
            "nvmlDeviceGetTotalEnergyConsumption, the whole GPU)"
        )
        self._start = 0.0

    def begin(self) -> None:
        self._start = self.gpu.energy_mj() or 0.0

    def end(self) -> float:
        return ((self.gpu.energy_mj() or self._start) - self._start) / 1e3


# --- Zeus ---------------------------------------------------------------------------------------

WINDOW = "whisperbench-timed-rounds"


class ZeusMeter(EnergyMeter):
    """Zeus's ``ZeusMonitor``: the GPU's energy and the CPU packages' it sees, summed."""

    period_s = NVML_PERIOD_S

    def __init__(self, monitor: Any) -> None:
        self.monitor = monitor
        gpus, cpus = list(monitor.gpu_indices), list(monitor.cpu_indices)
        parts = [f"GPUs {gpus}" if gpus else "", f"CPU packages {cpus}" if cpus else ""]
        self.method = f"Zeus ZeusMonitor ({', '.join(p for p in parts if p)})"
        self.period_s = NVML_PERIOD_S if gpus else RAPL_PERIOD_S

    def begin(self) -> None:
        self.monitor.begin_window(WINDOW, sync_execution=False)

    def end(self) -> float:
        found = self.monitor.end_window(WINDOW, sync_execution=False)
        return float(sum(found.gpu_energy.values()) + sum((found.cpu_energy or {}).values()))


def zeus_meter(device: str, torch_index: int = 0) -> ZeusMeter | str:
    """Zeus watching ``device``'s GPU (none for a CPU case) and the CPU packages; or why not."""
    if importlib.util.find_spec("zeus") is None:
        return "Zeus is not installed"
    try:
        from zeus.monitor import ZeusMonitor

        monitor = ZeusMonitor(gpu_indices=[torch_index] if device == "cuda" else [])
    except Exception as exc:  # Zeus raises its own types for every device it cannot open
        return f"Zeus could not start ({type(exc).__name__}: {exc})"
    if not (monitor.gpu_indices or monitor.cpu_indices):
        return "Zeus sees no GPU and no RAPL here"
    return ZeusMeter(monitor)


# --- the choice ---------------------------------------------------------------------------------


def choose_meter(
    device: str,
    *,
    powercap: Path = POWERCAP,
    use_zeus: bool = True,
    gpu: NvmlGpu | str | None = None,
) -> EnergyMeter | EnergyAbsent:
    """The best meter for a case on ``device``: Zeus, then NVML (CUDA only), then RAPL; else
    ``EnergyAbsent`` naming why each was not used. ``gpu``: the NVML GPU already opened (or
    why none), else opened here for a CUDA case."""
    reasons = []
    if use_zeus:
        found = zeus_meter(device)
        if isinstance(found, ZeusMeter):
            return found
        reasons.append(found)
    if device == "cuda":
        gpu = open_gpu() if gpu is None else gpu
        if isinstance(gpu, NvmlGpu) and gpu.energy_mj() is not None:
            return NvmlEnergyMeter(gpu)
        reasons.append(gpu if isinstance(gpu, str) else f"GPU {gpu.index} has no energy counter")
    else:
        reasons.append(f"no NVIDIA GPU energy for a {device} case")
    zones = rapl_zones(powercap)
    if isinstance(zones, list):
        return RaplMeter(zones)
    reasons.append(zones)
    return EnergyAbsent("; ".join(reasons))


def per_audio_hour(joules: float, audio_s: float) -> float | None:
    """Joules per hour of audio transcribed (None without audio)."""
    return joules * AUDIO_HOUR_S / audio_s if audio_s > 0 else None


def short_span_note(span_s: float, period_s: float) -> str | None:
    """A warning when the timed span is shorter than ``MIN_PERIODS`` counter periods (of the
    meter's counter, and at least NVML's slowest for a window read at its two ends)."""
    needed = MIN_PERIODS * max(period_s, NVML_PERIOD_S)
    if span_s >= needed:
        return None
    return (
        f"the timed rounds took {span_s:.2f} s, under {needed:.1f} s ({MIN_PERIODS} updates of "
        "the energy counter): the figure may be off by tens of percent; run more --rounds"
    )


def absence_lines(reasons: Iterable[str | None]) -> list[str]:
    """A line per reason energy was absent, with how many cases gave it (None: measured, or a
    run from before energy was)."""
    counts = Counter(reason for reason in reasons if reason)
    return [
        f"energy per audio hour is absent for {count} case(s): {reason}"
        for reason, count in counts.items()
    ]
