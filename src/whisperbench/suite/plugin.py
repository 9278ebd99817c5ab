"""The benchmark suite's pytest plugin: hooks and fixtures only, each handing off to the
session's ``BenchSession`` (``session.py``). Registered as a ``pytest11`` entry point under
this module's own name, so that ``-p whisperbench.suite.plugin`` (with plugin autoloading
turned off) and the entry point load it once; a root conftest does not load it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from whisperbench.results.records import Measured
from whisperbench.suite import hookspecs
from whisperbench.suite.batch_sweep import SweepCase, SweepLedger
from whisperbench.suite.cases import (
    CorpusCase,
    FirstWordsCase,
    LoadCase,
    StreamCase,
    SuiteConfig,
    TranscribeCase,
)
from whisperbench.suite.inputs import ClipLibrary, CorpusLibrary
from whisperbench.suite.options import add_options
from whisperbench.suite.pool import ModelPool
from whisperbench.suite.references import ReferenceTimes
from whisperbench.suite.session import BenchSession
from whisperbench.suite.terminal import Terminal, safe_streams

__all__ = [
    "CorpusCase",
    "FirstWordsCase",
    "LoadCase",
    "StreamCase",
    "SweepCase",
    "TranscribeCase",
]

MARKERS = (
    "stream: the latency track (first words, simulated live streaming), run only when asked: "
    "pytest benchmarks/ -m stream (or -k stream) runs it alone",
    "latency: the latency track, as the stream marker",
)
"""The markers of the suite's benchmark tests (``benchmarks/test_latency.py``)."""


def _session(config: pytest.Config) -> BenchSession:
    session = BenchSession.of(config)
    assert session is not None, "the whisperbench plugin was not configured"
    return session


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)
    BenchSession.start(config)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    safe_streams(session)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    _session(metafunc.config).parametrize(metafunc)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    BenchSession.leave_out_unasked_track(config, items)
    BenchSession.order(items)


def pytest_collection_finish(session: pytest.Session) -> None:
    _session(session.config).collected(session.items)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    session = BenchSession.of(item.config)
    if session is not None:
        session.case_ended(item, nextitem)


@pytest.fixture(scope="session")
def suite_config(request: pytest.FixtureRequest) -> SuiteConfig:
    return _session(request.config).suite


@pytest.fixture(scope="session")
def terminal(request: pytest.FixtureRequest) -> Terminal:
    return _session(request.config).terminal


@pytest.fixture(scope="session")
def model_pool(request: pytest.FixtureRequest) -> Iterator[ModelPool]:
    session = _session(request.config)
    yield session.open_pool()
    session.close_pool()


@pytest.fixture(scope="session")
def clip_library(request: pytest.FixtureRequest) -> ClipLibrary:
    return _session(request.config).clip_library()


@pytest.fixture(scope="session")
def corpus_library(request: pytest.FixtureRequest) -> CorpusLibrary:
    return _session(request.config).corpus_library()


@pytest.fixture(scope="session")
def reference_times(request: pytest.FixtureRequest, clip_library: ClipLibrary) -> ReferenceTimes:
    return _session(request.config).reference_times(clip_library)


@pytest.fixture(scope="session")
def batch_sweep(request: pytest.FixtureRequest) -> SweepLedger:
    """Where each batch sweep ended (``--batch-sweep``)."""
    return _session(request.config).sweep_ledger


@pytest.fixture
def record_result(request: pytest.FixtureRequest) -> Any:
    """Keeps a case's measured record for the summary table at the end of the session."""
    session = _session(request.config)

    def record(measured: Measured) -> None:
        session.record(request.node.name, measured)

    return record


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(
    config: pytest.Config, machine_info: dict[str, Any]
) -> None:
    BenchSession.machine_info(machine_info)


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_commit_info(config: pytest.Config, commit_info: dict[str, Any]) -> None:
    BenchSession.commit_info(commit_info)


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = BenchSession.of(config)
    if session is not None:
        session.summary(terminalreporter)
