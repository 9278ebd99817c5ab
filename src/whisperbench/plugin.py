"""The pytest plugin of the benchmark suite: options, case parametrisation, session fixtures,
load timeouts (pytest-timeout), machine facts for saved runs, progress of long cases on the
terminal, and a results table."""

from __future__ import annotations

import argparse
import io
import os
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest

from whisperbench import devices, hookspecs, progress, weights
from whisperbench.datasets import DatasetSpec, parse_dataset
from whisperbench.errors import WhisperBenchError
from whisperbench.implementations import (
    ImplementationOptions,
    Progress,
    default_names,
    parse_implementation_list,
)
from whisperbench.implementations.synthetic import DEFAULT_SYNTHETIC_TOKENS
from whisperbench.input_checks import (
    ignored_benchmark_options,
    once_each,
    repeated_options,
    required,
    unused_options,
)
from whisperbench.models import DEFAULT_MODEL, get_model, parse_model_list
from whisperbench.results import ACROSS_UTTERANCES, ONE_BY_ONE, Measured
from whisperbench.safe_output import SafeStream
from whisperbench.suite import (
    CLIP_SETS,
    CLIPS,
    CORPUS_BUDGET_S,
    DEFAULT_CLIPS,
    ClipLibrary,
    CorpusCase,
    CorpusLibrary,
    LoadCase,
    ModelPool,
    SuiteConfig,
    TranscribeCase,
    audio_inputs,
    corpus_cases,
    fixture_inputs,
    last_cases,
    load_cases,
    order_by_model,
    transcribe_cases,
)
from whisperbench.weights import go_offline

pytest_plugins = ["whisperbench.session_guard", "whisperbench.compare_guard"]
"""Run records, safe saving and the session's verdict (see ``session_guard``); no
``--benchmark-compare`` judgement across configurations (``compare_guard``)."""

