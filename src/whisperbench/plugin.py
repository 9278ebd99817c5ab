"""The pytest plugin of the benchmark suite: options, case parametrisation, session fixtures,
load timeouts (pytest-timeout), machine facts for saved runs, and a results table."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import pytest

from whisperbench import devices, hookspecs
from whisperbench.errors import DeviceUnavailableError
from whisperbench.implementations import (
    ImplementationOptions,
    default_names,
    parse_implementation_list,
)
from whisperbench.implementations.synthetic import DEFAULT_SYNTHETIC_TOKENS
from whisperbench.models import DEFAULT_MODEL, get_model, parse_model_list
from whisperbench.results import Measured
from whisperbench.suite import (
    DEFAULT_CLIPS,
    ClipLibrary,
    LoadCase,
    ModelPool,
    SuiteConfig,
    TranscribeCase,
    audio_clips,
    fixture_clips,
    load_cases,
    transcribe_cases,
)
from whisperbench.weights import go_offline

CONFIG_KEY = pytest.StashKey[SuiteConfig]()
RESULTS_KEY = pytest.StashKey[list[tuple[str, Measured]]]()


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("whisperbench", "whisperbench benchmark suite")
    group.addoption(
        "--models",
        default=DEFAULT_MODEL,
        help=f"comma-separated model sizes, or 'all' (default: {DEFAULT_MODEL})",
    )
    group.addoption(
        "--implementations",
        default="available",
        help="comma-separated implementations, 'all', or 'available' (default: every one that "
        "can run here, but the transformers-reference yardstick, which runs when named)",
    )
    group.addoption(
        "--device",
        default="auto",
        choices=devices.DEVICE_CHOICES,
        help="auto (cuda, mps, cpu), or one of them",
    )
    group.addoption(
        "--audio",
        default=None,
        help="an audio file or a folder of them; a .txt beside a file is its reference transcript",
    )
    group.addoption(
        "--clips",
        default=",".join(DEFAULT_CLIPS),
        help="reference clips to use when --audio is not given "
        f"(default: {','.join(DEFAULT_CLIPS)})",
    )
    group.addoption(
        "--batch-size", type=int, default=None, help="batch size (default: from free memory)"
    )
    group.addoption(
        "--beam-size",
        type=int,
        default=1,
        help="beam size for every implementation (default 1: greedy)",
    )
    group.addoption(
        "--dtype", default=None, help="override the dtype / compute type (default: per device)"
    )
    group.addoption(
        "--quantization",
        default="none",
        help="none, 4bit (CUDA + bitsandbytes) or int8 (dynamic, CPU); what really ran is reported",
    )
    group.addoption(
        "--no-cuda-graphs",
        action="store_true",
        default=False,
        help="decode step by step without replaying CUDA graphs (to measure what they bring)",
    )
    group.addoption(
        "--vad", action="store_true", default=False, help="voice-activity filtering where supported"
    )
    group.addoption("--rounds", type=int, default=3, help="timed rounds per case (default 3)")
    group.addoption(
        "--warmup-rounds",
        type=int,
        default=1,
        help="untimed runs on the same input before timing; "
        "the first is recorded as cold time (default 1)",
    )
    group.addoption(
        "--synthetic",
        action="store_true",
        default=False,
        help="speed only: random weights of each size's real architecture "
        "(IDs end in -synthetic; no WER)",
    )
    group.addoption(
        "--synthetic-tokens",
        type=int,
        default=DEFAULT_SYNTHETIC_TOKENS,
        help=f"tokens decoded per window with --synthetic (default {DEFAULT_SYNTHETIC_TOKENS})",
    )
    group.addoption(
        "--offline",
        action="store_true",
        default=False,
        help="no Hugging Face Hub request at all (sets HF_HUB_OFFLINE for the session)",
    )
    group.addoption(
        "--cache-dir", default=None, help="Hugging Face cache folder (default: HF_HUB_CACHE)"
    )


def _suite_config(config: pytest.Config) -> SuiteConfig:
    get = config.getoption
    implementations = (
        default_names(get("device"))
        if get("implementations") == "available"
        else parse_implementation_list(get("implementations"))
    )
    clips = audio_clips(get("audio")) if get("audio") else fixture_clips(get("clips").split(","))
    if get("rounds") < 1:
        raise pytest.UsageError("--rounds must be at least 1")
    devices.resolve_device(get("device"))  # an absent device is one usage error, not N errors
    cache_dir = get("cache_dir")
    options = ImplementationOptions(
        device=get("device"),
        dtype=get("dtype"),
        batch_size=get("batch_size"),
        beam_size=get("beam_size"),
        quantization=get("quantization"),
        vad=get("vad"),
        cuda_graphs=not get("no_cuda_graphs"),
        synthetic_tokens=get("synthetic_tokens") if get("synthetic") else None,
    )
    return SuiteConfig(
        models=tuple(parse_model_list(get("models"))),
        implementations=tuple(implementations),
        clips=clips,
        options=options,
        rounds=get("rounds"),
        warmup_rounds=get("warmup_rounds"),
        cache_dir=Path(cache_dir) if cache_dir else None,
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        config.stash[CONFIG_KEY] = _suite_config(config)
    except (ValueError, FileNotFoundError, DeviceUnavailableError) as exc:
        raise pytest.UsageError(str(exc)) from exc
    config.stash[RESULTS_KEY] = []
    if config.getoption("offline"):
        go_offline()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    suite = metafunc.config.stash[CONFIG_KEY]
    if "load_case" in metafunc.fixturenames:
        metafunc.parametrize(
            "load_case",
            [
                pytest.param(
                    case,
                    id=case.id,
                    marks=pytest.mark.timeout(get_model(case.size).verify_timeout_s),
                )
                for case in load_cases(suite)
            ],
        )
    if "transcribe_case" in metafunc.fixturenames:
        metafunc.parametrize(
            "transcribe_case", [pytest.param(case, id=case.id) for case in transcribe_cases(suite)]
        )


@pytest.fixture(scope="session")
def suite_config(request: pytest.FixtureRequest) -> SuiteConfig:
    return request.config.stash[CONFIG_KEY]


@pytest.fixture(scope="session")
def model_pool(request: pytest.FixtureRequest, suite_config: SuiteConfig) -> Any:
    config = request.config
    reporter = config.pluginmanager.get_plugin("terminalreporter")

    capture = config.pluginmanager.get_plugin("capturemanager")

    def notify(message: str) -> None:
        """A line the user sees at once, even while pytest captures the test's output."""
        if reporter is None:
            return
        if capture is None:
            reporter.write_line(message)
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(message)

    def on_loaded(impl: Any) -> None:
        config.hook.pytest_whisperbench_model_loaded(implementation=impl, config=config)

    devices.initialize(devices.resolve_device(suite_config.options.device))
    pool = ModelPool(suite_config, notify=notify, on_loaded=on_loaded)
    yield pool
    pool.close()


