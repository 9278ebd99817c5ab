"""pytest glue that keeps a benchmark session honest about what it measured (its hooks live on
one ``SessionGuard`` per session, registered by the suite's session, ``install``):

- every saved run carries a ``run_record.RunRecord`` (``pytest_benchmark_update_json``): the
  cases collected, measured, skipped (why), failed and never run, and why the session stopped
  early (Ctrl-C, ``-x``); a run cut short is marked ``complete: false``;
- a case interrupted inside its timed rounds leaves pytest-benchmark a record of fewer rounds
  than asked (or of none, whose statistics cannot be computed) without whisperbench's fields:
  it is left out of the saved run (``pytest_benchmark_generate_json``), which says it never
  finished, instead of saving a short measurement or failing the save;
- saving takes the storage's ``storage_lock.SaveLock`` before pytest-benchmark numbers the run,
  so that sessions saving at the same moment never pick the same file;
- the storage is checked before anything runs (``run_storage.storage_problem``: a usage error),
  the run is written atomically, and a run the storage cannot take after all goes to a
  fallback file that the summary names, and the session fails (``run_storage``); so is
  ``--benchmark-json``'s file;
- in a session that runs benchmark cases, SIGTERM and SIGHUP end it as Ctrl-C does (the
  table of the finished cases prints; a saving session saves them as an incomplete run), and
  no signal cuts the saving short (``session_signals``); a session stopped before any case
  was timed still saves its record, so that ``check-regressions`` never judges the run
  before it as the newest;
- the summary names the inputs left out, the skipped cases (grouped by reason, with the fix)
  and a cut-short run; a session that measured nothing at all (every case skipped) exits 1, so
  that a nightly job whose models broke does not pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from filelock import Timeout
from pytest_benchmark.plugin import pytest_benchmark_generate_json as generate_json
from pytest_benchmark.storage.file import FileStorage

from whisperbench.run_record import RUN_KEY, RunRecord, run_record
from whisperbench.suite.cases import SuiteConfig
from whisperbench.suite.run_storage import (
    SafeFileStorage,
    SaveFailure,
    describe_os_error,
    json_problem,
    safe_dumps,
    save_or_fall_back,
    storage_problem,
)
from whisperbench.suite.session_signals import SignalGuard, Terminated
from whisperbench.suite.storage_lock import SaveLock, file_storage_folder

__all__ = ["SessionGuard"]

PREFIX = "whisperbench:"
GUARD_NAME = "whisperbench-session-guard"


def install(config: pytest.Config, suite: SuiteConfig) -> None:
    """The storage checked (a usage error before anything runs), then the session's
    ``SessionGuard`` registered (once, however often this is called)."""
    if not config.getoption("collectonly"):
        _check_where_results_go(config)
    if config.pluginmanager.get_plugin(GUARD_NAME) is None:
        config.pluginmanager.register(SessionGuard(config, suite), GUARD_NAME)


def note_untimed(config: pytest.Config, name: str, extra_info: dict[str, Any]) -> None:
    """Keep the record of case ``name``, which ran but timed nothing (a batch sweep's size
    that did not fit), for the saved run's record: pytest-benchmark saves timed cases only."""
    guard = config.pluginmanager.get_plugin(GUARD_NAME)
    if isinstance(guard, SessionGuard):
        guard.untimed[name] = extra_info


def _check_where_results_go(config: pytest.Config) -> None:
    """The storage (and ``--benchmark-json``'s file) can take the results: a usage error in
    one line before anything runs, where they cannot."""
    folder = _saving_to(config)
    storage = str(config.getoption("benchmark_storage"))
    if folder is not None and not storage.partition("://")[2 if "://" in storage else 0].strip():
        raise pytest.UsageError(
            "--benchmark-storage names no folder (an empty value); leave it out for the default"
        )
    if folder is not None:
        problem = storage_problem(folder, machine_id=_machine_id())
        if problem is not None:
            raise pytest.UsageError(
                f"{problem}: the run could not be saved; pass a folder that can be written "
                "with --benchmark-storage, or leave out --benchmark-autosave"
            )
    json_path = config.getoption("benchmark_json", None)
    if json_path is not None:
        problem = json_problem(Path(json_path))
        if problem is not None:
            raise pytest.UsageError(
                f"{problem}: the results could not be written; pass another --benchmark-json"
            )


