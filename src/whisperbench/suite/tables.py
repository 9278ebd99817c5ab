"""The results table printed at the end of a benchmark session: a row per case, the parameters
that ran and every metric ``results.METRICS`` shows in the session, with its 95 % interval where
its evidence gives one; then a warning line per case whose transcript repeats itself."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from whisperbench import formatting
from whisperbench.implementations.base import ImplementationOptions
from whisperbench.names import Name
from whisperbench.results.metrics import SESSION, Metric, metric, shown_in
from whisperbench.results.records import (
    BATCH_SWEEP,
    FIRST_WORDS,
    STREAM,
    BatchSweepResult,
    CorpusResult,
    Measured,
    TranscribeResult,
)

PARAM_COLUMNS: tuple[tuple[str, str], ...] = (
    ("device", "Device"),
    ("dtype", "dtype"),
    ("batch_size", "Batch"),
)


def case_label(name: str) -> str:
    """``test_transcribe[transformers-tiny.en-short]`` -> ``transformers-tiny.en-short``."""
    return name.split("[", 1)[-1].rstrip("]")


TABLES: tuple[tuple[tuple[str, ...], str], ...] = (
    (("load", "transcribe", "corpus"), "whisperbench"),
    ((FIRST_WORDS,), "whisperbench latency: first words"),
    ((STREAM,), "whisperbench latency: live stream"),
    ((BATCH_SWEEP,), "whisperbench batch sweep"),
)
"""The session's results tables: the kinds each shows, and its title (the latency track's
cases in tables of their own, each with the columns its kind carries)."""


def results_tables(rows: Sequence[tuple[str, Measured]]) -> list[Table]:
    """A results table per group of kinds that ran (``TABLES``)."""
    tables = []
    for kinds, title in TABLES:
        mine = [(name, measured) for name, measured in rows if measured.result.kind in kinds]
        if mine:
            tables.append(results_table(mine, title))
    return tables


def results_table(rows: Sequence[tuple[str, Measured]], title: str = "whisperbench") -> Table:
    """One row per case: what ran, then speed (median, RTFx, cold), accuracy (WER, repeats),
    load time and memory."""
    metrics = [m for m in shown_in(SESSION) if carried(m, rows)]
    table = Table(title=title)
    table.add_column("Case", justify="left")  # a long name is cut (Name), never a number
    for _, header in PARAM_COLUMNS:
        table.add_column(header, justify="right" if header == "Batch" else "left", no_wrap=True)
    for m in metrics:
        table.add_column(m.label, justify="right", no_wrap=True)
    for name, measured in rows:
        params = measured.result.params
        table.add_row(
            Name(case_label(name)),
            *(formatting.param(params.get(field)) for field, _ in PARAM_COLUMNS),
            *(
                formatting.value_and_interval(m, measured.value(m), m.interval(measured.result))
                for m in metrics
            ),
        )
    return table


def carried(metric: Metric, rows: Sequence[tuple[str, Measured]]) -> bool:
    """Whether some case of ``rows`` is of a kind that carries ``metric``: the latency track's
    columns only where it ran, the throughput columns only beside throughput cases, a figure
    some machines cannot measure (``where_present``: energy) only where a case has it."""
    if metric.where_present and all(measured.value(metric) is None for _, measured in rows):
        return False
    return any(measured.result.kind in metric.kinds for _, measured in rows)


def repetition_warnings(rows: Sequence[tuple[str, Measured]]) -> list[str]:
    """A line per case whose transcript holds repeated word 8-grams (that its reference, if
    any, does not): a sign of hallucinated or duplicated text, with or without a reference."""
    repeats = metric("repeated_ngrams")
    lines = []
    for name, measured in rows:
        count = measured.value(repeats)
        if count:
            result = measured.result
            referenced = (isinstance(result, TranscribeResult) and result.reference) or (
                isinstance(result, CorpusResult) and result.referenced
            )
            against = "not in the reference" if referenced else "no reference to check against"
            lines.append(
                f"whisperbench: warning: {case_label(name)}: the transcript repeats "
                f"{count:.0f} word 8-gram(s) ({against}): repeated or hallucinated text?"
            )
    return lines


def option_warnings(
    rows: Sequence[tuple[str, Measured]], asked: ImplementationOptions
) -> list[str]:
    """A line per engine that did not run an option as it was given: what it says of it (a
    ``*_note`` of its parameters: ``--vad is ignored by whisper.cpp: ...``), or else what ran
    instead of what was given (``--dtype float16 was given, but fake ran float32``). Options
    left at their defaults are the engine's to choose. Once each."""
    lines = []
    for _, measured in rows:
        params = measured.result.params
        engine = measured.result.implementation
        noted = set()
        for key, value in params.to_mapping().items():
            if key.endswith("_note") and isinstance(value, str) and value.strip():
                noted.add(key.removesuffix("_note"))
                lines.append(f"whisperbench: warning: {engine}: {value}")
        for option, given, default, ran in (
            ("dtype", asked.dtype, None, params.dtype),
            ("beam_size", asked.beam_size, 1, params.beam_size),
            ("vad", asked.vad, False, params.vad),
            ("quantization", asked.quantization, "none", params.quantization),
        ):
            if option in noted or given in (None, default) or ran is None:
                continue
            if not _plain(ran).startswith(_plain(given)):  # int8 ran as int8_float32: as given
                flag = "--" + option.replace("_", "-")
                what = (
                    f"{flag} was given, but {engine} ran without it"
                    if isinstance(given, bool)
                    else f"{flag} {given} was given, but {engine} ran {ran}"
                )
                lines.append(f"whisperbench: warning: {what}")
    return list(dict.fromkeys(lines))


