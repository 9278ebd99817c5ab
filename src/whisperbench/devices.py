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
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import psutil
import torch

from whisperbench.errors import DeviceOutOfMemoryError, DeviceUnavailableError

DeviceName = Literal["cuda", "mps", "cpu"]
DEVICE_CHOICES = ("auto", "cuda", "mps", "cpu")

_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


@dataclass(frozen=True)
class DevicePresence:
    """Which accelerators this process can use."""

    cuda: bool
    mps: bool

    @classmethod
    def detect(cls) -> DevicePresence:
        mps_backend = getattr(torch.backends, "mps", None)
        mps = bool(mps_backend is not None and mps_backend.is_available())
        return cls(cuda=torch.cuda.is_available(), mps=mps)


def resolve_device(requested: str = "auto", presence: DevicePresence | None = None) -> DeviceName:
    """``auto`` -> cuda, then mps, then cpu. An absent device is an error that says what is here."""
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
        return "mps" if presence.mps else "cpu"
    if requested == "cuda" and not presence.cuda:
        raise DeviceUnavailableError(
            "device 'cuda' was asked for but torch sees no CUDA GPU here "
            f"(torch {torch.__version__}, built for CUDA {torch.version.cuda}); "
            "use --device auto or cpu, or install a CUDA build of torch"
        )
    if requested == "mps" and not presence.mps:
        raise DeviceUnavailableError(
            "device 'mps' was asked for but PyTorch MPS is not available here "
            "(it needs Apple Silicon and macOS 12.3+); use --device auto or cpu"
        )
    return requested  # type: ignore[return-value]


def default_dtype(device: str) -> torch.dtype:
    """fp16 on cuda and mps, fp32 on cpu."""
    return torch.float16 if device in ("cuda", "mps") else torch.float32


def resolve_dtype(device: str, requested: str | None = None) -> torch.dtype:
    """The dtype to load with: the override when given, else the device default."""
    if requested is None or requested == "auto":
        return default_dtype(device)
    try:
        return _DTYPES[requested.lower()]
    except KeyError:
        raise ValueError(
            f"unknown dtype {requested!r}; choose one of auto, {', '.join(sorted(_DTYPES))}"
        ) from None


def dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).removeprefix("torch.")


def initialize(device: str) -> None:
    """Create the device's context now (CUDA takes seconds), so that no timed load pays for it."""
    if device in ("cuda", "mps"):
        torch.zeros(1, device=device)
        synchronize(device)


def synchronize(device: str) -> None:
    """Wait for queued GPU work, so that a clock read afterwards covers it."""
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


def memory_info(device: str) -> MemoryInfo:
    """Free and total memory usable by ``device`` (unified memory on Apple Silicon)."""
    if device == "cuda":
        free, total = torch.cuda.mem_get_info()
        return MemoryInfo(int(free), int(total))
    vm = psutil.virtual_memory()
    if device == "mps":
        # MPS shares system memory; torch caps it at the recommended working set.
        total = int(torch.mps.recommended_max_memory())
        used = int(torch.mps.driver_allocated_memory())
        return MemoryInfo(max(0, min(total - used, int(vm.available))), total)
    return MemoryInfo(int(vm.available), int(vm.total))


_OUT_OF_MEMORY_MARKS = ("out of memory", "can't allocate memory", "not enough memory")


@contextmanager
def explain_out_of_memory(what: str, device: str, batch_size: int | None) -> Iterator[None]:
    """Turn an allocation failure into an error that names the work, the device, the batch
    size and the fix; the device's cached blocks are released so that later work can run."""
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


def reset_peak_memory(device: str) -> None:
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()


def device_peak_memory_bytes(device: str) -> int | None:
    """Peak memory the framework allocated on the device, where torch can tell."""
    if device == "cuda":
        return int(torch.cuda.max_memory_allocated())
    if device == "mps":
        return int(torch.mps.driver_allocated_memory())
    return None


def empty_cache(device: str) -> None:
    if device == "cuda":
        torch.cuda.empty_cache()
    elif device == "mps":
        torch.mps.empty_cache()


def _apple_chip() -> str | None:
    if platform.system() != "Darwin":
        return None
    try:
        out = subprocess.run(
            ["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


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


def machine_facts() -> dict[str, Any]:
    """What a reader of a saved run needs to know about where it ran."""
    presence = DevicePresence.detect()
    facts: dict[str, Any] = {
        "cpu": platform.processor() or platform.machine(),
        "cpu_count_logical": os.cpu_count(),
        "cpu_count_physical": psutil.cpu_count(logical=False),
        "torch_threads": torch.get_num_threads(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "apple_chip": _apple_chip(),
        "mps_available": presence.mps,
        "cuda_available": presence.cuda,
        "gpu_name": None,
        "gpu_memory_gb": None,
        "gpu_driver": None,
        "cuda_version": torch.version.cuda,
        "versions": {
            name: _package_version(name)
            for name in (
                "whisperbench",
                "torch",
                "transformers",
                "huggingface_hub",
                "faster-whisper",
                "ctranslate2",
                "bitsandbytes",
                "accelerate",
                "openai-whisper",
                "pywhispercpp",
                "mlx",
                "mlx-whisper",
                "whisper-mps",
                "lightning-whisper-mlx",
            )
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


def cpu_thread_count(environ: Mapping[str, str] | None = None) -> int:
    """The CPU threads every engine is given: ``OMP_NUM_THREADS`` when set to a positive
    number, else the CPUs this process may use."""
    environ = os.environ if environ is None else environ
    value = environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
