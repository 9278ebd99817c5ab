"""One benchmark session, as pytest-benchmark's ``BenchmarkSession`` is one: what the command
line decided (``SuiteConfig``), its cases and their order, the models loaded and when each is
released, the clip and corpus libraries, the records measured, and the summary printed at the
end. ``plugin.py``'s hooks hand off here; nothing in this module is a hook."""

from __future__ import annotations

import dataclasses
import io
import os
from typing import Any

import pytest

from whisperbench import devices
from whisperbench.errors import WhisperBenchError
from whisperbench.implementations import (
    ImplementationOptions,
    WhisperImplementation,
    engine_packages,
)
from whisperbench.models import get_model
from whisperbench.results import to_extra_info
from whisperbench.results.records import BatchSweepResult, Measured
from whisperbench.suite import compare_guard, session_guard, xdist_shards
from whisperbench.suite.batch_sweep import SweepCase, SweepLedger, sweep_cases
from whisperbench.suite.cases import (
    CorpusCase,
    FirstWordsCase,
    LoadCase,
    Model,
    StreamCase,
    SuiteConfig,
    TranscribeCase,
    corpus_cases,
    first_words_cases,
    last_cases,
    latency_track_asked,
    load_cases,
    order_by_model,
    stream_cases,
    transcribe_cases,
)
from whisperbench.suite.inputs import ClipLibrary, CorpusLibrary
from whisperbench.suite.options import suite_config
from whisperbench.suite.pool import ModelPool, load_apart
from whisperbench.suite.references import ALIGNER, ALIGNER_SIZE, ReferenceTimes
from whisperbench.suite.terminal import Terminal
from whisperbench.weights import go_offline

SESSION_KEY = pytest.StashKey["BenchSession"]()
CASE_TYPES: dict[str, type] = {
    "load_case": LoadCase,
    "transcribe_case": TranscribeCase,
    "corpus_case": CorpusCase,
    "first_words_case": FirstWordsCase,
    "stream_case": StreamCase,
    "sweep_case": SweepCase,
}
"""The parametrised arguments of the benchmark tests, and the case each one takes."""
COMMIT_VARIABLE = "WHISPERBENCH_COMMIT"


