"""Device memory of engines that allocate outside torch: the process's physical footprint on
Metal (sampled), none on CUDA (NVML's figure is theirs) or the CPU. The footprint call itself
is macOS-only: here its layout is checked against ``<sys/resource.h>``, and the sampling meter
runs on a real reader (this process's RSS) over a real allocation."""

from __future__ import annotations

import ctypes
import sys
import threading
import time

import numpy as np
import psutil
import pytest

from whisperbench.implementations import ImplementationOptions, get_implementation
from whisperbench.implementations.footprint import (
    FootprintMeter,
    RusageInfoV2,
    outside_torch_meter,
    phys_footprint_bytes,
)

MiB = 1024 * 1024


def test_rusage_info_v2_has_the_kernels_layout() -> None:
    """A 16-byte UUID then 18 uint64 counters; ri_phys_footprint is the eighth counter."""
    assert ctypes.sizeof(RusageInfoV2) == 16 + 18 * 8
    assert RusageInfoV2.ri_phys_footprint.offset == 16 + 7 * 8  # type: ignore[attr-defined]
    assert RusageInfoV2.ri_resident_size.offset == 16 + 6 * 8  # type: ignore[attr-defined]


def test_the_footprint_is_read_on_macos_only() -> None:
    found = phys_footprint_bytes()
    if sys.platform == "darwin":
        assert found is not None and found > 10 * MiB
    else:
        assert found is None


def test_the_meter_samples_a_real_reader_over_a_real_allocation() -> None:
    process = psutil.Process()
    meter = FootprintMeter(interval_s=0.02, read=lambda: int(process.memory_info().rss))
    baseline = meter.start()
    assert baseline is not None
    time.sleep(0.05)
    held = np.ones(64 * MiB, dtype=np.uint8)  # over glibc's mmap threshold: fresh pages
    time.sleep(0.2)
    used = meter.finish(baseline)
    assert int(held.sum()) == held.size
    assert not any(t.name == "whisperbench-sampler" for t in threading.enumerate())
    assert used is not None and used.is_peak and used.baseline_bytes == baseline
    assert used.bytes >= baseline + 32 * MiB
    assert "physical footprint" in used.measure and "0.02 s" in used.measure
    assert meter.finish(baseline) is None  # finished once; nothing left to stop


def test_a_case_that_raised_before_its_finish_leaves_no_sampler_behind() -> None:
    meter = FootprintMeter(interval_s=0.02, read=lambda: int(psutil.Process().memory_info().rss))
    assert meter.start() is not None  # the case raises here: no finish
    baseline = meter.start()  # the next case
    samplers = [t for t in threading.enumerate() if t.name == "whisperbench-sampler"]
    assert len(samplers) == 1
    assert meter.finish(baseline) is not None
    assert not any(t.name == "whisperbench-sampler" for t in threading.enumerate())


def test_no_reading_no_figure_and_no_thread() -> None:
    meter = FootprintMeter(read=lambda: None)
    assert meter.start() is None
    assert meter.finish(None) is None
    assert not any(t.name == "whisperbench-sampler" for t in threading.enumerate())


def test_engines_outside_torch_measure_the_footprint_on_metal_only() -> None:
    """On Metal nothing else sees ggml's buffers; on CUDA torch's counters would read 0 or
    torch's own stray allocations, and NVML's per-process figure is the engine's; on the CPU
    the case's peak RSS is its memory."""
    assert isinstance(outside_torch_meter("mps"), FootprintMeter)
    for device in ("cuda", "cpu"):
        meter = outside_torch_meter(device)
        assert meter.start() is None and meter.finish(None) is None


@pytest.mark.parametrize("name", ["faster-whisper", "whisper.cpp"])
def test_engines_outside_torch_record_no_torch_figure(name: str) -> None:
    engine_class = get_implementation(name)
    if (why := engine_class.unavailable_reason()) is not None:
        pytest.skip(why)
    engine = engine_class(ImplementationOptions(device="cpu"))
    assert engine.memory_meter().start() is None
    assert engine.memory_meter() is engine.memory_meter()  # one per engine
