"""Pick the device (cuda, mps, cpu) and dtype, synchronise it, probe its memory, describe
the machine.

The decisions are pure functions of what is present (``DevicePresence``), so the MPS and
CUDA branches are unit-tested on any machine; only ``DevicePresence.detect`` asks torch.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import psutil

from whisperbench import mps
from whisperbench.apple import performance_cores, read_apple_facts
from whisperbench.errors import DeviceOutOfMemoryError, DeviceUnavailableError

if TYPE_CHECKING:
    import torch
# torch itself is imported where a function needs it: the commands that never touch a device
# (report, compare, publish, download, --help, import-model) do without its 2 s import

DeviceName = Literal["cuda", "mps", "cpu"]
DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")

_DTYPES: dict[str, str] = {
    "float32": "float32",
    "fp32": "float32",
    "float16": "float16",
    "fp16": "float16",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
}
"""The names --dtype takes, each with its torch dtype's name."""


@dataclass(frozen=True)
class DevicePresence:
    """Which accelerators this process can use."""

    cuda: bool
    mps: bool
    mps_problem: str | None = None
    """Why whisperbench cannot use the MPS that torch offers (a torch too old), or None."""

    @classmethod
    def detect(cls) -> DevicePresence:
        import torch

        mps_backend = getattr(torch.backends, "mps", None)
        mps_ready = bool(mps_backend is not None and mps_backend.is_available())
        return cls(
            cuda=torch.cuda.is_available(),
            mps=mps_ready,
            mps_problem=mps.torch_problem(torch.__version__) if mps_ready else None,
        )


def resolve_device(requested: str = "auto", presence: DevicePresence | None = None) -> DeviceName:
    """``auto`` -> cuda, then mps (where whisperbench can use it), then cpu. An absent device
    is an error that says what is here."""
    presence = presence or DevicePresence.detect()
    requested = requested.lower()
    if requested.startswith("cuda:"):
        requested = "cuda"
    if requested not in DEVICE_CHOICES:
        raise DeviceUnavailableError(
            f"unknown device {requested!r}; choose one of {', '.join(DEVICE_CHOICES)}"
        )
    if requested == "auto":
        if presence.cuda:
            return "cuda"
        return "mps" if presence.mps and not presence.mps_problem else "cpu"
    if requested == "cuda" and not presence.cuda:
        import torch

        raise DeviceUnavailableError(
            "device 'cuda' was asked for but torch sees no CUDA GPU here "
            f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}); "
            "use --device auto or cpu, or install a CUDA build of torch"
        )
    if requested == "mps" and not presence.mps:
        import torch

        raise DeviceUnavailableError(
            "device 'mps' was asked for but PyTorch MPS is not available here (it needs "
            "Apple Silicon and macOS 13 or newer, 14 or newer for torch releases since late "
            f"2025; torch {torch.__version__}, {platform.platform()}); use --device auto or cpu"
        )
    if requested == "mps" and presence.mps_problem:
        raise DeviceUnavailableError(f"device 'mps' cannot be used: {presence.mps_problem}")
    return requested  # type: ignore[return-value]


def default_dtype(device: str) -> torch.dtype:
    """fp16 on cuda and mps, fp32 on cpu."""
    import torch

    return torch.float16 if device in ("cuda", "mps") else torch.float32


def resolve_dtype(device: str, requested: str | None = None) -> torch.dtype:
    """The dtype to load with: the override when given, else the device default."""
    if requested is None or requested == "auto":
        return default_dtype(device)
    import torch

    try:
        dtype: torch.dtype = getattr(torch, _DTYPES[requested.lower()])
    except KeyError:
        raise ValueError(
            f"unknown dtype {requested!r}; choose one of auto, {', '.join(sorted(_DTYPES))}"
        ) from None
    return dtype


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def initialize(device: str) -> None:
    """Create the device's context now (CUDA takes seconds), so that no timed load pays for it.
    On MPS, also cap the allocator at the recommended working set (``mps.watermark``), unless
    ``PYTORCH_MPS_HIGH_WATERMARK_RATIO`` chose otherwise: an over-commit then fails with an
    out-of-memory error instead of swapping."""
    if device in ("cuda", "mps"):
        import torch

        torch.zeros(1, device=device)
        synchronize(device)
    if device == "mps":
        set_mps_watermark(mps.watermark(os.environ))


def set_mps_watermark(mark: mps.Watermark) -> None:
    """Cap the MPS allocator at ``mark`` where whisperbench chose it (the user's
    ``PYTORCH_MPS_HIGH_WATERMARK_RATIO`` stays as torch read it)."""
    import torch

    if mark.set_by_whisperbench:
        torch.mps.set_per_process_memory_fraction(mark.ratio)


