"""Which results a report shows: per machine, the newest result of each case, its columns (with
95 % intervals), the verdict of each (device, model) over them, and each case's history with
what the regression rule said of every point.

``select`` makes the choice once per report (a ``Selection``: per machine its runs, the newest
result of each case and each case's judged history); every format (Markdown, HTML, the JSON
export, the plots) is handed the same selection and only formats it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from whisperbench import formatting
from whisperbench.history import CaseKey, CaseResult, History, Run
from whisperbench.models import MODELS
from whisperbench.regressions import Finding, Limits, Verdict, series_verdicts
from whisperbench.resources.energy import absence_lines
from whisperbench.results.metrics import REPORT, Metric, latency_metrics, metric, shown_in
from whisperbench.results.records import BATCH_SWEEP, LATENCY_KINDS, CorpusResult
from whisperbench.verdict import interval_notes, verdicts

PARAM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("device", "Device"),
    ("dtype", "dtype"),
    ("quantization", "Quantisation"),
    ("batch_size", "Batch"),
)
"""The parameters the summary shows, by ``Params`` field, with their headers."""


VERDICT_RULE = (
    "Per device and model size, over the newest result of each case: the fastest engine whose "
    "WER is not significantly worse than the most accurate engine's (paired test on the units "
    "of speech they all ran), and the engines significantly less accurate. Brackets are 95% "
    "intervals."
)


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def model_order(model: str) -> tuple[int, str]:
    """Sizes in the model map's order (tiny first), unknown ones after."""
    names = list(MODELS)
    base = model.removesuffix("-synthetic")
    return (names.index(base) if base in names else len(names), model)


def sort_key(key: CaseKey) -> tuple[Any, ...]:
    return (key.implementation, model_order(key.model), key.clip or "", key.kind, key.label)


Latest = Sequence[tuple[Run, CaseResult]]
"""The newest result of each case, with the run it is from (``latest_results``)."""


def latest_results(runs: Sequence[Run]) -> list[tuple[Run, CaseResult]]:
    """The newest result of each case among ``runs`` (oldest first)."""
    latest: dict[CaseKey, tuple[Run, CaseResult]] = {}
    for run in runs:
        for case in run.cases:
            latest[case.key] = (run, case)
    return [latest[key] for key in sorted(latest, key=sort_key)]


def cell(metric: Metric, case: CaseResult) -> str:
    """A metric's value with its 95 % interval, where the case's evidence gives one."""
    return formatting.value_and_interval(metric, case.value(metric), metric.interval(case.result))


def summary_metrics() -> tuple[Metric, ...]:
    """The summary's columns: the metrics of transcriptions, loads and corpora (the latency
    track's have a table of their own, ``latency_rows``)."""
    return tuple(m for m in shown_in(REPORT) if m not in latency_metrics())


def summary_header() -> list[str]:
    return [
        "Implementation",
        "Model",
        "Clip",
        *(m.label for m in summary_metrics()),
        *(header for _, header in PARAM_COLUMNS),
        "Run",
    ]


def numeric_columns() -> set[str]:
    """The headers whose cells are numbers (right-aligned in HTML)."""
    return (
        {m.label for m in summary_metrics()}
        | {m.label for m in report_latency_metrics()}
        | {"Batch", "Chunk s", *CORPUS_NUMERIC}
    )


CORPUS_PARAM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("batching", "Batching"),
    *PARAM_COLUMNS,
)
"""The parameters the corpus table shows: what really ran (``batching``: across utterances or
one by one), then the summary's."""
CORPUS_NUMERIC = ("Utterances", "Audio s", "WER p50 %", "WER p90 %", "Skipped")
WORST_SHOWN = 5
"""Worst utterances named in a corpus row (all ten are saved)."""


def corpus_metrics() -> tuple[Metric, ...]:
    return tuple(m for m in summary_metrics() if "corpus" in m.kinds)


def corpus_header() -> list[str]:
    return [
        "Implementation",
        "Model",
        "Corpus",
        "Utterances",
        "Audio s",
        *(m.label for m in corpus_metrics()),
        "WER p50 %",
        "WER p90 %",
        f"Worst utterances (WER %, {WORST_SHOWN} of 10)",
        "Skipped",
        *(header for _, header in CORPUS_PARAM_COLUMNS),
        "Run",
    ]


