"""A sharded corpus over pytest-xdist workers (``--shards N -n N``), one worker per device.

pytest-benchmark switches timing off under xdist (workers sharing a machine time each other's
load), and saves nothing from the workers. A sharded session is the one parallel run that is
meant: each worker has a device of its own (``workers``). So here:

- **The controlling process** decides each worker's pinning before any worker starts (a
  usage error, in one line, where the workers cannot each have a device), hands it to the
  worker through xdist's ``workerinput``, and schedules the cases itself: each shard's cases
  on one worker (the load cases and anything else with shard 1), so that no two shards share
  a worker unless there are more shards than workers (they then run in turn on it).
- **Each worker** pins itself first thing (``BenchSession.start``), times its cases as a
  session without xdist would, saves nothing itself, and sends what pytest-benchmark would
  have saved (each case's saved form) back to the controller when it finishes.
- **The controller saves one run**: the workers' benchmarks together, with one run record,
  through pytest-benchmark's own hooks and the suite's storage lock (``session_guard``), as a
  session without xdist saves. One session is one run file, numbered once under the lock: the
  history, ``compare`` and ``check-regressions`` (which judges the newest run against the ones
  before) see the session whole, as they see one run on one device, and the shards are joined
  when the run is read (``results.shards``). Runs saved per worker would need every reader to
  know which files make one session, and the newest "run" would be one shard.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import pytest

from whisperbench.corpus_shards import shard_in_id
from whisperbench.errors import ResultError
from whisperbench.results.codec import from_extra_info
from whisperbench.results.records import Measured, Timing
from whisperbench.suite.cases import SuiteConfig
from whisperbench.suite.session_guard import GUARD_NAME
from whisperbench.suite.workers import (
    PINNING_KEY,
    Pinning,
    PinningError,
    Placement,
    apply,
    pinnings,
    process_cpus,
    visible_gpus,
    worker_index,
)

__all__ = ["install", "pin_worker", "shard_scope"]

Recorder = Callable[[str, Measured], None]
"""Keeps a case measured by a worker (its test name, its record) for the results table."""
GATHERED_KEY = "whisperbench_benchmarks"
"""The key of xdist's ``workeroutput`` that carries a worker's benchmarks (JSON text)."""
FIRST_SCOPE = "shard1"


def pin_worker(config: pytest.Config) -> Placement:
    """In a worker of a sharded session: the pinning its controller chose, applied now (before
    anything touches a device), and where its shards run; elsewhere nothing is pinned."""
    workerinput = getattr(config, "workerinput", None)
    if not isinstance(workerinput, dict) or PINNING_KEY not in workerinput:
        return Placement()
    pinning = Pinning.from_json(workerinput[PINNING_KEY])
    apply(pinning)
    return Placement(worker=str(workerinput["workerid"]), device=pinning.describe())


def install(config: pytest.Config, suite: SuiteConfig, device: str, record: Recorder) -> None:
    """Register the controller's or the worker's side of a sharded xdist session (nothing for
    any other session); ``PinningError`` where the workers cannot each have a device.
    ``record`` keeps each case the workers measured for the session's results table."""
    if suite.shards <= 1:
        return
    if suite.placement.worker is not None:
        config.pluginmanager.register(WorkerSide(config), WorkerSide.NAME)
    elif config.getoption("dist", "no") != "no" and not hasattr(config, "workerinput"):
        workers = len(config.getoption("tx") or ())
        if workers > suite.shards:
            raise PinningError(
                f"-n {workers} with --shards {suite.shards}: {workers - suite.shards} "
                f"worker(s) would have no shard; give -n {suite.shards}, or --shards {workers}"
            )
        chosen = pinnings(device, workers, _gpus(device), process_cpus())
        side = ControllerSide(config, chosen, record)
        config.pluginmanager.register(side, ControllerSide.NAME)