def synchronize(device: str) -> None:
    """Wait for queued GPU work, so that a clock read afterwards covers it."""
    if device not in ("cuda", "mps"):
        return
    import torch

    if device == "cuda":
        torch.cuda.synchronize()
    elif device == "mps":
        torch.mps.synchronize()


class PhaseClock:
    """Wall time per phase of one call, the device synchronised at each lap."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        synchronize(self.device)
        now = time.perf_counter()
        self.laps[phase] = self.laps.get(phase, 0.0) + now - self._last
        self._last = now


@dataclass(frozen=True)
class MemoryInfo:
    free_bytes: int
    total_bytes: int


def available_memory_bytes() -> int:
    """The system memory available now (``psutil``'s ``available``); on Apple Silicon it is the
    unified memory the GPU draws on too."""
    return int(psutil.virtual_memory().available)


def memory_info(device: str) -> MemoryInfo:
    """Free and total memory usable by ``device`` (unified memory on Apple Silicon)."""
    import torch

    if device == "cuda":
        free, total = torch.cuda.mem_get_info()
        return MemoryInfo(int(free), int(total))
    vm = psutil.virtual_memory()
    if device == "mps":
        recommended = int(torch.mps.recommended_max_memory())
        free = mps.free_bytes(
            recommended,
            int(torch.mps.current_allocated_memory()),
            int(vm.available),
            mps.watermark(os.environ),
        )
        return MemoryInfo(free, recommended)
    return MemoryInfo(int(vm.available), int(vm.total))


_OUT_OF_MEMORY_MARKS = ("out of memory", "can't allocate memory", "not enough memory")


@contextmanager
def explain_out_of_memory(what: str, device: str, batch_size: int | None) -> Iterator[None]:
    """Turn an allocation failure into an error that names the work, the device, the batch
    size and the fix; the device's cached blocks are released so that later work can run."""
    import torch

    try:
        yield
    except (torch.OutOfMemoryError, RuntimeError) as exc:
        if not isinstance(exc, torch.OutOfMemoryError) and not any(
            mark in str(exc) for mark in _OUT_OF_MEMORY_MARKS
        ):
            raise
        empty_cache(device)
        smaller = (
            f"--batch-size {max(1, batch_size // 2)}" if batch_size and batch_size > 1 else None
        )
        fix = " or ".join(
            filter(None, (smaller, "a smaller model", "--device cpu" if device != "cpu" else None))
        )
        raise DeviceOutOfMemoryError(
            f"{what} ran out of {device} memory at batch size {batch_size}: "
            f"{str(exc).splitlines()[0][:300]}. Fix: {fix}"
        ) from exc


DEVICE_MEMORY_MEASURES: dict[str, str] = {
    "cuda": "peak allocated during the case (torch.cuda.max_memory_allocated, reset at its start)",
    "mps": "allocated at the end of the case: live tensors, not a peak "
    "(torch.mps.current_allocated_memory; torch keeps no peak on MPS)",
}
"""What each device's memory figure is. CUDA's is a true peak; MPS offers none, and its
driver_allocated_memory counts cached pool blocks and every other loaded model too."""


@dataclass(frozen=True)
class DeviceMemory:
    """One case's device memory: what is measured, the figure, and the baseline at its start
    (the loaded weights and buffers that the case did not allocate)."""

    measure: str
    bytes: int
    baseline_bytes: int

    @property
    def is_peak(self) -> bool:
        return self.measure.startswith("peak")


def _allocated_bytes(device: str) -> int:
    import torch

    if device == "cuda":
        return int(torch.cuda.memory_allocated())
    return int(torch.mps.current_allocated_memory())


def start_device_memory(device: str) -> int | None:
    """At a case's start: reset the peak where torch keeps one, and return the bytes
    allocated now (the baseline); None on the CPU."""
    if device not in DEVICE_MEMORY_MEASURES:
        return None
    import torch

    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    return _allocated_bytes(device)


def end_device_memory(device: str, baseline_bytes: int | None) -> DeviceMemory | None:
    """At a case's end: the figure ``DEVICE_MEMORY_MEASURES`` names for the device."""
    if baseline_bytes is None or device not in DEVICE_MEMORY_MEASURES:
        return None
    import torch

    if device == "cuda":
        figure = int(torch.cuda.max_memory_allocated())
    else:
        figure = _allocated_bytes(device)
    return DeviceMemory(DEVICE_MEMORY_MEASURES[device], figure, baseline_bytes)


class DeviceMemoryMeter(Protocol):
    """What measures an engine's device memory over one case: ``start`` at its start (the
    baseline, or None where nothing is measured), ``finish`` at its end."""

    def start(self) -> int | None: ...

    def finish(self, baseline_bytes: int | None) -> DeviceMemory | None: ...


@dataclass(frozen=True)
class TorchMemoryMeter:
    """torch's counters of ``device`` (``DEVICE_MEMORY_MEASURES``): what every engine that
    allocates through torch uses; nothing on the CPU."""

    device: str

    def start(self) -> int | None:
        return start_device_memory(self.device)

    def finish(self, baseline_bytes: int | None) -> DeviceMemory | None:
        return end_device_memory(self.device, baseline_bytes)


class UnmeasuredDeviceMemory:
    """No device figure: an engine that allocates outside torch on a device where nothing
    here reads its memory (on CUDA, NVML's per-process figure, ``nvml_peak_device_mb``, is
    its device memory; torch's counters would read 0 or torch's own stray allocations)."""

    def start(self) -> int | None:
        return None

    def finish(self, baseline_bytes: int | None) -> DeviceMemory | None:
        return None


def empty_cache(device: str) -> None:
    if device not in ("cuda", "mps"):
        return
    import torch

    if device == "cuda":
        torch.cuda.empty_cache()
    elif device == "mps":
        torch.mps.empty_cache()


def _nvidia_driver() -> str | None:
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (
        out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None
    )


def _package_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def pytorch_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The ``PYTORCH_*`` variables set for this run (MPS fallback, allocator watermarks, ...):
    they change what runs where and how memory is capped."""
    return {name: value for name, value in sorted(environ.items()) if name.startswith("PYTORCH_")}


CORE_PACKAGES = ("whisperbench", "torch", "transformers", "huggingface_hub")
"""The distributions whose versions every saved run records; the engines' own come from their
declarations (``implementations.engine_packages``)."""


def machine_facts(engine_packages: Sequence[str] = ()) -> dict[str, Any]:
    """What a reader of a saved run needs to know about where it ran, with the versions of
    ``CORE_PACKAGES`` and of ``engine_packages`` (None for one not installed)."""
    import torch

    presence = DevicePresence.detect()
    apple_facts = read_apple_facts()
    facts: dict[str, Any] = {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count_logical": os.cpu_count(),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "torch_threads": torch.get_num_threads(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "apple_chip": apple_facts.chip if apple_facts else None,
        "apple": apple_facts.as_dict() if apple_facts else None,
        "mps_available": presence.mps,
        "mps_watermark": mps.watermark(os.environ).describe() if presence.mps else None,
        "pytorch_environment": pytorch_environment(os.environ),
        "cuda_available": presence.cuda,
        "gpu_name": None,
        "gpu_memory_gb": None,
        "gpu_driver": None,
        "cuda_version": torch.version.cuda,
        "versions": {
            name: _package_version(name)
            for name in dict.fromkeys((*CORE_PACKAGES, *engine_packages))
        },
    }
    if presence.cuda:
        props = torch.cuda.get_device_properties(0)
        facts["gpu_name"] = props.name
        facts["gpu_memory_gb"] = round(props.total_memory / 2**30, 1)
        facts["gpu_driver"] = _nvidia_driver()
    return facts


def device_among(
    requested: str, supported: tuple[str, ...], presence: DevicePresence | None = None
) -> str:
    """The device to ask an engine for when it runs on only some devices: ``auto`` is the best
    device here that the engine supports (else the CPU), so that ``auto`` on a CUDA machine runs
    an Apple-only engine on the CPU, and on a Mac a CUDA-or-CPU engine on the CPU. A device
    named explicitly is passed on unchanged (and refused by the engine when unsupported)."""
    if requested.lower() != "auto":
        return requested
    best = resolve_device("auto", presence)
    return best if best in supported else "cpu"


def cpu_thread_count(
    environ: Mapping[str, str] | None = None, performance_cores: int | None = None
) -> int:
    """``OMP_NUM_THREADS`` when set to a positive number; else, on a Mac, its performance
    cores (``apple.performance_cores()``: a thread on an efficiency core holds back every
    thread that waits for it); else the CPUs this process may use."""
    environ = os.environ if environ is None else environ
    value = environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    if performance_cores:
        return performance_cores
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def engine_cpu_threads() -> int:
    """The CPU threads every engine that takes a count is given (faster-whisper, whisper.cpp):
    ``cpu_thread_count`` on this machine."""
    return cpu_thread_count(performance_cores=performance_cores())