CONFIG_KEY = pytest.StashKey[SuiteConfig]()
RESULTS_KEY = pytest.StashKey[list[tuple[str, Measured]]]()
TERMINAL_KEY = pytest.StashKey["Terminal"]()
POOL_KEY = pytest.StashKey[ModelPool]()
RELEASE_KEY = pytest.StashKey[dict[str, tuple[str, str]]]()
"""The node ID of each model's last case, and the model to release once it has run."""
CORPUS_BATCHINGS = {"across": ACROSS_UTTERANCES, "one-by-one": ONE_BY_ONE}
"""``--corpus-batching`` values and what they run."""
VALUED_OPTIONS: list[str] = []
"""The suite's options that take a value (filled as they are added): one given twice is
said (pytest keeps the last)."""


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
        default=None,
        help="reference clips to use when --audio is not given; 'real' adds the 37 committed "
        "real recordings (fixtures/realspeech) and 'corpus' the espeak-ng corpus, each as a "
        f"corpus case (default: {','.join(DEFAULT_CLIPS)}, or none when --dataset is given)",
    )
    group.addoption(
        "--dataset",
        action="append",
        default=[],
        metavar="PATH_OR_HF",
        help="a corpus, timed as a whole with corpus WER (repeatable): a LibriSpeech-style "
        "folder, a JSONL or CSV manifest (audio, text, id), a folder of audio files with .txt "
        "beside them, a folder saved by datasets' save_to_disk, or hf://NAME[:CONFIG]:SPLIT",
    )
    group.addoption(
        "--dataset-limit",
        type=int,
        default=None,
        metavar="N",
        help="read only the first N utterances of each --dataset (IDs get -firstN)",
    )
    group.addoption(
        "--corpus-batching",
        default="across",
        help="how corpus cases run, comma-separated: 'across' (utterances batched together "
        "where the engine can) and/or 'one-by-one' (IDs end in -one-by-one) (default: across)",
    )
    group.addoption(
        "--corpus-budget",
        type=float,
        default=CORPUS_BUDGET_S,
        metavar="SECONDS",
        help="a corpus case runs its warm-up and timed rounds over the whole corpus only when "
        "they are estimated to take at most this long; otherwise it is timed once "
        f"(default {CORPUS_BUDGET_S:.0f})",
    )
    group.addoption(
        "--progress",
        default="auto",
        choices=progress.SETTINGS,
        help="progress of long cases (utterances or windows done, elapsed, ETA): auto (on a "
        "terminal, not with -q), always, never (default: auto)",
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
        "--no-compile-step",
        action="store_true",
        default=False,
        help="capture ours' decoding step as written, not fused by torch.compile first",
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
    VALUED_OPTIONS[:] = [
        name for option in group.options if _one_value(option) for name in option.names()
    ]


def _one_value(option: Any) -> bool:
    """Whether ``option`` keeps one value, so that a second one overrides the first (not a
    flag, nor a repeatable option such as ``--dataset``)."""
    action = getattr(option, "_action", None)  # pytest 8.4+: the argparse action itself
    if action is not None:
        return type(action) is argparse._StoreAction
    attrs = option.attrs()
    return attrs.get("action") in (None, "store") and attrs.get("nargs") != 0


def _suite_config(config: pytest.Config) -> SuiteConfig:
    get = config.getoption
    args = config.invocation_params.args
    warnings = repeated_options(args, VALUED_OPTIONS)
    implementations, repeats = once_each(
        "--implementations",
        default_names(get("device"))
        if get("implementations") == "available"
        else parse_implementation_list(get("implementations")),
    )
    required(
        "--implementations",
        implementations,
        "an implementation name, 'all', or 'available' where one can run here",
    )
    models, more = once_each("--models", parse_model_list(get("models")))
    warnings += repeats + more
    limit = get("dataset_limit")
    datasets = [parse_dataset(text, limit) for text in get("dataset")]
    names, repeats = once_each("--clips", _clip_names(get("clips"), bool(datasets)))
    warnings += repeats
    sets = [name for name in names if name in CLIP_SETS]
    names = [name for name in names if name not in CLIP_SETS]
    if not get("audio"):
        datasets[:0] = [parse_dataset(str(CLIP_SETS[name]), limit) for name in sets]
    datasets, repeats = _unique(datasets)
    warnings += repeats
    if get("audio") is not None and not get("audio").strip():
        raise ValueError("--audio names no file; give an audio file or a folder of them")
    if not (get("audio") or names or datasets):
        required(
            "--clips",
            names,
            f"one of {', '.join((*CLIPS, *CLIP_SETS))}, or pass --audio",
        )
    inputs = audio_inputs(get("audio")) if get("audio") else fixture_inputs(names)
    warnings += unused_options(args, _moot_options(bool(get("audio")), bool(datasets), get))
    warnings += ignored_benchmark_options(args)
    batchings, repeats = _batchings(get("corpus_batching"))
    warnings += repeats
    devices.resolve_device(get("device"))  # an absent device is one usage error, not N errors
    cache_dir = get("cache_dir")
    if cache_dir is not None and not cache_dir.strip():  # an unset variable: not the default
        raise ValueError(
            "--cache-dir names no folder (an empty value); leave it out for the default"
        )
    if cache_dir:  # a cache that holds no model yet must take the bundled import
        folder = weights.resolve_cache_dir(cache_dir)
        weights.check_cache_dir(folder, write=not weights.holds_models(folder))
    options = ImplementationOptions(
        device=get("device"),
        dtype=get("dtype"),
        batch_size=get("batch_size"),
        beam_size=get("beam_size"),
        quantization=get("quantization"),
        vad=get("vad"),
        cuda_graphs=not get("no_cuda_graphs"),
        compile_step=not get("no_compile_step"),
        synthetic_tokens=get("synthetic_tokens") if get("synthetic") else None,
    )
    return SuiteConfig(
        models=tuple(models),
        implementations=tuple(implementations),
        clips=inputs.clips,
        options=options,
        rounds=get("rounds"),
        warmup_rounds=get("warmup_rounds"),
        cache_dir=Path(cache_dir) if cache_dir else None,
        rejected_inputs=inputs.rejected,
        input_warnings=(*warnings, *inputs.warnings),
        datasets=tuple(datasets),
        corpus_batching=batchings,
        corpus_budget_s=get("corpus_budget"),
    )


def _moot_options(audio: bool, corpora: bool, get: Any) -> dict[str, str]:
    """The options that others make moot in this session, each with why."""
    moot = {}
    if audio:
        moot["--clips"] = "--audio gives the clips (and --dataset the corpora)"
    if not corpora:
        why = "no corpus is given (--dataset, or --clips corpus)"
        moot.update({"--dataset-limit": why, "--corpus-batching": why, "--corpus-budget": why})
    if not get("synthetic"):
        moot["--synthetic-tokens"] = "it counts only with --synthetic"
    return moot


def _clip_names(given: str | None, have_datasets: bool) -> list[str]:
    """The clips named by ``--clips``; by default the default clips, or none beside a corpus."""
    if given is None:
        return [] if have_datasets else list(DEFAULT_CLIPS)
    return [name for name in given.split(",") if name]


def _unique(datasets: list[DatasetSpec]) -> tuple[list[DatasetSpec], list[str]]:
    """The corpora, each once (a line per one given again: the same folder, manifest or Hub
    split), or ValueError for two different corpora of the same name."""
    kept: dict[str, DatasetSpec] = {}
    lines = []
    for spec in datasets:
        first = kept.get(spec.name)
        if first is None:
            kept[spec.name] = spec
        elif _same_corpus(first, spec):
            lines.append(f"--dataset {spec.given} is given more than once; it runs once")
        else:
            raise ValueError(
                f"--dataset {first.given} and --dataset {spec.given} are both named "
                f"{spec.name!r}; case IDs need distinct names: rename a folder or manifest"
            )
    return list(kept.values()), list(dict.fromkeys(lines))


def _same_corpus(a: DatasetSpec, b: DatasetSpec) -> bool:
    if a.path is not None and b.path is not None:
        try:
            return a.path.resolve() == b.path.resolve()
        except OSError:
            return a.path == b.path
    hub = (a.format, a.hub_name, a.hub_config, a.split)
    return (
        a.path is None and b.path is None and hub == (b.format, b.hub_name, b.hub_config, b.split)
    )


def _batchings(text: str) -> tuple[tuple[str, ...], list[str]]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in CORPUS_BATCHINGS]
    if unknown or not chosen:
        raise ValueError(
            f"--corpus-batching {text!r}: choose from {', '.join(CORPUS_BATCHINGS)} "
            "(comma-separated)"
        )
    kept, repeats = once_each("--corpus-batching", chosen)
    return tuple(CORPUS_BATCHINGS[part] for part in kept), repeats