def corpus_rows(latest: Latest) -> list[list[str]]:
    """A row per corpus case: the newest result of each."""
    wer = metric("wer")
    rows = []
    for run, case in latest:
        result = case.result
        if not isinstance(result, CorpusResult):
            continue
        quantiles = result.wer_quantiles
        worst = ", ".join(
            f"{utterance} ({formatting.value(wer, result.worst_wer.get(utterance))})"
            for utterance in result.worst_utterances[:WORST_SHOWN]
        )
        rows.append(
            [
                case.key.implementation,
                case.key.model,
                _corpus_cell(case.key.clip or result.dataset, result),
                formatting.param(result.utterances),
                formatting.number(result.audio_s, ".1f"),
                *(cell(m, case) for m in corpus_metrics()),
                formatting.value(wer, quantiles.get("p50")),
                formatting.value(wer, quantiles.get("p90")),
                worst or formatting.MISSING,
                formatting.param(result.skipped),
                *(formatting.param(case.params.get(name)) for name, _ in CORPUS_PARAM_COLUMNS),
                run.run_id + (" (timed once)" if result.timed_once else ""),
            ]
        )
    return rows


def _corpus_cell(subject: str, result: CorpusResult) -> str:
    """The corpus as the table names it, with how its shards ran (``--shards``): a shard's
    worker and device, or how many shards a joined case was joined from."""
    if result.shard is not None:
        where = ", ".join(str(part) for part in (result.shard_worker, result.shard_device) if part)
        return f"{subject} ({where or 'in turn'})"
    if result.shards is not None:
        return f"{subject} ({result.shards} shards joined)"
    return subject


def summary_rows(latest: Latest) -> list[list[str]]:
    """Rows of the per-machine table: a row per transcription case, plus a load-only row for an
    implementation x model whose transcriptions are missing (corpus cases have their own
    table, ``corpus_rows``)."""
    transcribed = {(c.key.implementation, c.key.model) for _, c in latest if c.key.kind != "load"}
    rows = []
    for run, case in latest:
        key = case.key
        if key.kind in ("corpus", BATCH_SWEEP) or key.kind in LATENCY_KINDS:
            continue  # tables (corpus, latency) or a plot (the batch sweep) of their own
        if key.kind == "load" and (key.implementation, key.model) in transcribed:
            continue
        rows.append(
            [
                key.implementation,
                key.model,
                key.clip if key.kind == "transcribe" and key.clip else "(load only)",
                *(cell(m, case) for m in summary_metrics()),
                *(formatting.param(case.params.get(name)) for name, _ in PARAM_COLUMNS),
                run_name(run),
            ]
        )
    return rows


def report_latency_metrics() -> tuple[Metric, ...]:
    return tuple(m for m in latency_metrics() if REPORT in m.shown)


LATENCY_PARAM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("stream_chunk_s", "Chunk s"),
    ("first_words_at_end", "First words at end"),
    *PARAM_COLUMNS,
)
"""The parameters the latency table shows: the stream's chunk, whether the engine's first words
come only with the whole transcript, then the summary's."""


def latency_header() -> list[str]:
    return [
        "Implementation",
        "Model",
        "Clip",
        *(m.label for m in report_latency_metrics()),
        *(header for _, header in LATENCY_PARAM_COLUMNS),
        "Run",
    ]


def latency_cases(latest: Latest) -> list[list[tuple[Run, CaseResult]]]:
    """The latency track's newest results, grouped by engine, model, clip and configuration
    (the first-words case beside the stream case of the same clip)."""
    groups: dict[tuple[str, ...], list[tuple[Run, CaseResult]]] = {}
    for run, case in latest:
        key = case.key
        if key.kind in LATENCY_KINDS:
            group = (key.implementation, key.model, key.clip or "", key.device, key.dtype)
            groups.setdefault((*group, key.quantization), []).append((run, case))
    return list(groups.values())


def latency_rows(latest: Latest) -> list[list[str]]:
    """A row per engine, model and clip of the latency track: first words, emission delays,
    stream RTF, kept up, streamed and offline WER (each from its own case)."""
    rows = []
    for group in latency_cases(latest):
        key = group[0][1].key

        def param(name: str, group: list[tuple[Run, CaseResult]] = group) -> str:
            found = [c.params.get(name) for _, c in group if c.params.get(name) is not None]
            return formatting.param(found[0] if found else None)

        def cell_of(m: Metric, group: list[tuple[Run, CaseResult]] = group) -> str:
            owner = next((c for _, c in group if c.key.kind in m.kinds), None)
            return formatting.MISSING if owner is None else cell(m, owner)

        rows.append(
            [
                key.implementation,
                key.model,
                key.clip or "",
                *(cell_of(m) for m in report_latency_metrics()),
                *(param(name) for name, _ in LATENCY_PARAM_COLUMNS),
                ", ".join(sorted({run_name(run) for run, _ in group})),
            ]
        )
    return rows


