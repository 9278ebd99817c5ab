"""What a benchmark session ran, saved with the run: whether it ran to its end, and which of the
cases it collected were measured, skipped (and why), failed or never ran.

The suite's pytest glue (``session_guard``) writes it into the saved run's JSON under
``"whisperbench"`` (``RUN_KEY``); ``history`` reads it back, so that ``check-regressions`` and the
report can tell a run cut short (Ctrl-C, a killed job, ``pytest -x``) from a whole one. Runs
saved before the record existed have none and are taken as complete.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RUN_KEY", "RunRecord", "run_record"]

RUN_KEY = "whisperbench"
"""The key of the record in a saved run's JSON (beside pytest-benchmark's own keys)."""


@dataclass(frozen=True)
class RunRecord:
    """One session's account of its cases (by pytest-benchmark's benchmark names)."""

    expected: tuple[str, ...]
    """Every case the session collected, in order."""
    measured: tuple[str, ...]
    """The cases whose measurement is saved in the run."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Case -> the reason it was skipped."""
    failed: tuple[str, ...] = ()
    not_run: tuple[str, ...] = ()
    """Cases collected but never finished: the session ended first (or stopped in one)."""
    stopped: str | None = None
    """Why the session ended before its last case (None: it ran them all)."""
    rejected_inputs: tuple[str, ...] = ()
    """Input files left out when the cases were collected, a line each naming it and why."""
    untimed: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Case -> the record (``extra_info``) of a case that ran but timed nothing: a batch
    sweep's size that did not fit. pytest-benchmark saves only timed cases, so the run keeps
    these here, for the report's sweep table."""

    @property
    def complete(self) -> bool:
        """The session ran every case it collected to an outcome."""
        return self.stopped is None and not self.not_run

    def describe(self) -> str:
        """``interrupted (KeyboardInterrupt): 1 of 3 cases measured, 2 not run`` and the like."""
        state = "complete" if self.complete else (self.stopped or "incomplete")
        return f"{state}: {self.counts()}"

    def counts(self) -> str:
        """``1 of 3 cases measured, 2 not run`` and the like."""
        counts = [f"{len(self.measured)} of {len(self.expected)} cases measured"]
        if self.not_run:
            counts.append(f"{len(self.not_run)} not run")
        if self.skipped:
            counts.append(f"{len(self.skipped)} skipped")
        if self.failed:
            counts.append(f"{len(self.failed)} failed")
        return ", ".join(counts)

    def to_json(self) -> dict[str, Any]:
        return {
            "complete": self.complete,
            "stopped": self.stopped,
            "expected": list(self.expected),
            "measured": list(self.measured),
            "skipped": dict(self.skipped),
            "failed": list(self.failed),
            "not_run": list(self.not_run),
            "rejected_inputs": list(self.rejected_inputs),
            "untimed": dict(self.untimed),
        }

    @classmethod
    def from_json(cls, data: Any) -> RunRecord | None:
        """The record saved in a run (None for a run without one, or one that is not a
        mapping)."""
        if not isinstance(data, Mapping):
            return None
        skipped = data.get("skipped")
        return cls(
            expected=_names(data.get("expected")),
            measured=_names(data.get("measured")),
            skipped={str(k): str(v) for k, v in skipped.items()}
            if isinstance(skipped, Mapping)
            else {},
            failed=_names(data.get("failed")),
            not_run=_names(data.get("not_run")),
            stopped=None
            if data.get("stopped") is None and data.get("complete", True)
            else str(data.get("stopped") or "incomplete"),
            rejected_inputs=_names(data.get("rejected_inputs")),
            untimed={
                str(name): dict(record)
                for name, record in untimed.items()
                if isinstance(record, Mapping)
            }
            if isinstance(untimed := data.get("untimed"), Mapping)
            else {},
        )


def _names(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value) if isinstance(value, list | tuple) else ()


def run_record(
    expected: Iterable[str],
    measured: Iterable[str],
    outcomes: Mapping[str, str],
    skip_reasons: Mapping[str, str],
    stopped: str | None,
    rejected_inputs: Iterable[str] = (),
    untimed: Mapping[str, dict[str, Any]] | None = None,
) -> RunRecord:
    """The record of a session: ``outcomes`` maps each case that finished to ``passed``,
    ``failed`` or ``skipped``; a collected case without one never finished."""
    expected = tuple(expected)
    return RunRecord(
        expected=expected,
        measured=tuple(measured),
        skipped={
            name: skip_reasons.get(name, "") for name in expected if outcomes.get(name) == "skipped"
        },
        failed=tuple(name for name in expected if outcomes.get(name) == "failed"),
        not_run=tuple(name for name in expected if name not in outcomes),
        stopped=stopped,
        rejected_inputs=tuple(rejected_inputs),
        untimed=dict(untimed or {}),
    )