def pytest_configure(config: pytest.Config) -> None:
    try:
        config.stash[CONFIG_KEY] = _suite_config(config)
    except (WhisperBenchError, ValueError, FileNotFoundError) as exc:  # device, cache, audio
        raise pytest.UsageError(str(exc)) from exc
    config.stash[RESULTS_KEY] = []
    if config.getoption("offline"):
        go_offline()


class Terminal:
    """What the user sees at once, even while pytest captures the test's output: lines (the
    pool's and the corpora's notes) and, where ``progress.wanted`` says so, one progress line
    (``progress.ProgressLine``) through pytest's terminal writer."""

    def __init__(self, config: pytest.Config) -> None:
        self.reporter = config.pluginmanager.get_plugin("terminalreporter")
        self.capture = config.pluginmanager.get_plugin("capturemanager")
        self.line_of_progress: progress.ProgressLine | None = None
        if self.reporter is None:
            return
        writer = self.reporter._tw
        stream = getattr(writer, "_file", None)
        with self._uncaptured():  # while pytest captures, its descriptor is a file
            isatty = bool(getattr(stream, "isatty", lambda: False)())
        if progress.wanted(
            config.getoption("progress"), isatty=isatty, verbosity=config.get_verbosity()
        ):
            self.line_of_progress = progress.ProgressLine(
                self._write,
                width=writer.fullwidth,
                inline=progress.redraws_in_place(isatty, os.environ.get("TERM")),
                color=writer.hasmarkup,
                begin=self._end_pytests_line,
            )

    def _uncaptured(self) -> Any:
        if self.capture is None:
            return nullcontext()
        return self.capture.global_and_fixture_disabled()

    def _end_pytests_line(self) -> None:
        """Start the progress line on a line of its own (pytest's dots or test ID stay)."""
        if self.reporter is not None:
            with self._uncaptured():
                self.reporter.ensure_newline()
                if self.reporter._tw.width_of_current_line:
                    self.reporter._tw.line()

    def _write(self, text: str) -> None:
        if self.reporter is None:
            return
        with self._uncaptured():
            self.reporter._tw.write(text, flush=True)

    def notify(self, message: str) -> None:
        """A line the user sees at once."""
        if self.reporter is None:
            return
        with self._uncaptured():
            if self.line_of_progress is not None:
                self.line_of_progress.close()
            self.reporter.write_line(message)

    @property
    def progress(self) -> Terminal | None:
        """The progress display the suite reports to, or None when progress is not shown."""
        return self if self.line_of_progress is not None else None

    def start(self, label: str) -> Progress:
        assert self.line_of_progress is not None
        return self.line_of_progress.start(label)

    def stop(self) -> None:
        if self.line_of_progress is not None:
            self.line_of_progress.stop()

    def case_ended(self) -> None:
        if self.line_of_progress is not None:
            self.line_of_progress.ended_elsewhere()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """pytest's terminal and pytest-benchmark's log outlive a reader that left the pipe
    (``| head``: the session goes on and saves its run) and write plain fallbacks for what
    their encoding cannot hold (``safe_output``)."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    benchmarks = getattr(session.config, "_benchmarksession", None)
    for writer in (
        getattr(reporter, "_tw", None),
        getattr(getattr(benchmarks, "logger", None), "term", None),
    ):
        stream = getattr(writer, "_file", None)
        if stream is not None and not isinstance(stream, SafeStream):
            writer._file = SafeStream(stream)  # type: ignore[union-attr]


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """pytest has ended the progress line of the case by writing its outcome; the model whose
    last case this was is released (``suite.last_cases``) when a test follows (after the
    session's last test, the pool's close releases what is left, at no extra cost)."""
    terminal = item.config.stash.get(TERMINAL_KEY, None)
    if terminal is not None:
        terminal.case_ended()
    model = item.config.stash.get(RELEASE_KEY, {}).get(item.nodeid)
    pool = item.config.stash.get(POOL_KEY, None)
    if model is not None and pool is not None and nextitem is not None:
        pool.unload(*model)


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
    if "corpus_case" in metafunc.fixturenames:
        metafunc.parametrize(
            "corpus_case", [pytest.param(case, id=case.id) for case in corpus_cases(suite)]
        )


CASE_TYPES: dict[str, type] = {
    "load_case": LoadCase,
    "transcribe_case": TranscribeCase,
    "corpus_case": CorpusCase,
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A kind of case with nothing to run (clips beside only ``--dataset``, corpora without
    one) is left out, rather than reported as skipped in every run; the cases run one model
    after another (``suite.order_by_model``), each model's load case first, so that every other
    case finds its model loaded by the timed load, and only one model is loaded at a time.
    The IDs are the parametrisation's, unchanged."""
    kept = [item for item in items if not _without_a_case(item)]
    order = order_by_model([_case_of(item) for item in kept])
    items[:] = [kept[index] for index in order]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Where each model is released: after its last case among those selected to run."""
    items = session.items
    session.config.stash[RELEASE_KEY] = {
        items[index].nodeid: model
        for index, model in last_cases([_case_of(item) for item in items]).items()
    }


def _case_of(item: pytest.Item) -> object:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return next((params[name] for name in CASE_TYPES if name in params), None)


def _without_a_case(item: pytest.Item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(
        name in params and not isinstance(params[name], kind) for name, kind in CASE_TYPES.items()
    )


@pytest.fixture(scope="session")
def suite_config(request: pytest.FixtureRequest) -> SuiteConfig:
    return request.config.stash[CONFIG_KEY]


@pytest.fixture(scope="session")
def terminal(request: pytest.FixtureRequest) -> Terminal:
    """Lines and progress shown at once, past pytest's output capture (made when the session
    runs, once pytest's terminal reporter exists)."""
    config = request.config
    if TERMINAL_KEY not in config.stash:
        config.stash[TERMINAL_KEY] = Terminal(config)
    return config.stash[TERMINAL_KEY]


