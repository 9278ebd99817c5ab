"""The background sampler on a real workload, its compact timeline, and the interval's check."""

from __future__ import annotations

import mmap
import threading
import time

import numpy as np
import pytest

from whisperbench.resources.sampler import ResourceSampler, check_interval, host_rss_mb
from whisperbench.resources.timeline import Timeline, compact


def test_the_sampler_collects_host_rss_with_real_times_and_stops_cleanly() -> None:
    sampler = ResourceSampler(0.02, {"rss_mb": host_rss_mb()}).start()
    time.sleep(0.06)  # samples before the workload
    # 64 MiB of fresh pages straight from the kernel (an anonymous map), touched while it
    # samples: malloc may serve even a large array from what the worker freed before (an
    # xdist worker that ran other tests first measured no growth from np.ones of 64 MiB)
    with mmap.mmap(-1, 64 * 1024 * 1024) as held:
        pages = np.frombuffer(held, dtype=np.uint8)
        pages.fill(1)
        time.sleep(0.2)
        samples = sampler.stop()
        touched = int(pages.sum())
        del pages  # the map closes only once no array views it
    assert touched == 64 * 1024 * 1024
    assert not any(t.name == "whisperbench-sampler" for t in threading.enumerate())
    assert len(samples.times) >= 5
    assert samples.times == sorted(samples.times) and samples.times[-1] >= 0.25
    rss = samples.columns["rss_mb"]
    assert all(value is not None and value > 10 for value in rss)
    assert max(v for v in rss if v) >= min(v for v in rss if v) + 32  # the workload grew it
    assert sampler.stop() is samples  # stopping again changes nothing


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), 1000.0])
def test_a_bad_interval_is_one_usage_error_naming_the_fix(bad: float) -> None:
    with pytest.raises(ValueError, match=r"--resource-interval .*give the seconds.*default 0\.2"):
        check_interval(bad)


def test_a_long_timeline_is_thinned_to_each_stretchs_peak() -> None:
    times = [i * 0.2 for i in range(1000)]
    rss = [float(i % 7) for i in range(1000)]
    found = compact(0.2, times, {"rss_mb": rss, "power_w": [None] * 1000}, (1.0, 150.0), 100)
    assert len(found.t_s) == 100 and "power_w" not in found.series
    assert found.series["rss_mb"][0] == 6.0 and found.peak("rss_mb") == 6.0
    assert found.timed_from_s == 1.0 and found.timed_to_s == 150.0
    assert Timeline.from_mapping(found.to_mapping()) == found


@pytest.mark.parametrize("bad", [0.0, -0.5])
def test_the_suite_refuses_a_bad_resource_interval(bad: float) -> None:
    from whisperbench.implementations import ImplementationOptions
    from whisperbench.suite.cases import SuiteConfig

    with pytest.raises(ValueError, match=rf"^--resource-interval {bad}: give the seconds"):
        SuiteConfig(("tiny.en",), ("fake",), (), ImplementationOptions(), resource_interval_s=bad)
