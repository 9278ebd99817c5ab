"""A light background sampler: a daemon thread that reads a few probes (host RSS, and through
NVML the process's device memory, power, temperature and SM clock) every ``interval_s`` and
keeps each reading with its time. ``stop`` ends the thread and returns what it saw."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import psutil

from whisperbench.resources.nvml import MiB, NvmlGpu

DEFAULT_INTERVAL_S = 0.2
MIN_INTERVAL_S = 0.01
"""Below this the sampler's own work is no longer light on a busy CPU."""
MAX_INTERVAL_S = 60.0


def check_interval(interval_s: float) -> None:
    """``--resource-interval``, or ValueError naming the fix."""
    if not MIN_INTERVAL_S <= interval_s <= MAX_INTERVAL_S:  # NaN too
        raise ValueError(
            f"--resource-interval {interval_s}: give the seconds between resource samples, "
            f"from {MIN_INTERVAL_S:g} to {MAX_INTERVAL_S:g} (default {DEFAULT_INTERVAL_S:g}; "
            "0.1 to 0.25 keeps it light)"
        )


Probe = Callable[[], "float | None"]


def host_rss_mb(process: psutil.Process | None = None) -> Probe:
    """This process's resident set size, MB (psutil)."""
    process = process or psutil.Process()
    return lambda: process.memory_info().rss / MiB


def gpu_probes(gpu: NvmlGpu, device_mb: Probe) -> dict[str, Probe]:
    """The NVML series of a CUDA case: ``device_mb`` (the process's memory, or the GPU's
    where NVML does not list this process), power, temperature and SM clock."""
    return {
        "device_mb": device_mb,
        "power_w": gpu.power_w,
        "temperature_c": gpu.temperature_c,
        "sm_clock_mhz": gpu.sm_clock_mhz,
    }


@dataclass
class Samples:
    """Readings by series, each beside ``times`` (seconds from the sampler's start)."""

    times: list[float] = field(default_factory=list)
    columns: dict[str, list[float | None]] = field(default_factory=dict)


class ResourceSampler:
    """Reads ``probes`` every ``interval_s`` on a daemon thread, from ``start`` to ``stop``;
    ``on_tick`` runs at each sample too (a RAPL meter's poll)."""

    def __init__(
        self,
        interval_s: float,
        probes: Mapping[str, Probe],
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        check_interval(interval_s)
        self.interval_s = interval_s
        self.probes = dict(probes)
        self.on_tick = on_tick
        self.samples = Samples(columns={name: [] for name in self.probes})
        self.started = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def start(self) -> ResourceSampler:
        self.started = time.perf_counter()
        self._sample()
        self._thread = threading.Thread(target=self._run, name="whisperbench-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> Samples:
        """Ends the thread (after one last sample) and returns every sample; again, the same
        samples."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
            self._sample()
        return self.samples

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def _sample(self) -> None:
        self.samples.times.append(self.elapsed())
        for name, probe in self.probes.items():
            self.samples.columns[name].append(_read(probe))
        if self.on_tick is not None:
            # a counter that stopped reading, or read half-written: end() says so
            with contextlib.suppress(OSError, ValueError):
                self.on_tick()


def _read(probe: Probe) -> float | None:
    try:
        return probe()
    except (OSError, psutil.Error):
        return None
