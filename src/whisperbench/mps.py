"""Decisions for Apple's MPS backend, as pure functions of what torch, macOS and the
environment report, so that every branch is tested on any machine (no Mac runs the tests).

Each decision cites the PyTorch source it follows:

- torch 2.5 is the oldest torch with ``torch.mps.recommended_max_memory`` (pytorch#128289),
  which sizes batches here; it is also the release that moved MPS from macOS 12.3 to 13.
  Releases since late 2025 need macOS 14 (pytorch#159275).
- ``torch.stft`` on MPS runs MPSGraph's FFT, which macOS 14 brought: below it torch raises
  "FFT operations are only supported on MacOS 14+", so the log-mel features of a macOS 13
  machine are computed on the CPU.
- ``PYTORCH_ENABLE_MPS_FALLBACK`` (any non-zero integer) makes an op without an MPS kernel run
  on the CPU without a word; a run with it set is reported as such.
- The MPS allocator refuses an allocation past ``high watermark ratio x recommended working
  set``. Its default ratio is 1.7: up to 70 % past what Metal recommends, unified memory is
  paged rather than refused, and a too-large batch degrades the timings instead of failing.
  whisperbench sets the ratio to 1.0 (``torch.mps.set_per_process_memory_fraction``) unless
  ``PYTORCH_MPS_HIGH_WATERMARK_RATIO`` is set, so an over-commit is an out-of-memory error that
  names the fix. 1.7 is ``default_high_watermark_ratio`` in ``aten/src/ATen/mps/MPSAllocator.h``
  (read at pytorch 01f98b3; ``set_per_process_memory_fraction`` accepts up to 2.0). An engine may
  run under another ratio (``TORCH_DEFAULT``: the seed's recipe ran under torch's own).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

MIN_TORCH = (2, 5)
"""The oldest torch the MPS path runs on (``torch.mps.recommended_max_memory``)."""
GPU_FEATURES_MACOS = (14, 0)
"""The oldest macOS whose MPS backend has an FFT, so ``torch.stft`` runs on the GPU."""
FALLBACK_VARIABLE = "PYTORCH_ENABLE_MPS_FALLBACK"
WATERMARK_VARIABLE = "PYTORCH_MPS_HIGH_WATERMARK_RATIO"
TORCH_DEFAULT_WATERMARK = 1.7
WHISPERBENCH_WATERMARK = 1.0
"""Allocations stop at the recommended working set: past it unified memory swaps."""


def version_tuple(text: str) -> tuple[int, ...]:
    """``"2.8.0+cpu"`` -> (2, 8, 0); ``"14.5"`` -> (14, 5); ``""`` -> ()."""
    numbers: list[int] = []
    for part in text.strip().split("."):
        match = re.match(r"\d+", part)
        if match is None:
            break
        numbers.append(int(match.group()))
    return tuple(numbers)


def torch_problem(torch_version: str) -> str | None:
    """Why this torch cannot run whisperbench's MPS path, or None."""
    if version_tuple(torch_version)[:2] >= MIN_TORCH:
        return None
    wanted = ".".join(map(str, MIN_TORCH))
    return (
        f"torch {torch_version} is older than {wanted}, the oldest torch whisperbench runs on "
        f"MPS (it sizes batches with torch.mps.recommended_max_memory): "
        f"pip install 'torch>={wanted}', or use --device cpu"
    )


def feature_device(device: str, macos_version: str | None) -> str:
    """Where log-mel features are computed: on the model's device, except MPS before macOS
    14, whose backend has no FFT for ``torch.stft``: the CPU there."""
    if device != "mps" or not macos_version:
        return device
    return "cpu" if version_tuple(macos_version)[:2] < GPU_FEATURES_MACOS else device


def features_note(device: str, macos_version: str | None) -> str:
    """What ``get_params`` says about the features: ``log-mel on mps, batched`` or, on
    macOS 13, ``log-mel on cpu, batched (MPS has no FFT before macOS 14; macOS 13.6 here)``."""
    where = feature_device(device, macos_version)
    note = f"log-mel on {where}, batched"
    if where != device:
        note += f" (MPS has no FFT before macOS 14; macOS {macos_version} here)"
    return note


def cpu_fallback_enabled(environ: Mapping[str, str]) -> bool:
    """torch reads the variable as an integer; any non-zero value turns the fallback on."""
    value = environ.get(FALLBACK_VARIABLE, "").strip()
    try:
        return int(value) != 0
    except ValueError:
        return False


def cpu_fallback_note(device: str, environ: Mapping[str, str]) -> str | None:
    """A run on MPS with the CPU fallback on says so in its parameters."""
    if device != "mps" or not cpu_fallback_enabled(environ):
        return None
    return (
        f"{FALLBACK_VARIABLE}={environ[FALLBACK_VARIABLE]}: ops without an MPS kernel run on "
        "the CPU without a warning, and their time is in the timings. "
        f"Unset it to see such an op fail instead"
    )


@dataclass(frozen=True)
class Watermark:
    """The MPS allocator's high watermark ratio in force, and who chose it."""

    ratio: float
    """Allocations stop at ``ratio x recommended_max_memory``; 0 means no limit."""
    chosen_by: str
    """``whisperbench`` (set at the session's start), an engine's reason for its own ratio, or
    the environment variable."""

    @property
    def set_by_whisperbench(self) -> bool:
        """whisperbench sets it (``torch.mps.set_per_process_memory_fraction``); False for the
        user's environment variable, which torch read itself and which is left alone."""
        return self.chosen_by != WATERMARK_VARIABLE

    @property
    def limit_share(self) -> float:
        """The share of the recommended working set that batches are sized to: never past
        it, where unified memory starts to swap, even when the allocator would allow more."""
        return 1.0 if self.ratio == 0 else min(self.ratio, 1.0)

    def describe(self) -> str:
        limit = "no limit" if self.ratio == 0 else f"{self.ratio:g} x recommended working set"
        return f"{limit} ({self.chosen_by})"


WHISPERBENCH = Watermark(WHISPERBENCH_WATERMARK, "whisperbench")
TORCH_DEFAULT = Watermark(TORCH_DEFAULT_WATERMARK, "torch's default, under which the seed ran")
"""The seed's recipe never set a ratio: it ran under torch's default, and so does its engine
here (``insanely_fast_whisper``)."""


def watermark(environ: Mapping[str, str], default: Watermark = WHISPERBENCH) -> Watermark:
    """The user's ``PYTORCH_MPS_HIGH_WATERMARK_RATIO`` when set (torch reads it with strtod:
    text that is not a number counts as 0, no limit), else ``default``: whisperbench's 1.0, or
    an engine's own (``TORCH_DEFAULT`` for the seed's recipe)."""
    value = environ.get(WATERMARK_VARIABLE)
    if value is None or not value.strip():
        return default
    match = re.match(r"\s*[-+]?(\d+\.?\d*|\.\d+)", value)
    return Watermark(float(match.group()) if match else 0.0, WATERMARK_VARIABLE)


def free_bytes(
    recommended_bytes: int, allocated_bytes: int, system_available_bytes: int, mark: Watermark
) -> int:
    """What new work may still allocate on MPS: the sized share of the recommended working set
    less the live tensors (cached pool blocks are reused or released before the allocator
    fails), and never more than the system's available memory, which every app shares."""
    budget = int(recommended_bytes * mark.limit_share) - allocated_bytes
    return max(0, min(budget, system_available_bytes))