class BenchSession:
    """The state of one benchmark session and what the suite does at each of pytest's steps."""

    def __init__(self, config: pytest.Config, suite: SuiteConfig) -> None:
        self.config = config
        self.suite = suite
        self.results: list[tuple[str, Measured]] = []
        self.release: dict[str, Model] = {}
        """The node ID of each model's last case, and the model to release once it has run."""
        self.pool: ModelPool | None = None
        self.sweep_ledger = SweepLedger()
        """Where each batch sweep ended (``--batch-sweep``)."""
        self._terminal: Terminal | None = None

    # --- pytest's steps -------------------------------------------------------------------

    @classmethod
    def start(cls, config: pytest.Config) -> BenchSession:
        """The session of ``config``, its options read (a ``UsageError`` for ones that cannot
        run), and its guards registered: the run record and safe saving (``session_guard``),
        no ``--benchmark-compare`` judgement across configurations (``compare_guard``)."""
        placement = xdist_shards.pin_worker(config)  # a worker: before anything sees a device
        try:
            suite = dataclasses.replace(suite_config(config), placement=placement)
            device = devices.resolve_device(suite.options.device)
        except (WhisperBenchError, ValueError, FileNotFoundError) as exc:  # device, cache, audio
            raise pytest.UsageError(str(exc)) from exc
        session = config.stash[SESSION_KEY] = cls(config, suite)
        try:
            xdist_shards.install(config, suite, device, record=session.record)
        except ValueError as exc:  # workers that cannot each have a device
            raise pytest.UsageError(str(exc)) from exc
        if config.getoption("offline"):
            go_offline()
        session_guard.install(config, suite)
        if not config.pluginmanager.is_registered(compare_guard):
            config.pluginmanager.register(compare_guard, compare_guard.__name__)
        return session

    @staticmethod
    def of(config: pytest.Config) -> BenchSession | None:
        return config.stash.get(SESSION_KEY, None)

    def parametrize(self, metafunc: pytest.Metafunc) -> None:
        """The cases of each benchmark test, with their IDs (a load case with its model's time
        limit)."""
        if "load_case" in metafunc.fixturenames:
            metafunc.parametrize(
                "load_case",
                [
                    pytest.param(
                        case,
                        id=case.id,
                        marks=pytest.mark.timeout(get_model(case.size).verify_timeout_s),
                    )
                    for case in load_cases(self.suite)
                ],
            )
        for name, cases in (
            ("transcribe_case", transcribe_cases(self.suite)),
            ("corpus_case", corpus_cases(self.suite)),
            ("first_words_case", first_words_cases(self.suite)),
            ("stream_case", stream_cases(self.suite)),
            ("sweep_case", sweep_cases(self.suite)),
        ):
            if name in metafunc.fixturenames:
                metafunc.parametrize(name, [pytest.param(case, id=case.id) for case in cases])

    @staticmethod
    def leave_out_unasked_track(config: pytest.Config, items: list[pytest.Item]) -> None:
        """The latency track's cases are deselected unless it was asked for
        (``cases.latency_track_asked``)."""
        option = config.option
        markexpr, keyword = getattr(option, "markexpr", ""), getattr(option, "keyword", "")
        if latency_track_asked(markexpr or "", keyword or "", config.args):
            return
        unasked = [item for item in items if item.get_closest_marker("stream") is not None]
        if unasked:
            config.hook.pytest_deselected(items=unasked)
            items[:] = [item for item in items if item.get_closest_marker("stream") is None]

    @staticmethod
    def order(items: list[pytest.Item]) -> None:
        """A kind of case with nothing to run (clips beside only ``--dataset``, corpora without
        one) is left out, rather than reported as skipped in every run; the cases run one model
        after another (``cases.order_by_model``), each model's load case first, so that every
        other case finds its model loaded by the timed load, and only one model is loaded at a
        time. The IDs are the parametrisation's, unchanged."""
        kept = [item for item in items if not _without_a_case(item)]
        order = order_by_model([_case_of(item) for item in kept])
        items[:] = [kept[index] for index in order]

    def collected(self, items: list[pytest.Item]) -> None:
        """Where each model is released: after its last case among those selected to run."""
        self.release = {
            items[index].nodeid: model
            for index, model in last_cases([_case_of(item) for item in items]).items()
        }

    def case_ended(self, item: pytest.Item, nextitem: pytest.Item | None) -> None:
        """pytest has ended the progress line of the case by writing its outcome; the model
        whose last case this was is released when a test follows (after the session's last
        test, the pool's close releases what is left, at no extra cost)."""
        if self._terminal is not None:
            self._terminal.case_ended()
        model = self.release.get(item.nodeid)
        if model is not None and self.pool is not None and nextitem is not None:
            self.pool.unload(*model)

    # --- what the benchmark tests use -----------------------------------------------------

    @property
    def terminal(self) -> Terminal:
        """Lines and progress shown at once, past pytest's output capture (made when the
        session runs, once pytest's terminal reporter exists)."""
        if self._terminal is None:
            self._terminal = Terminal(self.config)
        return self._terminal

    def open_pool(self) -> ModelPool:
        config = self.config

        def on_loaded(impl: WhisperImplementation) -> None:
            config.hook.pytest_whisperbench_model_loaded(implementation=impl, config=config)

        devices.initialize(devices.resolve_device(self.suite.options.device))
        self.pool = ModelPool(self.suite, notify=self.terminal.notify, on_loaded=on_loaded)
        return self.pool

    def close_pool(self) -> None:
        if self.pool is not None:
            self.pool.close()
            self.pool = None

    def clip_library(self) -> ClipLibrary:
        return ClipLibrary({path.stem: path for path in self.suite.clips})

    def reference_times(self, clips: ClipLibrary) -> ReferenceTimes:
        """The stream cases' reference word times, aligned once per session."""
        options = ImplementationOptions(device=devices.resolve_device(self.suite.options.device))
        return ReferenceTimes(
            clips,
            lambda: load_apart(
                ALIGNER,
                ALIGNER_SIZE,
                options,
                cache_dir=self.suite.cache_dir,
                notify=self.terminal.notify,
            ),
        )

    def corpus_library(self) -> CorpusLibrary:
        return CorpusLibrary(
            {spec.name: spec for spec in self.suite.datasets},
            notify=self.terminal.notify,
            progress=self.terminal.progress,
        )

    def record(self, name: str, measured: Measured) -> None:
        """Keeps a case's measured record for the summary table at the end of the session;
        a case that timed nothing (a sweep's size that did not fit) for the saved run too."""
        self.results.append((name, measured))
        if measured.timing is None and isinstance(measured.result, BatchSweepResult):
            session_guard.note_untimed(self.config, name, to_extra_info(measured.result))

    # --- the saved run and the summary ----------------------------------------------------

    @staticmethod
    def machine_info(machine_info: dict[str, Any]) -> None:
        machine_info["whisperbench"] = devices.machine_facts(engine_packages())

    @staticmethod
    def commit_info(commit_info: dict[str, Any]) -> None:
        """The commit named by ``WHISPERBENCH_COMMIT`` where git cannot tell (a copy of the
        tree without its history, such as a GPU machine's): it goes into the saved run and its
        name."""
        commit = os.environ.get(COMMIT_VARIABLE, "").strip()
        if commit:
            commit_info.update(
                id=commit, dirty=False, project="whisperbench", source=COMMIT_VARIABLE
            )

    def summary(self, terminalreporter: Any) -> None:
        """The results table, the notes and the verdict, after pytest-benchmark's own tables:
        the verdict lines are the session's last words."""
        results = self.results + joined_results(self.results)
        if not results:
            return
        from rich.console import Console

        from whisperbench.resources.energy import absence_lines
        from whisperbench.suite.tables import (
            corpus_lines,
            option_warnings,
            repetition_warnings,
            results_tables,
            sweep_lines,
        )
        from whisperbench.verdict import interval_notes, verdicts

        buffer = io.StringIO()
        console = Console(
            file=buffer, width=max(150, terminalreporter._tw.fullwidth), force_terminal=False
        )
        for table in results_tables(results):
            console.print(table)
        terminalreporter.write_sep("-", "whisperbench results")
        terminalreporter.write(buffer.getvalue())
        for line in corpus_lines(results):
            terminalreporter.write_line(line)
        for line in sweep_lines(results):
            terminalreporter.write_line(line, yellow=True)
        for line in repetition_warnings(results):
            terminalreporter.write_line(line, yellow=True)
        for line in option_warnings(results, self.suite.options):
            terminalreporter.write_line(line, yellow=True)
        measured = [m for _, m in results]
        for line in absence_lines(m.result.energy_absent_reason for m in measured):
            terminalreporter.write_line(f"whisperbench: {line}")
        for line in interval_notes(measured):
            terminalreporter.write_line(f"whisperbench: {line}")
        for verdict in verdicts(measured):
            terminalreporter.write_line(f"whisperbench verdict: {verdict.line()}", bold=True)


def joined_results(results: list[tuple[str, Measured]]) -> list[tuple[str, Measured]]:
    """The corpus cases measured in shards (``--shards``), each joined into one."""
    from whisperbench.results.shards import joined

    cases = ((name, measured.result, measured.timing) for name, measured in results)
    return [(whole.name, Measured(whole.result, whole.timing)) for whole in joined(cases)]


def _case_of(item: pytest.Item) -> object:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return next((params[name] for name in CASE_TYPES if name in params), None)


def _without_a_case(item: pytest.Item) -> bool:
    params = getattr(getattr(item, "callspec", None), "params", {})
    return any(
        name in params and not isinstance(params[name], kind) for name, kind in CASE_TYPES.items()
    )