def _machine_id() -> str | None:
    """The folder of the storage that pytest-benchmark saves this machine's runs into."""
    try:
        from pytest_benchmark.utils import get_machine_id

        return str(get_machine_id())  # type: ignore[no-untyped-call]
    except Exception:  # another pytest-benchmark: the storage alone is checked
        return None


def _saving_to(config: pytest.Config) -> Path | None:
    """The file storage folder the session saves its run into (None: it saves none)."""
    if not (
        config.getoption("benchmark_save", None) or config.getoption("benchmark_autosave", None)
    ):
        return None
    return file_storage_folder(str(config.getoption("benchmark_storage")))


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


class SessionGuard:
    """What happened to each benchmark case of one session, and the hooks that act on it."""

    def __init__(self, config: pytest.Config, suite: SuiteConfig | None = None) -> None:
        self.config = config
        self.suite = suite
        self.session: pytest.Session | None = None
        self.expected: list[str] = []
        self.outcomes: dict[str, str] = {}
        self.skip_reasons: dict[str, str] = {}
        self.interrupted: str | None = None
        self.lock: SaveLock | None = None
        self.saved: RunRecord | None = None
        self.untimed: dict[str, dict[str, Any]] = {}
        """Cases that ran but timed nothing, with their records (``note_untimed``)."""
        """The record written into the saved run (None: nothing saved)."""
        self.nothing_measured = False
        self.signals = SignalGuard()
        self.storage: SafeFileStorage | None = None
        self.json_failure: SaveFailure | None = None
        """``--benchmark-json``'s file could not be written where asked (None: it was, or
        none was asked for)."""

    # --- what the session did -----------------------------------------------------------

    @pytest.hookimpl(wrapper=True, tryfirst=True, specname="pytest_sessionfinish")
    def defer_signals(self) -> Generator[None, None, None]:
        """Before anything saves (pytest-benchmark saves first thing here), signals stop
        interrupting: they are noted until the run is written."""
        self.signals.defer()
        return (yield)

    def stopped(self) -> str | None:
        """Why the session ended before its last case, or None."""
        if self.interrupted is not None:
            return f"interrupted ({self.interrupted})"
        reason = self.session and (self.session.shouldfail or self.session.shouldstop)
        return f"stopped early ({reason})" if reason else None

    def record(self, measured: list[str]) -> RunRecord:
        rejected = self.suite.rejected_inputs if self.suite else ()
        return run_record(
            self.expected,
            measured,
            self.outcomes,
            self.skip_reasons,
            self.stopped(),
            rejected,
            untimed=self.untimed,
        )

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session
        if _saving_to(self.config) is not None and not self.config.getoption("collectonly"):
            self.signals.install()  # a saving session: from its start (collecting too)
        benchmarks = getattr(self.config, "_benchmarksession", None)
        if benchmarks is not None and type(benchmarks.storage) is FileStorage:
            self.storage = benchmarks.storage = SafeFileStorage.like(benchmarks.storage)
        if benchmarks is not None and getattr(benchmarks, "json", None):
            benchmarks.save_json = self._save_json

    def _save_json(self, output_json: dict[str, Any]) -> None:
        """pytest-benchmark's ``save_json`` (``--benchmark-json``), written atomically, to a
        fallback file when it cannot be written, and never in the way of the storage's run."""
        benchmarks: Any = getattr(self.config, "_benchmarksession", None)
        target = Path(benchmarks.json)
        text: str = safe_dumps(output_json, ensure_ascii=True, indent=4)  # type: ignore[no-untyped-call]
        self.json_failure = save_or_fall_back(target, text)
        if self.json_failure is None:
            benchmarks.logger.info(f"Wrote benchmark data in: {target}", purple=True)

    @property
    def save_failures(self) -> list[SaveFailure]:
        """The results files that could not be written where asked."""
        failures = [self.storage.failure if self.storage is not None else None, self.json_failure]
        return [failure for failure in failures if failure is not None]

    def pytest_unconfigure(self) -> None:
        self.signals.restore()
        if self.signals.deferred and self.session is not None:
            names = ", ".join(dict.fromkeys(self.signals.deferred))
            self._write(f"{PREFIX} {names} received while the session was saving: it saved first")
            if self.session.exitstatus == pytest.ExitCode.OK:
                self.session.exitstatus = pytest.ExitCode.INTERRUPTED

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.expected = [
            item.name for item in session.items if "benchmark" in getattr(item, "fixturenames", ())
        ]
        # Only a session that saves a run or runs benchmark cases takes the signals: a test
        # run that merely loads the plugin (this project's own tests, whose in-process
        # sessions take them in turn) keeps the default ones.
        if self.expected and not self.config.getoption("collectonly"):
            self.signals.install()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        name = report.nodeid.rpartition("::")[2]
        if name not in self.expected:
            return
        if report.when == "call" or not report.passed:
            if self.outcomes.get(name) != "failed":  # a teardown error after a pass is a failure
                self.outcomes[name] = report.outcome
            if report.skipped:
                self.skip_reasons[name] = _skip_reason(report)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        value = excinfo.value
        self.interrupted = value.name if isinstance(value, Terminated) else excinfo.typename

    # --- saving ---------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True, optionalhook=True)
    def pytest_benchmark_generate_json(
        self,
        config: pytest.Config,
        benchmarks: list[Any],
        include_data: bool,
        machine_info: dict[str, Any],
        commit_info: dict[str, Any],
    ) -> dict[str, Any]:
        """pytest-benchmark's own JSON, without the benchmarks of cases that never finished (a
        case interrupted inside its timed rounds): they hold fewer rounds than asked, or none
        (whose statistics cannot be computed), and none of whisperbench's fields."""
        unfinished = set(self.expected) - set(self.outcomes)
        timed = [bench for bench in benchmarks if bench and bench.name not in unfinished]
        output: dict[str, Any] = generate_json(  # type: ignore[no-untyped-call]
            config, timed, include_data, machine_info, commit_info
        )
        return output

    @pytest.hookimpl(optionalhook=True)
    def pytest_benchmark_update_json(
        self, config: pytest.Config, benchmarks: list[Any], output_json: dict[str, Any]
    ) -> None:
        """Add the run record, and take the storage's lock before pytest-benchmark numbers the
        file (held until the session finishes)."""
        measured = [bench["name"] for bench in output_json.get("benchmarks", [])]
        self.saved = self.record(measured)
        output_json[RUN_KEY] = self.saved.to_json()
        folder = _saving_to(config)
        if self.lock is not None or folder is None:
            return
        self.lock = SaveLock(folder.resolve())
        try:
            self.lock.acquire()
        except (Timeout, OSError) as exc:
            self.lock = None
            why = (
                "another session held it for too long"
                if isinstance(exc, Timeout)
                else f"its lock cannot be taken ({describe_os_error(exc)})"
            )
            self._write(f"{PREFIX} warning: {folder}: {why}; saving without the lock", yellow=True)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Release the storage lock (the run is saved by now); a session that measured no
        case at all, though it collected some and was not cut short, exits 1; so does one
        whose run its storage could not take."""
        if (self.expected or self.interrupted) and self.stopped() and self.saved is None:
            self._save_record_only()  # interrupted while collecting: expected is empty
        if self.save_failures and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.lock is not None:
            self.lock.release()
            self.lock = None
        passed = [name for name, outcome in self.outcomes.items() if outcome == "passed"]
        if (
            self.expected
            and not passed
            and session.exitstatus == pytest.ExitCode.OK
            and not self.config.getoption("collectonly")
            and not self.config.getoption("benchmark_skip", False)
        ):
            self.nothing_measured = True
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _save_record_only(self) -> None:
        """A session stopped before any case was timed: pytest-benchmark saves nothing then,
        so the run (its record, no benchmarks) is saved through the same hooks here."""
        benchmarks: Any = getattr(self.config, "_benchmarksession", None)
        if benchmarks is not None and not benchmarks.benchmarks:
            self.save_benchmarks([])

    def save_benchmarks(self, saved: list[dict[str, Any]], *, with_json: bool = False) -> None:
        """Save a run of ``saved`` (benchmarks in pytest-benchmark's saved form, timed in other
        processes: a sharded session's workers) through pytest-benchmark's hooks, as it saves
        its own: machine and commit, the run record, the storage's lock, the safe write; with
        ``with_json``, ``--benchmark-json``'s file too."""
        benchmarks: Any = getattr(self.config, "_benchmarksession", None)
        if benchmarks is None:
            return
        name = (benchmarks.save or benchmarks.autosave) if self.storage is not None else None
        to_json = with_json and bool(benchmarks.json)
        if not (name or to_json):
            return
        hook = self.config.hook
        machine_info = benchmarks.get_machine_info()
        commit_info = hook.pytest_benchmark_generate_commit_info(config=self.config)
        hook.pytest_benchmark_update_commit_info(config=self.config, commit_info=commit_info)
        output = hook.pytest_benchmark_generate_json(
            config=self.config,
            benchmarks=[],
            include_data=False,
            machine_info=machine_info,
            commit_info=commit_info,
        )
        output["benchmarks"] = list(saved)
        hook.pytest_benchmark_update_json(config=self.config, benchmarks=[], output_json=output)
        if name and self.storage is not None:
            self.storage.save(output, name)
        if to_json:
            benchmarks.save_json(output)

    # --- the summary --------------------------------------------------------------------

    def _write(self, line: str, **markup: bool) -> None:
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line, **markup)

    def summary_lines(self) -> list[tuple[str, dict[str, bool]]]:
        """The lines the session summary ends with, each with its terminal markup."""
        yellow, red = {"yellow": True}, {"red": True, "bold": True}
        lines: list[tuple[str, dict[str, bool]]] = []
        suite = self.suite
        if suite is not None:
            lines += [
                (f"{PREFIX} input left out: {line}", yellow) for line in suite.rejected_inputs
            ]
            lines += [(f"{PREFIX} warning: {line}", yellow) for line in suite.input_warnings]
        reasons = Counter(self.skip_reasons.values())
        for reason, count in reasons.items():
            lines.append(
                (f"{PREFIX} {count} of {len(self.expected)} case(s) skipped: {reason}", yellow)
            )
        stopped = self.stopped()
        if stopped is not None and (self.expected or self.interrupted):
            passed = [name for name in self.expected if self.outcomes.get(name) == "passed"]
            record = self.saved or self.record(passed)
            saved = (
                "the saved run is marked incomplete, and check-regressions fails on it "
                "(--allow-partial accepts it)"
                if self.saved is not None
                else "nothing was saved"
            )
            lines.append((f"{PREFIX} the session was {stopped}: {record.counts()}; {saved}", red))
        for failure in self.save_failures:
            lines.append((f"{PREFIX} error: {failure.line()}; the session fails", red))
        if self.nothing_measured:
            lines.append(
                (
                    f"{PREFIX} error: no case was measured: all {len(self.expected)} collected "
                    "case(s) were skipped (reasons above); nothing was saved, exit status 1",
                    red,
                )
            )
        return lines

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        for line, markup in self.summary_lines():
            terminalreporter.write_line(line, **markup)