def _plain(value: object) -> str:
    """``torch.float16`` and ``float16`` alike."""
    return str(value).lower().removeprefix("torch.")


WORST_SHOWN = 5
"""Worst utterances named in a corpus case's line (all ten are saved)."""


def corpus_lines(rows: Sequence[tuple[str, Measured]]) -> list[str]:
    """A line per corpus case: what it ran on and how, its WER spread over the utterances and
    its worst utterances, what was skipped, and whether it was timed once."""
    wer = metric("wer")
    lines = []
    for name, measured in rows:
        result = measured.result
        if not isinstance(result, CorpusResult):
            continue
        parts = [
            f"{result.utterances} utterances, {formatting.duration(result.audio_s or 0.0)} "
            f"of audio, {result.params.get('batching') or result.batching}"
        ]
        if result.wer is not None:
            spread = ", ".join(
                f"{key} {formatting.value_with_unit(wer, value)}"
                for key, value in result.wer_quantiles.items()
            )
            parts.append(
                f"WER {formatting.value_with_unit(wer, result.wer)} over {result.referenced} "
                f"with a reference (utterances: {spread})"
            )
            worst = [
                f"{utterance} {formatting.value_with_unit(wer, result.worst_wer.get(utterance))}"
                for utterance in result.worst_utterances[:WORST_SHOWN]
            ]
            parts.append(f"worst: {', '.join(worst)}")
        parts.append(f"{result.skipped or 0} skipped")
        if result.timed_once:
            parts.append("timed once (--corpus-budget)")
        lines.append(f"whisperbench: corpus {case_label(name)}: {'; '.join(parts)}")
    return lines


def sweep_lines(rows: Sequence[tuple[str, Measured]]) -> list[str]:
    """A line per batch-sweep case that ran out of memory: the batch size where its sweep
    ended, and the allocation failure (its row in the table has no figures)."""
    return [
        f"whisperbench: batch sweep {case_label(name)}: out of memory at batch "
        f"{result.sweep_batch}, the end of its sweep: {result.out_of_memory}"
        for name, measured in rows
        if isinstance(result := measured.result, BatchSweepResult) and result.out_of_memory
    ]
