"""One measured load, transcription or corpus -> a typed record (``results``) in ``extra_info``:
the timed rounds through pytest-benchmark's fixture, and one builder for the fields every record
shares (engine, model, weights, memory, parameters)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from whisperbench import devices
from whisperbench.audio import (
    AudioClip,
)
from whisperbench.corpus_shards import Shard, shard_suffix
from whisperbench.datasets import (
    Corpus,
)
from whisperbench.formatting import duration
from whisperbench.implementations import (
    TranscriptionResult,
    transcribe_one_by_one,
)
from whisperbench.models import get_model
from whisperbench.resources.sampler import DEFAULT_INTERVAL_S
from whisperbench.results.codec import to_extra_info
from whisperbench.results.metrics import Transcribed, computed_values, corpus_values
from whisperbench.results.records import (
    ACROSS_UTTERANCES,
    ONE_BY_ONE,
    CorpusResult,
    LoadResult,
    Measured,
    Params,
    Timing,
    TranscribeResult,
    WordErrorCounts,
    with_values,
)
from whisperbench.scoring import words as scoring
from whisperbench.suite.cases import CORPUS_BUDGET_S, LoadCase, Notifier, ProgressDisplay, watched
from whisperbench.suite.inputs import SKIPPED_SHOWN
from whisperbench.suite.loaded import LoadedModel, MiB
from whisperbench.suite.resource_watch import ResourceWatch
from whisperbench.suite.workers import Placement

if TYPE_CHECKING:
    from whisperbench.suite.pool import ModelPool

WARMUP_UTTERANCES = 8
"""A corpus case's first, untimed call runs on its first utterances: at least this many, and
at least two batches, so that the timed calls meet shapes already seen."""
TRANSCRIPT_PREVIEW_CHARS = 200


class BenchmarkFixture(Protocol):
    """The part of pytest-benchmark's ``benchmark`` fixture that the suite uses."""

    extra_info: dict[str, Any]
    stats: Any

    def pedantic(
        self, target: Callable[..., Any], *, rounds: int, warmup_rounds: int, iterations: int
    ) -> Any: ...


def timing_of(benchmark: BenchmarkFixture) -> Timing | None:
    """The statistics of the timed rounds, or None when timing is disabled."""
    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    if stats is None:
        return None
    return Timing(
        median_s=float(stats.median),
        min_s=float(stats.min),
        max_s=float(stats.max),
        mean_s=float(stats.mean),
        stddev_s=float(stats.stddev),
        iqr_s=float(stats.iqr),
        rounds=int(stats.rounds),
    )


def round_times(benchmark: BenchmarkFixture) -> tuple[float, ...]:
    """The seconds of each timed round (empty when timing is disabled)."""
    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    return tuple(float(x) for x in getattr(stats, "data", None) or ())


def measure_load(benchmark: BenchmarkFixture, pool: ModelPool, case: LoadCase) -> Measured:
    """Time one load of the model (it stays loaded for the transcription cases)."""
    records: list[LoadedModel] = []
    pool.prepare(case.implementation, case.size)  # cache checks and imports stay out of the timing
    benchmark.pedantic(
        lambda: records.append(pool.load(case.implementation, case.size, prepared=True)),
        rounds=1,
        warmup_rounds=0,
        iterations=1,
    )
    loaded = records[-1]
    result = LoadResult(
        **shared_fields(
            loaded,
            implementation=case.implementation,
            peak_rss_mb=loaded.peak_rss_after_load_mb,
            available_memory_mb=loaded.available_before_load_mb,
            memory=loaded.device_memory,
        ),
        verify_timeout_s=get_model(case.size).verify_timeout_s,
    )
    benchmark.extra_info.update(to_extra_info(result))
    return Measured(result, timing_of(benchmark) or Timing.of_rounds([loaded.load_s]))


