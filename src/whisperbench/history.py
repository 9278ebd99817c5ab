"""Saved benchmark runs (pytest-benchmark file storage) -> typed records.

Each benchmark's ``extra_info`` is read by ``results.from_extra_info`` into the same typed
record the suite saved (runs saved by earlier versions included); its timing statistics into
``results.Timing``.

Discovery uses pytest-benchmark's own ``FileStorage.query`` (so run references and globs mean
what they mean to ``--benchmark-compare``); each file is then read here, one at a time, so that
a broken or foreign file costs one line in ``History.skipped`` and never another run.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pytest_benchmark.storage.file import FileStorage

from whisperbench.errors import HistoryError
from whisperbench.results.codec import from_extra_info
from whisperbench.results.metrics import Metric
from whisperbench.results.records import (
    BatchSweepResult,
    CorpusResult,
    FirstWordsResult,
    Params,
    Result,
    StreamResult,
    Timing,
    TranscribeResult,
    config_changes,
)
from whisperbench.results.shards import joined
from whisperbench.run_record import RUN_KEY, RunRecord

DEFAULT_STORAGE = "reports/benchmarks"
"""The storage that pyproject's ``addopts`` gives pytest-benchmark (relative to the repo)."""


@dataclass(frozen=True)
class CaseKey:
    """What must match for two results to be the same benchmark: the case and where it ran.
    Two results of one key compare like with like only when their configuration (the speed
    parameters of ``results.SPEED_PARAMS``) matches too: see ``CaseResult.config_changes``."""

    kind: str
    implementation: str
    model: str
    clip: str | None
    """The clip of a transcribe case, the corpus of a corpus case; None for a load."""
    device: str
    dtype: str
    quantization: str

    @classmethod
    def of(cls, result: Result) -> CaseKey:
        params = result.params
        return cls(
            kind=result.kind,
            implementation=result.implementation,
            model=result.model,
            clip=_subject(result),
            device=str(params.device or "-"),
            dtype=str(params.dtype or "-"),
            quantization=str(params.quantization or "none"),
        )

    @property
    def label(self) -> str:
        parts = [self.implementation, self.model]
        if self.clip is not None:
            parts.append(self.clip)
        text = f"{self.kind} {' '.join(parts)} [{self.device}"
        text += f" {self.dtype}" if self.dtype != "-" else ""
        text += f" {self.quantization}" if self.quantization not in ("-", "none") else ""
        return text + "]"

    @property
    def slug(self) -> str:
        return "".join(c if c.isalnum() or c in ".-" else "_" for c in self.label).strip("_")


def _subject(result: Result) -> str | None:
    """What a case ran on: its clip (with the batch size in a batch sweep), or its corpus
    (``-one-by-one`` when it ran so)."""
    if isinstance(result, BatchSweepResult):
        return result.subject
    if isinstance(result, TranscribeResult | FirstWordsResult | StreamResult):
        return result.clip
    if isinstance(result, CorpusResult):
        return result.subject
    return None


@dataclass(frozen=True)
class CaseResult:
    """One benchmark of one run: pytest-benchmark's timing of the rounds and whisperbench's
    typed record (``results``)."""

    name: str
    key: CaseKey
    timing: Timing
    data: tuple[float, ...] | None
    """The seconds of each round, when the run was saved with ``--benchmark-save-data``."""
    result: Result

    def value(self, metric: Metric) -> float | None:
        """A declared metric's value for this case (None where it has none)."""
        return metric.value(self.timing, self.result)

    @property
    def params(self) -> Params:
        return self.result.params

    def config_changes(self, earlier: CaseResult) -> tuple[str, ...]:
        """How this result's speed parameters differ from ``earlier``'s (empty: like for like)."""
        return config_changes(earlier.params, self.params)

    @property
    def median_s(self) -> float:
        return self.timing.median_s

    @property
    def min_s(self) -> float:
        return self.timing.min_s

    @property
    def max_s(self) -> float:
        return self.timing.max_s

    @property
    def rounds(self) -> int:
        return self.timing.rounds

    @property
    def spread_s(self) -> float | None:
        return self.timing.spread_s


