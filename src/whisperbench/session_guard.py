"""pytest glue that keeps a benchmark session honest about what it measured (a plugin module,
loaded by ``whisperbench.plugin``; its hooks live on one ``SessionGuard`` per session):

- every saved run carries a ``run_record.RunRecord`` (``pytest_benchmark_update_json``): the
  cases collected, measured, skipped (why), failed and never run, and why the session stopped
  early (Ctrl-C, ``-x``); a run cut short is marked ``complete: false``;
- a case interrupted inside its timed rounds leaves pytest-benchmark a record of fewer rounds
  than asked (or of none, whose statistics cannot be computed) without whisperbench's fields:
  it is left out of the saved run (``pytest_benchmark_generate_json``), which says it never
  finished, instead of saving a short measurement or failing the save;
- saving takes the storage's ``storage_lock.SaveLock`` before pytest-benchmark numbers the run,
  so that sessions saving at the same moment never pick the same file;
- the summary names the inputs left out, the skipped cases (grouped by reason, with the fix)
  and a cut-short run; a session that measured nothing at all (every case skipped) exits 1, so
  that a nightly job whose models broke does not pass.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from filelock import Timeout
from pytest_benchmark.plugin import pytest_benchmark_generate_json as generate_json

from whisperbench.run_record import RUN_KEY, RunRecord, run_record
from whisperbench.storage_lock import SaveLock, file_storage_folder
from whisperbench.suite import SuiteConfig

__all__ = ["SessionGuard"]

PREFIX = "whisperbench:"
GUARD_NAME = "whisperbench-session-guard"


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(SessionGuard(config), GUARD_NAME)


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


class SessionGuard:
    """What happened to each benchmark case of one session, and the hooks that act on it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.session: pytest.Session | None = None
        self.expected: list[str] = []
        self.outcomes: dict[str, str] = {}
        self.skip_reasons: dict[str, str] = {}
        self.interrupted: str | None = None
        self.lock: SaveLock | None = None
        self.saved: RunRecord | None = None
        """The record written into the saved run (None: nothing saved)."""
        self.nothing_measured = False

    # --- what the session did -----------------------------------------------------------

    @property
    def suite(self) -> SuiteConfig | None:
        from whisperbench.plugin import CONFIG_KEY

        return self.config.stash.get(CONFIG_KEY, None)

    def stopped(self) -> str | None:
        """Why the session ended before its last case, or None."""
        if self.interrupted is not None:
            return f"interrupted ({self.interrupted})"
        reason = self.session and (self.session.shouldfail or self.session.shouldstop)
        return f"stopped early ({reason})" if reason else None

    def record(self, measured: list[str]) -> RunRecord:
        rejected = self.suite.rejected_inputs if self.suite else ()
        return run_record(
            self.expected, measured, self.outcomes, self.skip_reasons, self.stopped(), rejected
        )

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.expected = [
            item.name for item in session.items if "benchmark" in getattr(item, "fixturenames", ())
        ]

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
        self.interrupted = excinfo.typename

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
        if self.lock is None and (
            config.getoption("benchmark_save") or config.getoption("benchmark_autosave")
        ):
            folder = file_storage_folder(str(config.getoption("benchmark_storage")))
            if folder is not None:
                self.lock = SaveLock(folder.resolve())
                try:
                    self.lock.acquire()
                except Timeout:
                    self.lock = None
                    self._write(
                        f"{PREFIX} warning: another session held {folder} for too long; "
                        "saving without the lock",
                        yellow=True,
                    )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Release the storage lock (the run is saved by now); a session that measured no
        case at all, though it collected some and was not cut short, exits 1."""
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
        if stopped is not None and self.expected:
            record = self.saved or self.record([])
            saved = (
                "the saved run is marked incomplete, and check-regressions fails on it "
                "(--allow-partial accepts it)"
                if self.saved is not None
                else "nothing was saved"
            )
            lines.append((f"{PREFIX} the session was {stopped}: {record.counts()}; {saved}", red))
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