@pytest.fixture(scope="session")
def model_pool(
    request: pytest.FixtureRequest, suite_config: SuiteConfig, terminal: Terminal
) -> Any:
    config = request.config

    def on_loaded(impl: Any) -> None:
        config.hook.pytest_whisperbench_model_loaded(implementation=impl, config=config)

    devices.initialize(devices.resolve_device(suite_config.options.device))
    pool = ModelPool(suite_config, notify=terminal.notify, on_loaded=on_loaded)
    config.stash[POOL_KEY] = pool
    yield pool
    pool.close()
    del config.stash[POOL_KEY]


@pytest.fixture(scope="session")
def clip_library(suite_config: SuiteConfig) -> ClipLibrary:
    return ClipLibrary({path.stem: path for path in suite_config.clips})


@pytest.fixture(scope="session")
def corpus_library(suite_config: SuiteConfig, terminal: Terminal) -> CorpusLibrary:
    return CorpusLibrary(
        {spec.name: spec for spec in suite_config.datasets},
        notify=terminal.notify,
        progress=terminal.progress,
    )


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


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The results table, the notes and the verdict, after pytest-benchmark's own tables: the
    verdict lines are the session's last words."""
    results = config.stash.get(RESULTS_KEY, [])
    if not results:
        return
    from rich.console import Console

    from whisperbench.tables import (
        corpus_lines,
        option_warnings,
        repetition_warnings,
        results_table,
    )
    from whisperbench.verdict import interval_notes, verdicts

    buffer = io.StringIO()
    Console(
        file=buffer, width=max(150, terminalreporter._tw.fullwidth), force_terminal=False
    ).print(results_table(results))
    terminalreporter.write_sep("-", "whisperbench results")
    terminalreporter.write(buffer.getvalue())
    for line in corpus_lines(results):
        terminalreporter.write_line(line)
    for line in repetition_warnings(results):
        terminalreporter.write_line(line, yellow=True)
    suite = config.stash.get(CONFIG_KEY, None)
    if suite is not None:
        for line in option_warnings(results, suite.options):
            terminalreporter.write_line(line, yellow=True)
    measured = [m for _, m in results]
    for line in interval_notes(measured):
        terminalreporter.write_line(f"whisperbench: {line}")
    for verdict in verdicts(measured):
        terminalreporter.write_line(f"whisperbench verdict: {verdict.line()}", bold=True)


__all__ = ["CorpusCase", "LoadCase", "TranscribeCase"]