@pytest.fixture(scope="session")
def clip_library(suite_config: SuiteConfig) -> ClipLibrary:
    return ClipLibrary({path.stem: path for path in suite_config.clips})


@pytest.fixture
def record_result(request: pytest.FixtureRequest) -> Any:
    """Keeps a case's measured record for the summary table at the end of the session."""

    def record(measured: Measured) -> None:
        request.config.stash[RESULTS_KEY].append((request.node.name, measured))

    return record


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_machine_info(
    config: pytest.Config, machine_info: dict[str, Any]
) -> None:
    machine_info["whisperbench"] = devices.machine_facts()


COMMIT_VARIABLE = "WHISPERBENCH_COMMIT"


@pytest.hookimpl(optionalhook=True)
def pytest_benchmark_update_commit_info(config: pytest.Config, commit_info: dict[str, Any]) -> None:
    """The commit named by ``WHISPERBENCH_COMMIT`` where git cannot tell (a copy of the tree
    without its history, such as a GPU machine's): it goes into the saved run and its name."""
    commit = os.environ.get(COMMIT_VARIABLE, "").strip()
    if commit:
        commit_info.update(id=commit, dirty=False, project="whisperbench", source=COMMIT_VARIABLE)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = config.stash.get(RESULTS_KEY, [])
    if not results:
        return
    from rich.console import Console

    from whisperbench.tables import repetition_warnings, results_table

    buffer = io.StringIO()
    Console(
        file=buffer, width=max(150, terminalreporter._tw.fullwidth), force_terminal=False
    ).print(results_table(results))
    terminalreporter.write_sep("-", "whisperbench results")
    terminalreporter.write(buffer.getvalue())
    for line in repetition_warnings(results):
        terminalreporter.write_line(line, yellow=True)


__all__ = ["LoadCase", "TranscribeCase"]
