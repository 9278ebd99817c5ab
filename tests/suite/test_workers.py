"""The pinning of one pytest-xdist worker per device, decided on any machine (CI has no GPU:
the CUDA and MPS decisions are tested as decisions, never run on a GPU here), and applied on
the CPU in a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from whisperbench.suite.workers import (
    Pinning,
    PinningError,
    pinnings,
    visible_gpus,
    worker_index,
)


def test_each_cuda_worker_sees_one_gpu_of_its_own() -> None:
    chosen = pinnings("cuda", 2, ["0", "1"], list(range(16)))
    assert [p.environment["CUDA_VISIBLE_DEVICES"] for p in chosen] == ["0", "1"]
    # and half of the host's CPUs, with as many threads
    assert [p.cpus for p in chosen] == [tuple(range(8)), tuple(range(8, 16))]
    assert [p.environment["OMP_NUM_THREADS"] for p in chosen] == ["8", "8"]
    assert chosen[1].describe() == "CUDA_VISIBLE_DEVICES=1; CPU 8-15"


def test_gpus_narrowed_by_the_controller_are_shared_out_from_its_list() -> None:
    gpus = visible_gpus({"CUDA_VISIBLE_DEVICES": "2, 3"}, count=8)
    assert gpus == ["2", "3"]
    assert [p.environment["CUDA_VISIBLE_DEVICES"] for p in pinnings("cuda", 2, gpus, [0, 1])] == [
        "2",
        "3",
    ]
    assert visible_gpus({}, count=4) == ["0", "1", "2", "3"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}, count=2) == ["0", "1"]


@pytest.mark.parametrize(
    ("device", "workers", "gpus", "cpus", "problem"),
    [
        ("cuda", 3, ["0", "1"], range(16), "-n 3 with --shards: 2 CUDA GPU(s) visible (0, 1)"),
        ("mps", 2, [], range(10), "-n 2 with --shards on MPS: a Mac has one GPU"),
        ("cpu", 3, [], range(2), "-n 3 with --shards on the CPU: 2 CPU(s) for this process"),
    ],
)
def test_workers_that_would_share_a_device_are_refused(
    device: str, workers: int, gpus: list[str], cpus: range, problem: str
) -> None:
    with pytest.raises(PinningError) as refused:
        pinnings(device, workers, gpus, list(cpus))
    line = str(refused.value)
    assert line.startswith(problem) and "\n" not in line
    assert "leave out -n to run the shards in turn" in line


def test_cpu_workers_split_the_cpus_without_overlap() -> None:
    chosen = pinnings("cpu", 3, [], [0, 1, 2, 3, 4, 5, 6])
    assert [p.cpus for p in chosen] == [(0, 1, 2), (3, 4), (5, 6)]
    assert [p.threads for p in chosen] == [3, 2, 2]
    assert all("CUDA_VISIBLE_DEVICES" not in p.environment for p in chosen)
    assert [p.describe() for p in chosen] == ["CPU 0-2", "CPU 3-4", "CPU 5-6"]
    # one MPS worker: the Mac's CPUs are its own
    (only,) = pinnings("mps", 1, [], [0, 1, 2, 3])
    assert only.cpus == (0, 1, 2, 3)
    # a GPU worker with no CPU of its own shares them all (not refused: the GPU is its own)
    assert [p.cpus for p in pinnings("cuda", 2, ["0", "1"], [0])] == [(), ()]


def test_a_pinning_travels_as_json_and_workers_are_numbered() -> None:
    pinning = pinnings("cuda", 2, ["4", "5"], [0, 1, 2, 3])[1]
    assert Pinning.from_json(json.loads(json.dumps(pinning.to_json()))) == pinning
    assert worker_index("gw0") == 0 and worker_index("gw11") == 11
    with pytest.raises(ValueError, match="not a pytest-xdist worker id"):
        worker_index("main")


APPLY = """
import json, os, sys, torch
from whisperbench.suite.workers import Pinning, apply
apply(Pinning.from_json(json.loads(sys.argv[1])))
print(json.dumps({
    "cpus": sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    "threads": torch.get_num_threads(),
    "omp": os.environ.get("OMP_NUM_THREADS"),
}))
"""


@pytest.mark.slow  # a process of its own, which imports torch
def test_a_cpu_worker_is_pinned_to_its_block() -> None:
    """A real process pinned as the last of two CPU workers: its CPUs, its torch threads and
    the thread count the engines read."""
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else [0, 1]
    if len(cpus) < 2:
        pytest.skip("this test needs a process that may use two CPUs")
    last = pinnings("cpu", 2, [], cpus)[1]
    done = subprocess.run(
        [sys.executable, "-c", APPLY, json.dumps(last.to_json())],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    seen = json.loads(done.stdout)
    assert seen["threads"] == len(last.cpus) and seen["omp"] == str(len(last.cpus))
    if seen["cpus"] is not None:
        assert seen["cpus"] == list(last.cpus)
