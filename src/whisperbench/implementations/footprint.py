"""Device memory of an engine that allocates on Metal outside torch and MLX (whisper.cpp's ggml
buffers): the process's physical footprint on macOS, sampled over the case.

On Apple Silicon the GPU shares the host's memory, and the kernel charges a process's Metal
buffers to its *physical footprint* (``ri_phys_footprint`` of ``proc_pid_rusage``, what
Activity Monitor's Memory column and ``footprint(1)`` show). So the footprint is one figure for
host and Metal memory together, and the record's sentence says so. ggml exposes no allocator
counter through pywhispercpp, and no peak is kept per case, so a background thread samples the
footprint (``FootprintMeter``); a spike shorter than the interval can be missed.

Elsewhere (Linux) there is no footprint: ``phys_footprint_bytes`` gives None and the meter
records nothing. The ctypes layout is checked here against ``<sys/resource.h>``; it has not run
on a Mac.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from whisperbench.devices import DeviceMemory, DeviceMemoryMeter, UnmeasuredDeviceMemory
from whisperbench.resources.nvml import MiB
from whisperbench.resources.sampler import DEFAULT_INTERVAL_S, ResourceSampler

__all__ = [
    "FOOTPRINT_MEASURE",
    "RUSAGE_INFO_V2",
    "FootprintMeter",
    "RusageInfoV2",
    "outside_torch_meter",
    "phys_footprint_bytes",
]

RUSAGE_INFO_V2 = 2
"""``proc_pid_rusage``'s flavor for ``struct rusage_info_v2`` (``<sys/resource.h>``)."""

_V2_COUNTERS = (
    "ri_user_time",
    "ri_system_time",
    "ri_pkg_idle_wkups",
    "ri_interrupt_wkups",
    "ri_pageins",
    "ri_wired_size",
    "ri_resident_size",
    "ri_phys_footprint",
    "ri_proc_start_abstime",
    "ri_proc_exit_abstime",
    "ri_child_user_time",
    "ri_child_system_time",
    "ri_child_pkg_idle_wkups",
    "ri_child_interrupt_wkups",
    "ri_child_pageins",
    "ri_child_elapsed_abstime",
    "ri_diskio_bytesread",
    "ri_diskio_byteswritten",
)


class RusageInfoV2(ctypes.Structure):
    """``struct rusage_info_v2``: a 16-byte UUID, then 18 ``uint64_t`` counters."""

    _fields_ = [("ri_uuid", ctypes.c_uint8 * 16)] + [
        (name, ctypes.c_uint64) for name in _V2_COUNTERS
    ]


FOOTPRINT_MEASURE = (
    "peak of the process's physical footprint during the case, sampled every {interval:g} s "
    "(proc_pid_rusage ri_phys_footprint: host and Metal memory together on Apple Silicon's "
    "unified memory; ggml's Metal buffers included)"
)


@cache
def _libproc() -> ctypes.CDLL | None:
    if sys.platform != "darwin":
        return None
    path = ctypes.util.find_library("proc") or ctypes.util.find_library("System")
    if path is None:
        return None
    lib = ctypes.CDLL(path)
    lib.proc_pid_rusage.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.POINTER(RusageInfoV2)]
    lib.proc_pid_rusage.restype = ctypes.c_int
    return lib


def phys_footprint_bytes(pid: int | None = None) -> int | None:
    """The physical footprint of ``pid`` (this process by default) in bytes, on macOS; None
    where the platform has none or the call fails."""
    lib = _libproc()
    if lib is None:
        return None
    info = RusageInfoV2()
    if lib.proc_pid_rusage(os.getpid() if pid is None else pid, RUSAGE_INFO_V2, info) != 0:
        return None
    return int(info.ri_phys_footprint)


@dataclass
class FootprintMeter:
    """Samples ``read`` (the footprint) every ``interval_s`` from ``start`` to ``finish``: the
    peak is the case's figure, the first reading its baseline. No reading, no figure."""

    interval_s: float = DEFAULT_INTERVAL_S
    read: Callable[[], int | None] = phys_footprint_bytes
    _sampler: ResourceSampler | None = field(default=None, init=False, repr=False)

    @property
    def measure(self) -> str:
        return FOOTPRINT_MEASURE.format(interval=self.interval_s)

    def start(self) -> int | None:
        """The baseline, with sampling begun; a sampler left running by a case that raised
        before its ``finish`` is stopped first (an engine keeps one meter)."""
        if self._sampler is not None:
            self._sampler.stop()
            self._sampler = None
        baseline = self.read()
        if baseline is None:
            return None
        self._sampler = ResourceSampler(self.interval_s, {"footprint_mb": self._read_mb}).start()
        return baseline

    def finish(self, baseline_bytes: int | None) -> DeviceMemory | None:
        sampler, self._sampler = self._sampler, None
        if sampler is None or baseline_bytes is None:
            return None
        readings = [v for v in sampler.stop().columns["footprint_mb"] if v is not None]
        peak = max([baseline_bytes, *(round(v * MiB) for v in readings)])
        return DeviceMemory(self.measure, peak, baseline_bytes)

    def _read_mb(self) -> float | None:
        found = self.read()
        return None if found is None else found / MiB


def outside_torch_meter(device: str) -> DeviceMemoryMeter:
    """The meter of an engine that allocates outside torch (whisper.cpp, faster-whisper): the
    process's footprint on Metal (``mps``), where nothing else sees ggml's buffers; none on
    CUDA, where NVML's per-process figure is the device's own, nor on the CPU (peak RSS)."""
    if device == "mps":
        return FootprintMeter()
    return UnmeasuredDeviceMemory()