def shared_fields(
    loaded: LoadedModel,
    *,
    implementation: str | None = None,
    peak_rss_mb: float | None = None,
    available_memory_mb: float | None = None,
    memory: devices.DeviceMemory | None = None,
    params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The fields every record shares (``CaseRecord``), for a case run on ``loaded``: the
    engine (``implementation``: the case's name for it, by default the engine's), the model as
    IDs show it, real or synthetic weights, the load time, the process's peak RSS so far (by
    default now), the memory available when the case started, its device memory
    (``device_memory_fields``) and the parameters that really ran (by default the engine's
    ``get_params()``)."""
    impl = loaded.implementation
    return {
        "implementation": implementation or impl.name,
        "model": loaded.label,
        "weights": "synthetic" if impl.options.synthetic_tokens else "real",
        "load_s": loaded.load_s,
        "peak_rss_mb": scoring.process_peak_rss_bytes() / MiB
        if peak_rss_mb is None
        else peak_rss_mb,
        "available_memory_mb": available_memory_mb,
        **device_memory_fields(memory),
        "params": Params.from_mapping(impl.get_params() if params is None else params),
    }


def device_memory_fields(memory: devices.DeviceMemory | None) -> dict[str, Any]:
    """A case's device memory as its record's fields: ``peak_device_mb`` holds only a true
    peak (CUDA's); on MPS, which keeps none, ``device_live_mb`` holds the live tensors at the
    case's end; both with the baseline allocated at its start and the sentence naming the
    figure (``devices.DEVICE_MEMORY_MEASURES``)."""
    if memory is None:
        return {}
    return {
        "peak_device_mb": memory.bytes / MiB if memory.is_peak else None,
        "device_live_mb": None if memory.is_peak else memory.bytes / MiB,
        "device_baseline_mb": memory.baseline_bytes / MiB,
        "device_memory_measure": memory.measure,
    }


def measure_transcription(
    benchmark: BenchmarkFixture,
    loaded: LoadedModel,
    clip: AudioClip,
    *,
    rounds: int,
    warmup_rounds: int,
    progress: ProgressDisplay | None = None,
    resource_interval_s: float = DEFAULT_INTERVAL_S,
    notify: Notifier | None = None,
) -> Measured:
    """Cold run (the first warm-up round, recorded apart), further warm-ups on the same input,
    then ``rounds`` timed runs; stores the typed record in ``extra_info`` and returns it.
    ``progress`` shows how far each call is (windows of a long clip). Resources are sampled
    every ``resource_interval_s`` through the case and energy metered over the timed rounds
    (``ResourceWatch``); ``notify`` is told when that span is too short for the meter."""
    impl = loaded.implementation
    what = f"{impl.name} {loaded.label} on {clip.name}"
    labels = _call_labels(f"{impl.name}-{loaded.label}-{clip.name}", warmup_rounds, rounds)
    available = devices.available_memory_bytes()
    meter = impl.memory_meter()  # started here, finished at the case's end (it may sample)
    memory_baseline = meter.start()
    watch = ResourceWatch(impl.device, resource_interval_s)
    with devices.explain_out_of_memory(what, impl.device, impl.batch_size), watch:
        start = time.perf_counter()
        # transcribe() synchronises the device
        outcome = watched(impl, progress, next(labels), lambda: impl.transcribe(clip.samples))
        cold_s = time.perf_counter() - start
        outcomes = [outcome]

        def timed() -> None:
            label = next(labels)
            outcomes.append(watched(impl, progress, label, lambda: impl.transcribe(clip.samples)))

        further = max(0, warmup_rounds - 1)
        benchmark.pedantic(
            watch.timed_rounds(timed, skipped=further, rounds=rounds),
            rounds=rounds,
            warmup_rounds=further,
            iterations=1,
        )
    timing = timing_of(benchmark) or Timing.of_rounds([cold_s])
    final = outcomes[-1]
    synthetic = bool(impl.options.synthetic_tokens)
    reference = None if synthetic else clip.reference
    errors = None if reference is None else scoring.word_errors(reference, final.text)
    seen = Transcribed(
        text=final.text,
        reference=reference,
        language=final.language,
        audio_s=clip.duration_s,
        median_s=timing.median_s,
        cold_s=cold_s,
        synthetic=synthetic,
        id=clip.name,
    )
    result = TranscribeResult(
        **shared_fields(
            loaded,
            available_memory_mb=available / MiB,
            memory=meter.finish(memory_baseline),
        ),
        **resource_fields(watch, clip.duration_s * rounds, what, notify),
        clip=clip.name,
        audio_path=str(clip.path),
        audio_s=clip.duration_s,
        cold_s=cold_s,
        reference=None if errors is None else clip.path.with_suffix(".txt").name,
        word_errors=None
        if errors is None
        else WordErrorCounts(
            errors.substitutions, errors.deletions, errors.insertions, errors.reference_words
        ),
        unit_errors={} if errors is None else {clip.name: errors.units},
        round_s=round_times(benchmark),
        language=final.language,
        transcript=final.text[:TRANSCRIPT_PREVIEW_CHARS],
        phases_s=final.timings,
    )
    result = with_values(result, computed_values(seen))  # RTFx, WER, ... (``results.metrics``)
    benchmark.extra_info.update(to_extra_info(result))
    return Measured(result, timing)


def resource_fields(
    watch: ResourceWatch, timed_audio_s: float, what: str, notify: Notifier | None
) -> dict[str, Any]:
    """A case's energy, NVML memory and timeline fields (``ResourceWatch.fields``), with its
    energy note told to ``notify``."""
    found = watch.fields(timed_audio_s)
    if notify is not None and found.get("energy_note"):
        notify(f"whisperbench: {what}: energy: {found['energy_note']}")
    return found


def _call_labels(case: str, warmup_rounds: int, rounds: int) -> Iterator[str]:
    """What each call of a case is, for its progress line: the cold run, further warm-ups,
    then the timed rounds."""
    yield f"cold run: {case}"
    for number in range(2, warmup_rounds + 1):
        yield f"warm-up {number}: {case}"
    for number in range(1, rounds + 1):
        yield f"round {number}/{rounds}: {case}"
    while True:
        yield case


def warmup_count(utterances: int, batch_size: int | None) -> int:
    """How many of a corpus's first utterances its untimed first call transcribes."""
    return min(utterances, max(WARMUP_UTTERANCES, 2 * (batch_size or 1)))


@dataclass(frozen=True)
class CorpusRounds:
    """How a corpus case is timed, decided after its warm-up call."""

    warmup_rounds: int
    rounds: int
    estimate_s: float
    """One pass over the whole corpus, estimated from the warm-up call's speed."""
    timed_once: bool


def corpus_rounds(
    warmup_audio_s: float,
    warmup_s: float,
    corpus_audio_s: float,
    *,
    rounds: int,
    warmup_rounds: int,
    budget_s: float,
) -> CorpusRounds:
    """The rule for a corpus case: after the untimed first call on its first utterances, the
    further warm-ups (``warmup_rounds - 1``) and the ``rounds`` timed rounds run over the whole
    corpus when they are estimated (from that call's speed: it includes first-call costs, so
    the estimate errs long) to take at most ``budget_s``; otherwise it is timed once, with no
    further warm-up."""
    estimate = warmup_s * corpus_audio_s / warmup_audio_s if warmup_audio_s > 0 else 0.0
    further = max(0, warmup_rounds - 1)
    if estimate * (further + rounds) <= budget_s:
        return CorpusRounds(further, rounds, estimate, False)
    return CorpusRounds(0, 1, estimate, True)


def measure_corpus(
    benchmark: BenchmarkFixture,
    loaded: LoadedModel,
    corpus: Corpus,
    *,
    rounds: int,
    warmup_rounds: int,
    batching: str = ACROSS_UTTERANCES,
    budget_s: float = CORPUS_BUDGET_S,
    notify: Notifier | None = None,
    progress: ProgressDisplay | None = None,
    shard: Shard | None = None,
    placement: Placement | None = None,
    resource_interval_s: float = DEFAULT_INTERVAL_S,
) -> Measured:
    """A corpus case: an untimed first call on the first utterances, then the whole corpus per
    timed round (``corpus_rounds`` decides how many), through the engine's ``transcribe_batch``
    (``ACROSS_UTTERANCES``) or one utterance at a time (``ONE_BY_ONE``); corpus WER, RTFx and
    the rest into a ``CorpusResult`` in ``extra_info``. ``corpus`` is ``shard``'s part of it
    for a sharded case, which ran where ``placement`` says. Resources are watched as for a
    clip (``measure_transcription``)."""
    impl = loaded.implementation
    audios = [utterance.samples for utterance in corpus.utterances]
    across = batching == ACROSS_UTTERANCES

    def run(part: list[np.ndarray]) -> list[TranscriptionResult]:
        return impl.transcribe_batch(part) if across else transcribe_one_by_one(impl, part)

    subject = (corpus.name if across else f"{corpus.name}-one-by-one") + shard_suffix(shard)
    case = f"{impl.name}-{loaded.label}-{subject}"
    what = f"{impl.name} {loaded.label} on corpus {corpus.name}"
    warm = warmup_count(len(audios), impl.batch_size)
    available = devices.available_memory_bytes()
    meter = impl.memory_meter()  # started here, finished at the case's end (it may sample)
    memory_baseline = meter.start()
    watch = ResourceWatch(impl.device, resource_interval_s)
    with devices.explain_out_of_memory(what, impl.device, impl.batch_size), watch:
        start = time.perf_counter()
        watched(impl, progress, f"warm-up ({warm} utterances): {case}", lambda: run(audios[:warm]))
        warmup_s = time.perf_counter() - start
        warmup_audio_s = sum(u.duration_s for u in corpus.utterances[:warm])
        plan = corpus_rounds(
            warmup_audio_s,
            warmup_s,
            corpus.audio_s,
            rounds=rounds,
            warmup_rounds=warmup_rounds,
            budget_s=budget_s,
        )
        if plan.timed_once and notify is not None:
            notify(
                f"whisperbench: {case}: timed once: a pass over its {duration(corpus.audio_s)} "
                f"of audio is estimated at {duration(plan.estimate_s)} (from the warm-up on its "
                f"first {warm} utterances), over the {duration(budget_s)} budget for "
                f"{max(0, warmup_rounds - 1) + rounds} passes (--corpus-budget)"
            )
        labels = _call_labels(case, plan.warmup_rounds + 1, plan.rounds)
        next(labels)  # the warm-up call above was the cold one
        outcomes: list[list[TranscriptionResult]] = []
        seconds: list[float] = []

        def timed() -> None:
            label = next(labels)
            began = time.perf_counter()
            outcomes.append(watched(impl, progress, label, lambda: run(audios)))
            seconds.append(time.perf_counter() - began)

        benchmark.pedantic(
            watch.timed_rounds(timed, skipped=plan.warmup_rounds, rounds=plan.rounds),
            rounds=plan.rounds,
            warmup_rounds=plan.warmup_rounds,
            iterations=1,
        )
    timing = timing_of(benchmark) or Timing.of_rounds(seconds[plan.warmup_rounds :] or seconds)
    final = outcomes[-1]
    if len(final) != len(audios):
        raise RuntimeError(
            f"{impl.name}.transcribe_batch returned {len(final)} results for {len(audios)} "
            "utterances; it must return one per utterance, in order"
        )
    memory = meter.finish(memory_baseline)
    round_s = round_times(benchmark) or tuple(seconds[plan.warmup_rounds :])
    resources = resource_fields(watch, corpus.audio_s * plan.rounds, what, notify)
    return _corpus_result(
        benchmark,
        loaded,
        corpus,
        final,
        timing,
        round_s,
        plan,
        across,
        warm,
        warmup_s,
        memory,
        available,
        shard,
        placement or Placement(),
        resources,
    )


def _corpus_result(
    benchmark: BenchmarkFixture,
    loaded: LoadedModel,
    corpus: Corpus,
    final: list[TranscriptionResult],
    timing: Timing,
    round_s: tuple[float, ...],
    plan: CorpusRounds,
    across: bool,
    warm: int,
    warmup_s: float,
    memory: devices.DeviceMemory | None,
    available_bytes: int,
    shard: Shard | None,
    placement: Placement,
    resources: dict[str, Any],
) -> Measured:
    impl = loaded.implementation
    synthetic = bool(impl.options.synthetic_tokens)
    references = [None if synthetic else u.reference for u in corpus.utterances]
    errors = scoring.corpus_word_errors(
        (u.id, reference, outcome.text)
        for u, reference, outcome in zip(corpus.utterances, references, final, strict=True)
    )
    worst = errors.worst()
    ran = ACROSS_UTTERANCES if across and impl.batches_utterances else ONE_BY_ONE
    languages = sorted({str(outcome.language) for outcome in final if outcome.language})
    seen = [
        Transcribed(
            text=outcome.text,
            reference=reference,
            language=outcome.language,
            audio_s=u.duration_s,
            median_s=timing.median_s,
            cold_s=warmup_s,
            synthetic=synthetic,
            id=u.id,
        )
        for u, reference, outcome in zip(corpus.utterances, references, final, strict=True)
    ]
    result = CorpusResult(
        **shared_fields(
            loaded,
            available_memory_mb=available_bytes / MiB,
            memory=memory,
            params={**impl.get_params(), "batching": ran},
        ),
        **resources,
        dataset=corpus.name,
        dataset_source=corpus.spec.given,
        dataset_format=corpus.spec.format,
        batching=ACROSS_UTTERANCES if across else ONE_BY_ONE,
        utterances=len(corpus.utterances),
        referenced=len(errors.utterance_wer),
        skipped=len(corpus.skipped),
        skipped_reasons=tuple(str(s) for s in corpus.skipped[:SKIPPED_SHOWN]),
        audio_s=corpus.audio_s,
        word_errors=None
        if errors.wer is None
        else WordErrorCounts(
            errors.substitutions, errors.deletions, errors.insertions, errors.reference_words
        ),
        unit_errors=errors.utterance_units,
        round_s=round_s,
        wer_quantiles=errors.quantiles(),
        worst_utterances=tuple(utterance_id for utterance_id, _ in worst),
        worst_wer=dict(worst),
        language=",".join(languages) or None,
        warmup_utterances=warm,
        warmup_s=warmup_s,
        timed_once=plan.timed_once,
        shard=None if shard is None else shard.index,
        shards=None if shard is None else shard.count,
        shard_worker=None if shard is None else placement.worker,
        shard_device=None if shard is None else placement.device,
    )
    result = with_values(result, corpus_values(seen))  # corpus WER, RTFx, ... (``results.metrics``)
    benchmark.extra_info.update(to_extra_info(result))
    return Measured(result, timing)
