"""One NVIDIA GPU read through NVML (``nvidia-ml-py``, module ``pynvml``): its energy counter,
power, temperature, SM clock and the device memory of this process. ``open_gpu`` returns the
GPU that torch's current CUDA device is, or the reason none can be read (no ``pynvml``, no
driver, no GPU): the callers record that reason, never a zero."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MiB = 1024 * 1024

NO_PYNVML = "nvidia-ml-py (module pynvml) is not installed (pip install 'whisperbench[energy]')"


def _pynvml() -> Any:
    """The ``pynvml`` module, or ImportError."""
    import pynvml

    return pynvml


def visible_index(environ: Mapping[str, str], torch_index: int = 0) -> int | str:
    """NVML's name for torch's CUDA device ``torch_index``: the entry of
    ``CUDA_VISIBLE_DEVICES`` at that position (an NVML index, or a ``GPU-...`` UUID), else the
    index itself (NVML counts every GPU; CUDA only the visible ones)."""
    visible = [part.strip() for part in environ.get("CUDA_VISIBLE_DEVICES", "").split(",")]
    visible = [part for part in visible if part]
    if torch_index < len(visible):
        entry = visible[torch_index]
        return int(entry) if entry.isdigit() else entry
    return torch_index


@dataclass(frozen=True)
class NvmlGpu:
    """One GPU's NVML handle, with the module that reads it."""

    module: Any
    handle: Any
    index: int | str
    name: str

    def energy_mj(self) -> float | None:
        """The GPU's energy counter (mJ since the driver loaded; Volta and newer), or None."""
        try:
            return float(self.module.nvmlDeviceGetTotalEnergyConsumption(self.handle))
        except self.module.NVMLError:
            return None

    def power_w(self) -> float | None:
        return self._read(self.module.nvmlDeviceGetPowerUsage, 1e-3)

    def temperature_c(self) -> float | None:
        return self._read(
            lambda h: self.module.nvmlDeviceGetTemperature(h, self.module.NVML_TEMPERATURE_GPU)
        )

    def sm_clock_mhz(self) -> float | None:
        return self._read(
            lambda h: self.module.nvmlDeviceGetClockInfo(h, self.module.NVML_CLOCK_SM)
        )

    def used_mb(self) -> float | None:
        """Device memory used on the whole GPU, by every process."""
        return self._read(lambda h: self.module.nvmlDeviceGetMemoryInfo(h).used, 1 / MiB)

    def process_mb(self, pid: int | None = None) -> float | None:
        """The device memory NVML counts for process ``pid`` (this one by default); None when
        NVML lists no such process (none yet, or a container whose PIDs NVML does not see)."""
        pid = os.getpid() if pid is None else pid
        try:
            running = self.module.nvmlDeviceGetComputeRunningProcesses(self.handle)
        except self.module.NVMLError:
            return None
        used = [p.usedGpuMemory for p in running if p.pid == pid and p.usedGpuMemory is not None]
        return sum(used) / MiB if used else None

    def _read(self, read: Any, scale: float = 1.0) -> float | None:
        try:
            return float(read(self.handle)) * scale
        except self.module.NVMLError:
            return None


def open_gpu(environ: Mapping[str, str] | None = None, torch_index: int = 0) -> NvmlGpu | str:
    """The GPU torch's CUDA device ``torch_index`` is, through NVML; or why it cannot be read."""
    try:
        module = _pynvml()
    except ImportError:
        return NO_PYNVML
    try:
        module.nvmlInit()
        index = visible_index(os.environ if environ is None else environ, torch_index)
        if isinstance(index, int):
            if index >= module.nvmlDeviceGetCount():
                return f"NVML sees no GPU {index} (it counts {module.nvmlDeviceGetCount()})"
            handle = module.nvmlDeviceGetHandleByIndex(index)
        else:
            handle = module.nvmlDeviceGetHandleByUUID(index)
        name = module.nvmlDeviceGetName(handle)
    except module.NVMLError as exc:
        return f"NVML could not be read (no NVIDIA driver or GPU here: {exc})"
    return NvmlGpu(module, handle, index, name.decode() if isinstance(name, bytes) else str(name))
