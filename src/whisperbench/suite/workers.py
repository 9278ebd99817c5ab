"""One pytest-xdist worker per device for a sharded corpus (``--shards N -n N``): which device
each worker is pinned to, decided once by the controlling process (``pinnings``) and applied by
each worker (``apply``) before anything in it touches a device.

**How a worker is pinned.** Worker ``gwK`` gets the K-th device of the ones this host makes
visible:

- **CUDA**: ``CUDA_VISIBLE_DEVICES`` names that one GPU, so that the worker sees it as its only
  device, ``cuda:0``. Every engine honours the variable (torch, CTranslate2, whisper.cpp's
  CUDA build), where a ``--device cuda:K`` would need each engine to take an index, and the
  memory probes (``devices.start_device_memory``) to follow it. The variable only counts when
  it is set before the process initialises CUDA, which is why it is applied when the worker is
  configured, before the suite resolves its device. GPUs already narrowed by the controller's
  own ``CUDA_VISIBLE_DEVICES`` (``2,3``) are shared out from that list. More workers than
  visible GPUs would put two on one device: refused.
- **MPS**: a Mac has one GPU, which every worker would share: more than one worker is refused
  (the shards then run in turn, without ``-n``).
- **CPU** (and the host side of every GPU worker): the CPUs this process may use are split into
  disjoint blocks, one per worker (``os.sched_setaffinity`` where the OS has it), and the
  worker's torch and engine threads (``OMP_NUM_THREADS``) are as many as its block holds, so
  that workers never compete for a core. On the CPU, fewer CPUs than workers is refused; a GPU
  worker with no core of its own shares them all.

Without ``-n`` (one device, or the CPU), the same ``--shards`` session runs the shards in turn
in one process, on the session's device: nothing is pinned.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "PINNING_KEY",
    "Pinning",
    "PinningError",
    "Placement",
    "apply",
    "pinnings",
    "visible_gpus",
    "worker_index",
]

PINNING_KEY = "whisperbench_pinning"
"""The key of xdist's ``workerinput`` that carries a worker's ``Pinning`` to it."""
CUDA_VARIABLE = "CUDA_VISIBLE_DEVICES"
THREADS_VARIABLE = "OMP_NUM_THREADS"


class PinningError(ValueError):
    """Workers that cannot each have a device of their own; the message says the fix."""


@dataclass(frozen=True)
class Placement:
    """Where this process runs its shards, as each shard's record says it."""

    worker: str | None = None
    """The xdist worker (``gw1``); None: no workers, the shards run in turn here."""
    device: str | None = None
    """What the worker is pinned to, in words (``CUDA_VISIBLE_DEVICES=1; CPU 0-7``)."""


@dataclass(frozen=True)
class Pinning:
    """What one worker sets before anything touches its device."""

    environment: Mapping[str, str] = field(default_factory=dict)
    cpus: tuple[int, ...] = ()
    """The CPUs the worker may run on (empty: all of them)."""

    @property
    def threads(self) -> int | None:
        return len(self.cpus) or None

    def describe(self) -> str:
        """``CUDA_VISIBLE_DEVICES=1; CPU 8-15``."""
        parts = []
        if CUDA_VARIABLE in self.environment:
            parts.append(f"{CUDA_VARIABLE}={self.environment[CUDA_VARIABLE]}")
        if self.cpus:
            parts.append(f"CPU {_ranges(self.cpus)}")
        return "; ".join(parts) or "not pinned"

    def to_json(self) -> dict[str, Any]:
        """As xdist's ``workerinput`` carries it (plain JSON types)."""
        return {"environment": dict(self.environment), "cpus": list(self.cpus)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pinning:
        return cls(dict(data.get("environment") or {}), tuple(data.get("cpus") or ()))


def worker_index(worker_id: str) -> int:
    """``gw3`` -> 3 (xdist names its workers so)."""
    digits = worker_id.removeprefix("gw")
    if not digits.isdigit():
        raise ValueError(f"{worker_id!r} is not a pytest-xdist worker id (gw0, gw1, ...)")
    return int(digits)


def visible_gpus(environ: Mapping[str, str], count: int) -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` names them: its own list
    when set, else the ``count`` GPUs the driver sees (``0`` to ``count - 1``)."""
    given = environ.get(CUDA_VARIABLE)
    if given is not None and given.strip():
        return [part.strip() for part in given.split(",") if part.strip()]
    return [str(index) for index in range(count)]


def pinnings(device: str, workers: int, gpus: Sequence[str], cpus: Sequence[int]) -> list[Pinning]:
    """Each worker's pinning (worker K's is the K-th) for ``workers`` workers on ``device``
    (``cuda``, ``mps`` or ``cpu``), given the visible ``gpus`` and the ``cpus`` this process
    may use; ``PinningError`` where the workers cannot each have a device of their own."""
    fix = "or leave out -n to run the shards in turn"
    if device == "mps" and workers > 1:
        raise PinningError(
            f"-n {workers} with --shards on MPS: a Mac has one GPU, which the workers would "
            "share; leave out -n to run the shards in turn"
        )
    if device == "cuda" and workers > len(gpus):
        raise PinningError(
            f"-n {workers} with --shards: {len(gpus)} CUDA GPU(s) visible "
            f"({', '.join(gpus) or 'none'}), one worker per GPU; give -n {len(gpus)} or fewer, "
            f"{fix}"
        )
    if device == "cpu" and workers > len(cpus):
        raise PinningError(
            f"-n {workers} with --shards on the CPU: {len(cpus)} CPU(s) for this process, one "
            f"or more per worker; give -n {len(cpus)} or fewer, {fix}"
        )
    blocks = _blocks(sorted(cpus), workers) if workers <= len(cpus) else [()] * workers
    out = []
    for index, block in enumerate(blocks):
        environment = {THREADS_VARIABLE: str(len(block))} if block else {}
        if device == "cuda":
            environment[CUDA_VARIABLE] = gpus[index]
        out.append(Pinning(environment, block))
    return out


def _blocks(cpus: Sequence[int], workers: int) -> list[tuple[int, ...]]:
    """``cpus`` in ``workers`` disjoint blocks of neighbours, as even as they go (the first
    blocks one larger where they do not divide)."""
    size, larger = divmod(len(cpus), workers)
    blocks, start = [], 0
    for index in range(workers):
        end = start + size + (index < larger)
        blocks.append(tuple(cpus[start:end]))
        start = end
    return blocks


def _ranges(cpus: Sequence[int]) -> str:
    """``0-3,8``: the CPUs as ranges."""
    runs: list[list[int]] = []
    for cpu in sorted(cpus):
        if runs and cpu == runs[-1][-1] + 1:
            runs[-1].append(cpu)
        else:
            runs.append([cpu])
    return ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs)


def process_cpus() -> list[int]:
    """The CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def apply(pinning: Pinning) -> None:
    """Pin this process (a worker, before anything touches a device): its variables set, its
    CPUs and its torch threads limited to its block."""
    os.environ.update(pinning.environment)
    if pinning.cpus and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, pinning.cpus)
    if pinning.threads:
        import torch

        torch.set_num_threads(pinning.threads)