@dataclass(frozen=True)
class Run:
    """One saved session (one JSON file)."""

    path: Path
    run_id: str
    machine: str
    when: datetime
    commit: str
    dirty: bool
    branch: str
    machine_info: dict[str, Any]
    cases: tuple[CaseResult, ...]
    ignored: tuple[str, ...] = ()
    """Benchmarks of this file that were left out, each with the reason."""
    record: RunRecord | None = None
    """What the session ran (``run_record``); None for runs saved before it existed."""

    @property
    def complete(self) -> bool:
        """The session ran to its end (runs saved without a record are taken as complete)."""
        return self.record is None or self.record.complete

    @property
    def label(self) -> str:
        cut = "" if self.complete else ", INCOMPLETE"
        return f"{self.run_id} ({self.short_commit}, {self.when:%Y-%m-%d %H:%M}{cut})"

    def fate(self, name: str) -> str | None:
        """What became of the case named ``name`` (pytest-benchmark's name) in this session,
        when its record says: skipped (why), failed or never run."""
        record = self.record
        if record is None:
            return None
        if name in record.skipped:
            return f"skipped: {record.skipped[name]}"
        if name in record.failed:
            return "failed"
        if name in record.not_run:
            return f"not run: the session was {record.stopped or 'cut short'}"
        if record.expected and name not in record.expected:
            return "not collected in this session"
        return None

    @property
    def short_commit(self) -> str:
        text = self.commit[:8] if self.commit not in ("unversioned", "") else self.commit or "?"
        return text + ("+dirty" if self.dirty else "")

    @property
    def facts(self) -> dict[str, Any]:
        facts = self.machine_info.get("whisperbench")
        return facts if isinstance(facts, dict) else {}

    @property
    def hardware(self) -> str:
        """A one-line description of the processor and accelerator the run used."""
        facts = self.facts
        cpu_info = self.machine_info.get("cpu")
        cpu = (cpu_info.get("brand_raw") if isinstance(cpu_info, dict) else None) or facts.get(
            "cpu"
        )
        parts = [str(cpu or self.machine_info.get("machine") or "unknown CPU")]
        if facts.get("apple_chip"):
            parts = [str(facts["apple_chip"])]
        if facts.get("gpu_name"):
            parts.append(str(facts["gpu_name"]))
        return ", ".join(parts)

    def case(self, key: CaseKey) -> CaseResult | None:
        return next((case for case in self.cases if case.key == key), None)

    def untimed_results(self) -> list[Result]:
        """The records of the cases that ran but timed nothing (a batch sweep's size that
        did not fit: ``RunRecord.untimed``), those that can be read."""
        found: list[Result] = []
        for extra_info in self.record.untimed.values() if self.record else ():
            try:
                found.append(from_extra_info(extra_info))
            except (HistoryError, KeyError, TypeError, ValueError, AttributeError):
                continue
        return found


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: skipped: {self.reason}"


@dataclass
class History:
    """Every readable run, oldest first, and a line for each file that was skipped."""

    storage: Path | None
    runs: list[Run] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def machines(self) -> list[str]:
        return sorted({run.machine for run in self.runs})

    def problems(self) -> list[str]:
        """A line per skipped file, and per run that had benchmarks left out."""
        lines = [str(skipped) for skipped in self.skipped]
        for run in self.runs:
            if run.ignored:
                left_out = "; ".join(run.ignored)
                lines.append(f"{run.path}: {len(run.ignored)} benchmark(s) left out: {left_out}")
        return lines

    def unreadable_after(self, run: Run) -> list[Skipped]:
        """The files beside ``run`` (its machine's folder) numbered after it that could not be
        read: a newer run cut or emptied (an older version's save on a full disk), which a
        check of ``run`` as the newest must not pass over."""
        number = _run_number(run.path)
        return [
            skipped
            for skipped in self.skipped
            if skipped.path.parent.resolve() == run.path.parent.resolve()
            and number is not None
            and (_run_number(skipped.path) or 0) > number
        ]

    def for_machine(self, machine: str) -> list[Run]:
        return [run for run in self.runs if run.machine == machine]

    def newest(self, machine: str | None = None) -> Run | None:
        runs = self.for_machine(machine) if machine else self.runs
        return runs[-1] if runs else None

    def find(self, ref: str, machine: str | None = None) -> Run:
        """A run by path, by ``MACHINE/NNNN`` or by number (``0001``, ``1``)."""
        path = Path(ref)
        if path.is_file():
            resolved = path.resolve()
            for run in self.runs:
                if run.path.resolve() == resolved:
                    return run
            problem = next((s for s in self.skipped if s.path.resolve() == resolved), None)
            if problem is not None:
                raise HistoryError(str(problem))
            return load_run(path)
        wanted_machine, _, number = ref.rpartition("/")
        machine = wanted_machine or machine
        if not number.isdigit():
            raise HistoryError(f"{ref!r} is neither a file nor a run number such as 0001")
        matches = [
            run
            for run in self.runs
            if run.run_id == f"{int(number):04d}" and (machine is None or run.machine == machine)
        ]
        if not matches:
            where = f" on machine {machine}" if machine else ""
            raise HistoryError(f"no readable run {ref!r}{where} in {self.storage}")
        if len(matches) > 1:
            machines = ", ".join(run.machine for run in matches)
            raise HistoryError(
                f"run {ref!r} exists on several machines ({machines}); "
                "name one with MACHINE/NNNN, --machine or a path"
            )
        return matches[0]


def storage_path(spec: str | Path | None) -> Path:
    """``file://PATH`` (pytest-benchmark's spelling) or a plain path; None: the default."""
    text = str(spec) if spec is not None else DEFAULT_STORAGE
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme != "file":
            raise HistoryError(f"only file storage can be read, not {scheme}://")
        text = rest
    return Path(text)


