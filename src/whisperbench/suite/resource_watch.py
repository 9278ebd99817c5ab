"""A case's resources, watched around its rounds (issue 24): the sampler runs from the case's
start (``begin_case``) to its end, the energy meter over its timed rounds alone
(``timed_rounds`` wraps the function pytest-benchmark calls), and ``fields`` gives the record's
energy, NVML device memory and timeline fields. Engines know nothing of it."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from whisperbench.resources import energy
from whisperbench.resources.nvml import NvmlGpu, open_gpu
from whisperbench.resources.sampler import (
    DEFAULT_INTERVAL_S,
    Probe,
    ResourceSampler,
    gpu_probes,
    host_rss_mb,
)
from whisperbench.resources.timeline import compact


@functools.cache
def _gpu() -> NvmlGpu | str:
    """The NVML GPU of torch's current CUDA device, opened once per process."""
    import torch

    return open_gpu(torch_index=torch.cuda.current_device())


@functools.cache
def meter_for(device: str) -> energy.EnergyMeter | energy.EnergyAbsent:
    """The energy meter of ``device``'s cases, chosen once per process."""
    return energy.choose_meter(device, gpu=_gpu() if device == "cuda" else "")


@dataclass(frozen=True)
class DeviceMemoryProbe:
    probe: Probe
    measure: str


def device_memory_probe(gpu: NvmlGpu, interval_s: float) -> DeviceMemoryProbe:
    """This process's device memory as NVML lists it, or the whole GPU's where NVML does not
    list this process (a container's PID namespace), each named."""
    every = f"sampled every {interval_s:g} s by NVML over the case (warm-up included)"
    if gpu.process_mb() is not None:
        return DeviceMemoryProbe(
            gpu.process_mb,
            f"peak of this process's device memory {every} (nvmlDeviceGetComputeRunningProcesses;"
            " CUDA context and allocator caches included); baseline at the case's start",
        )
    return DeviceMemoryProbe(
        gpu.used_mb,
        f"peak of the whole GPU's used memory {every} (nvmlDeviceGetMemoryInfo: NVML does not "
        "list this process's PID, as in a container; other processes included); baseline at "
        "the case's start",
    )


class ResourceWatch:
    """One case's sampler and energy meter."""

    def __init__(self, device: str, interval_s: float = DEFAULT_INTERVAL_S) -> None:
        self.device = device
        self.meter = meter_for(device)
        probes: dict[str, Probe] = {"rss_mb": host_rss_mb()}
        self.memory: DeviceMemoryProbe | None = None
        gpu = _gpu() if device == "cuda" else None
        if isinstance(gpu, NvmlGpu):
            self.memory = device_memory_probe(gpu, interval_s)
            probes.update(gpu_probes(gpu, self.memory.probe))
        poll = getattr(self.meter, "poll", None)
        self.sampler = ResourceSampler(interval_s, probes, on_tick=poll if callable(poll) else None)
        self.timed: tuple[float, float] | None = None
        self.joules: float | None = None
        self._began = 0.0

    def __enter__(self) -> ResourceWatch:
        """The case begins: the sampler starts."""
        self.sampler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sampler.stop()  # a case that failed leaves no thread behind

    def timed_rounds(
        self, target: Callable[[], Any], *, skipped: int, rounds: int
    ) -> Callable[[], Any]:
        """``target`` as pytest-benchmark calls it: ``skipped`` warm-up calls, then ``rounds``
        timed ones, the meter running from the first timed call's start to the last one's end."""
        calls = 0

        def call() -> Any:
            nonlocal calls
            calls += 1
            if calls == skipped + 1:
                self._began = self.sampler.elapsed()
                if isinstance(self.meter, energy.EnergyMeter):
                    self.meter.begin()
            out = target()
            if calls == skipped + rounds:
                if isinstance(self.meter, energy.EnergyMeter):
                    self.joules = self.meter.end()
                self.timed = (self._began, self.sampler.elapsed())
            return out

        return call

    def fields(self, timed_audio_s: float) -> dict[str, Any]:
        """The record's fields (``CaseRecord``): energy per audio hour over the timed rounds
        (``timed_audio_s``: the audio they transcribed, all rounds together) or why it is absent,
        the NVML device memory and the timeline. Stops the sampler."""
        samples = self.sampler.stop()
        out: dict[str, Any] = {
            "timeline": compact(self.sampler.interval_s, samples.times, samples.columns, self.timed)
        }
        if isinstance(self.meter, energy.EnergyAbsent):
            out["energy_absent_reason"] = self.meter.reason
        elif self.joules is None or self.timed is None:
            out["energy_absent_reason"] = "the timed rounds did not run to their end"
        else:
            span = self.timed[1] - self.timed[0]
            out.update(
                energy_j=self.joules,
                energy_span_s=span,
                energy_j_per_audio_hour=energy.per_audio_hour(self.joules, timed_audio_s),
                energy_method=self.meter.method,
                energy_note=energy.short_span_note(span, self.meter.period_s),
            )
        device = samples.columns.get("device_mb")
        present = [v for v in device or () if v is not None]
        if self.memory is not None and present:
            out.update(
                nvml_peak_device_mb=max(present),
                nvml_baseline_device_mb=present[0],
                nvml_device_memory_measure=self.memory.measure,
            )
        return out