def verdict_lines(latest: Latest) -> list[str]:
    """The verdict of each (device, model) over the newest result of each case."""
    return [v.line() for v in verdicts(case for _, case in latest)]


def missing_intervals(latest: Latest) -> list[str]:
    """Why some of the newest results' figures have no interval (a line per reason)."""
    return interval_notes(case for _, case in latest)


def energy_notes(latest: Latest) -> list[str]:
    """Why energy per audio hour is absent (a line per reason, with how many cases), and each
    case whose timed span was too short for the meter: an absent figure is never a zero."""
    absent = absence_lines(case.result.energy_absent_reason for _, case in latest)
    short = [
        f"Energy of {case.key.label}: {case.result.energy_note}"
        for _, case in latest
        if case.result.energy_note
    ]
    return [line[0].upper() + line[1:] for line in absent] + short


def run_name(run: Run) -> str:
    """The run's number, marked when the session was cut short."""
    return run.run_id if run.complete else f"{run.run_id} (incomplete)"


def incomplete_runs(runs: Sequence[Run]) -> list[str]:
    """A line for each run that was cut short: its number and what it measured."""
    return [
        f"run {run.run_id}: {run.record.describe()}"
        for run in runs
        if not run.complete and run.record is not None
    ]


def machine_title(runs: Sequence[Run]) -> str:
    return f"{runs[-1].machine}: {runs[-1].hardware}"


@dataclass(frozen=True)
class CaseHistory:
    key: CaseKey
    points: tuple[tuple[Run, CaseResult], ...]
    verdicts: tuple[Verdict, ...]

    @property
    def regressions(self) -> list[tuple[Run, Finding]]:
        return [
            (run, finding)
            for (run, _), verdict in zip(self.points, self.verdicts, strict=True)
            for finding in verdict.findings
        ]

    @property
    def config_changes(self) -> list[tuple[Run, tuple[str, ...]]]:
        return [
            (run, verdict.config_change)
            for (run, _), verdict in zip(self.points, self.verdicts, strict=True)
            if verdict.config_change
        ]


def case_histories(runs: Sequence[Run], limits: Limits) -> list[CaseHistory]:
    keys = sorted({c.key for run in runs for c in run.cases}, key=sort_key)
    out = []
    for key in keys:
        points = tuple((run, case) for run in runs if (case := run.case(key)) is not None)
        verdicts = series_verdicts([case for _, case in points], limits)
        if key.kind not in limits.kinds:  # not judged, but a change of configuration is shown
            verdicts = [Verdict((), verdict.config_change) for verdict in verdicts]
        out.append(CaseHistory(key, points, tuple(verdicts)))
    return out


@dataclass(frozen=True)
class MachineSelection:
    """What a report shows of one machine, chosen once."""

    runs: tuple[Run, ...]
    """The machine's runs, oldest first."""
    latest: tuple[tuple[Run, CaseResult], ...]
    """The newest result of each case (``latest_results``)."""
    histories: tuple[CaseHistory, ...]
    """Each case's history, judged by the regression rule (``case_histories``)."""

    @property
    def machine(self) -> str:
        return self.runs[-1].machine

    @property
    def newest(self) -> Run:
        return self.runs[-1]

    def newest_findings(self) -> list[Finding]:
        """The regressions of the newest run."""
        return [
            finding
            for item in self.histories
            if item.points and item.points[-1][0] is self.newest
            for finding in item.verdicts[-1].findings
        ]

    def newest_config_changes(self) -> list[tuple[CaseKey, tuple[str, ...]]]:
        """The cases whose configuration changed in the newest run, and how."""
        return [
            (item.key, item.verdicts[-1].config_change)
            for item in self.histories
            if item.points[-1][0] is self.newest and item.verdicts[-1].config_change
        ]


def machine_selection(runs: Sequence[Run], limits: Limits) -> MachineSelection:
    return MachineSelection(
        tuple(runs), tuple(latest_results(runs)), tuple(case_histories(runs, limits))
    )


@dataclass(frozen=True)
class Selection:
    """What a report shows, chosen once and handed to every format."""

    history: History
    limits: Limits
    machines: tuple[MachineSelection, ...]


def select(history: History, limits: Limits | None = None) -> Selection:
    """The report's selection: each machine's runs, newest results and judged histories."""
    limits = limits or Limits()
    return Selection(
        history,
        limits,
        tuple(machine_selection(history.for_machine(m), limits) for m in history.machines),
    )


def as_selection(given: History | Selection, limits: Limits | None = None) -> Selection:
    """``given`` itself, or the selection of a history (for a caller with a history alone)."""
    return given if isinstance(given, Selection) else select(given, limits)