def _gpus(device: str) -> list[str]:
    """The GPUs to share out (asked of the driver only for CUDA, and only by the controller,
    which runs no case)."""
    if device != "cuda":
        return []
    import torch

    return visible_gpus(os.environ, torch.cuda.device_count())


def shard_scope(nodeid: str) -> str:
    """The work unit of a test: its shard's (``shard2``); shard 1's for any other test (the
    load cases: shard 1's worker times each load, and the other workers load their models
    untimed for their first case)."""
    shard = shard_in_id(nodeid)
    return FIRST_SCOPE if shard is None else f"shard{shard.index}"


def _benchmark_session(config: pytest.Config) -> Any:
    return getattr(config, "_benchmarksession", None)


class WorkerSide:
    """A worker's part: time its cases, save nothing, send its benchmarks to the controller."""

    NAME = "whisperbench-shard-worker"

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        benchmarks = _benchmark_session(self.config)
        if benchmarks is None:
            return
        # pytest-benchmark's guard against xdist: this worker owns its device (the user's
        # --benchmark-disable still counts)
        get = self.config.getoption
        benchmarks.disabled = bool(get("benchmark_disable") and not get("benchmark_enable"))
        benchmarks.xdist_warning = False
        benchmarks.save = benchmarks.autosave = benchmarks.json = None  # the controller saves

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        benchmarks = _benchmark_session(self.config)
        if benchmarks is None:
            return
        output = self.config.hook.pytest_benchmark_generate_json(
            config=self.config,
            benchmarks=benchmarks.benchmarks,
            include_data=bool(benchmarks.save_data),
            machine_info={},
            commit_info={},
        )
        workeroutput: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
        workeroutput[GATHERED_KEY] = json.dumps(output["benchmarks"], default=str)


class ControllerSide:
    """The controller's part: pin and schedule the workers, gather their benchmarks, save one
    run and show one results table."""

    NAME = "whisperbench-shard-controller"

    def __init__(self, config: pytest.Config, chosen: list[Pinning], record: Recorder) -> None:
        self.config = config
        self.pinnings = chosen
        self.record = record
        self.gathered: dict[str, list[dict[str, Any]]] = {}

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        index = worker_index(str(node.workerinput["workerid"]))
        node.workerinput[PINNING_KEY] = self.pinnings[index].to_json()

    @pytest.hookimpl(tryfirst=True, optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        from xdist.scheduler import LoadScopeScheduling

        class ShardScheduling(LoadScopeScheduling):  # type: ignore[misc]
            """xdist's scope scheduling, a shard being a scope (``shard_scope``)."""

            def _split_scope(self, nodeid: str) -> str:
                return shard_scope(nodeid)

        return ShardScheduling(config, log)

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        guard = self.config.pluginmanager.get_plugin(GUARD_NAME)
        if guard is not None and not guard.expected:
            guard.expected = [nodeid.rpartition("::")[2] for nodeid in ids]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        text = getattr(node, "workeroutput", {}).get(GATHERED_KEY)
        if text:
            self.gathered[str(node.workerinput["workerid"])] = json.loads(text)

    def benchmarks(self) -> list[dict[str, Any]]:
        """Every worker's benchmarks, by test name."""
        every = [bench for worker in sorted(self.gathered) for bench in self.gathered[worker]]
        return sorted(every, key=lambda bench: str(bench.get("name")))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        benchmarks = self.benchmarks()
        for bench in benchmarks:
            measured = _measured(bench)
            if measured is not None:
                self.record(str(bench["name"]), measured)
        guard = self.config.pluginmanager.get_plugin(GUARD_NAME)
        if guard is not None and benchmarks:
            guard.save_benchmarks(benchmarks, with_json=True)


def _measured(bench: dict[str, Any]) -> Measured | None:
    """A worker's saved benchmark as the summary table's record (None: not whisperbench's)."""
    try:
        return Measured(from_extra_info(bench.get("extra_info")), Timing.from_stats(bench["stats"]))
    except (ResultError, KeyError, TypeError, ValueError):
        return None