def load_history(storage: str | Path | None = None, extra_files: Sequence[Path] = ()) -> History:
    """Every run in ``storage`` (pytest-benchmark's layout: ``<machine-id>/NNNN_*.json``)."""
    root = storage_path(storage)
    if not root.is_dir():
        raise HistoryError(
            f"no benchmark storage at {root} (run the suite with --benchmark-autosave)"
        )
    history = History(storage=root)
    files: list[Path] = FileStorage(root, logger=None).query("*")  # type: ignore[no-untyped-call]
    _add_files(history, [*files, *extra_files], root)
    return history


def _add_files(history: History, files: Sequence[Path], root: Path | None) -> None:
    seen: set[Path] = set()
    for path in files:
        if path.resolve() in seen:
            continue
        seen.add(path.resolve())
        try:
            history.runs.append(load_run(path, root))
        except HistoryError as exc:
            history.skipped.append(Skipped(path, str(exc)))
    history.runs.sort(key=lambda run: (run.when, run.run_id))


def load_run(path: Path, root: Path | None = None) -> Run:
    """Read one saved run; ``HistoryError`` names what is wrong with it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HistoryError(f"cannot be read: {exc}") from exc
    if not text.strip():
        raise HistoryError("empty file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise HistoryError(f"not valid JSON (truncated or corrupt?): {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise HistoryError("not a pytest-benchmark run (no 'benchmarks' list)")
    machine_info = data.get("machine_info")
    if not isinstance(machine_info, dict):
        raise HistoryError("not a pytest-benchmark run (no 'machine_info')")
    cases: list[CaseResult] = []
    problems: list[str] = []
    for index, bench in enumerate(data["benchmarks"]):
        try:
            cases.append(_case(bench))
        except (HistoryError, KeyError, TypeError, ValueError, AttributeError) as exc:
            name = bench.get("name", f"#{index}") if isinstance(bench, dict) else f"#{index}"
            problems.append(f"{name}: {exc}")
    cases += _joined_cases(cases)
    record = RunRecord.from_json(data.get(RUN_KEY))
    if not cases and record is None:
        detail = f" ({problems[0]})" if problems else ""
        raise HistoryError(f"no whisperbench results in this run{detail}")
    commit_info = _mapping(data.get("commit_info"))
    return Run(
        path=path,
        run_id=path.name.split("_", 1)[0] if path.name[:4].isdigit() else path.stem,
        machine=_machine_id(path, root, machine_info),
        when=_when(data.get("datetime"), path),
        commit=str(commit_info.get("id") or "unknown"),
        dirty=bool(commit_info.get("dirty")),
        branch=str(commit_info.get("branch") or ""),
        machine_info=machine_info,
        cases=tuple(cases),
        ignored=tuple(problems),
        record=record,
    )


def _case(bench: Any) -> CaseResult:
    if not isinstance(bench, dict):
        raise HistoryError("not a benchmark record")
    result = from_extra_info(bench.get("extra_info"))
    key = CaseKey.of(result)
    stats = bench.get("stats")
    if not isinstance(stats, dict):
        raise HistoryError("no 'stats' mapping")
    data = stats.get("data")
    return CaseResult(
        name=str(bench.get("name", key.label)),
        key=key,
        timing=Timing.from_stats(stats),
        data=tuple(float(x) for x in data) if isinstance(data, list) and data else None,
        result=result,
    )


def _joined_cases(cases: Sequence[CaseResult]) -> list[CaseResult]:
    """The corpus cases that a run holds in shards (``--shards``), each joined into one
    (``results.shards``) under the name of the corpus run whole; the shards stay."""
    return [
        CaseResult(
            name=whole.name,
            key=CaseKey.of(whole.result),
            timing=whole.timing,
            data=None,
            result=whole.result,
        )
        for whole in joined((case.name, case.result, case.timing) for case in cases)
    ]


def _run_number(path: Path) -> int | None:
    """``0002`` of ``0002_<commit>_<date>.json`` (None for a file not named so)."""
    prefix = path.name.split("_", 1)[0]
    return int(prefix) if prefix.isdigit() else None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _machine_id(path: Path, root: Path | None, machine_info: dict[str, Any]) -> str:
    """pytest-benchmark's machine id: the storage folder, or rebuilt from machine_info."""
    if root is not None:
        # as laid out first, then with links resolved (a Hugging Face cache snapshot's files
        # are links into its blobs: their folder is the machine's, not the blob's)
        for relative in (_relative(path.absolute(), root.absolute()), _relative(path, root, True)):
            if relative is not None and len(relative.parts) == 2:
                return relative.parts[0]
    version = ".".join(str(machine_info.get("python_version", "?")).split(".")[:2])
    cpu = machine_info.get("cpu")
    bits = cpu.get("bits") if isinstance(cpu, dict) else None
    return "-".join(
        [
            str(machine_info.get("system", "?")),
            str(machine_info.get("python_implementation", "?")),
            version,
            f"{bits}bit" if bits else "?bit",
        ]
    )


def _relative(path: Path, root: Path, resolve: bool = False) -> Path | None:
    try:
        return (path.resolve() if resolve else path).relative_to(
            root.resolve() if resolve else root
        )
    except ValueError:
        return None


def _when(value: Any, path: Path) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))
