"""The latency track's cases measured into typed records (``results``) in ``extra_info``: the
first-words case (``engine.first_text`` timed through pytest-benchmark's rounds) and the stream
case (one simulated live stream, ``streaming.run_stream_case``), with the fields every record
shares from ``measure.shared_fields``."""

from __future__ import annotations

import math

from whisperbench import devices
from whisperbench.audio import AudioClip
from whisperbench.implementations import FirstText
from whisperbench.results.codec import to_extra_info
from whisperbench.results.records import (
    FirstWordsResult,
    Measured,
    StreamResult,
    Timing,
    with_values,
)
from whisperbench.streaming.alignment import ReferenceWord
from whisperbench.streaming.case import (
    StreamingUnsupportedError,
    StreamOutcome,
    first_words_of,
    run_stream_case,
)
from whisperbench.streaming.policy import PolicySettings
from whisperbench.suite.cases import ProgressDisplay, Skip, watched
from whisperbench.suite.loaded import LoadedModel, MiB
from whisperbench.suite.measure import (
    TRANSCRIPT_PREVIEW_CHARS,
    BenchmarkFixture,
    round_times,
    shared_fields,
    timing_of,
)


def finite(value: float) -> float | None:
    """A figure as saved: None for NaN (a stream that committed no matched word has no delay)."""
    return None if math.isnan(value) else value


def measure_first_words(
    benchmark: BenchmarkFixture,
    loaded: LoadedModel,
    clip: AudioClip,
    *,
    rounds: int,
    warmup_rounds: int,
    progress: ProgressDisplay | None = None,
) -> Measured:
    """``warmup_rounds`` untimed calls of ``engine.first_text`` (at least one: the case is
    warm), then ``rounds`` timed ones: time to first words and to the whole transcript, the
    medians of the rounds with each round's seconds, into a ``FirstWordsResult``."""
    impl = loaded.implementation
    case = f"{impl.name}-{loaded.label}-{clip.name}"
    taken: list[FirstText] = []
    available = devices.available_memory_bytes()
    meter = impl.memory_meter()  # started here, finished at the case's end (it may sample)
    memory_baseline = meter.start()
    with devices.explain_out_of_memory(f"{impl.name} {loaded.label}", impl.device, 1):
        watched(impl, progress, f"warm-up: {case}", lambda: impl.first_text(clip.samples))

        def timed() -> None:
            taken.append(impl.first_text(clip.samples))

        benchmark.pedantic(
            timed, rounds=rounds, warmup_rounds=max(0, warmup_rounds - 1), iterations=1
        )
    timed_calls = taken[-rounds:]
    found = first_words_of(impl, clip.samples, timed_calls)
    result = FirstWordsResult(
        **shared_fields(
            loaded,
            available_memory_mb=available / MiB,
            memory=meter.finish(memory_baseline),
            params={**impl.get_params(), **found.params()},
        ),
        clip=clip.name,
        audio_path=str(clip.path),
        audio_s=clip.duration_s,
        first_text_s=found.first_text_s,
        full_text_s=found.full_text_s,
        first_round_s=found.first_rounds,
        full_round_s=found.full_rounds,
        round_s=round_times(benchmark),
        transcript=found.text[:TRANSCRIPT_PREVIEW_CHARS],
    )
    benchmark.extra_info.update(to_extra_info(result))
    return Measured(result, timing_of(benchmark) or Timing.of_rounds(found.full_rounds))


def measure_stream(
    benchmark: BenchmarkFixture,
    loaded: LoadedModel,
    clip: AudioClip,
    reference_words: list[ReferenceWord],
    *,
    chunk_s: float,
    buffer_s: float,
    progress: ProgressDisplay | None = None,
) -> Measured:
    """One simulated live stream of ``clip`` (one timed round: the stream, warm-up call
    included), after an untimed offline transcription of it; ``Skip`` with the reason for an
    engine that cannot stream."""
    impl = loaded.implementation
    reason = impl.streaming_unsupported_reason()
    if reason is not None:
        raise Skip(f"{impl.name} cannot stream: {reason}")
    if clip.reference is None:
        raise Skip(f"{clip.name} has no reference transcript: the stream case needs one")
    reference = clip.reference
    case = f"{impl.name}-{loaded.label}-{clip.name}"
    available = devices.available_memory_bytes()
    meter = impl.memory_meter()  # started here, finished at the case's end (it may sample)
    memory_baseline = meter.start()
    outcomes: list[StreamOutcome] = []
    with devices.explain_out_of_memory(f"{impl.name} {loaded.label}", impl.device, 1):
        offline = watched(impl, progress, f"offline: {case}", lambda: impl.transcribe(clip.samples))

        def stream() -> None:
            outcomes.append(
                run_stream_case(
                    impl,
                    clip.samples,
                    reference,
                    reference_words,
                    chunk_s=chunk_s,
                    settings=PolicySettings(buffer_s=buffer_s),
                    offline_text=offline.text,
                )
            )

        try:
            benchmark.pedantic(stream, rounds=1, warmup_rounds=0, iterations=1)
        except StreamingUnsupportedError as exc:
            raise Skip(str(exc)) from exc
    outcome = outcomes[-1]
    memory = meter.finish(memory_baseline)
    return _stream_result(benchmark, loaded, clip, outcome, available, memory)


def _stream_result(
    benchmark: BenchmarkFixture,
    loaded: LoadedModel,
    clip: AudioClip,
    outcome: StreamOutcome,
    available_bytes: int,
    memory: devices.DeviceMemory | None,
) -> Measured:
    impl = loaded.implementation
    figures = {name: finite(value) for name, value in outcome.figures().items()}
    result = StreamResult(
        **shared_fields(
            loaded,
            available_memory_mb=available_bytes / MiB,
            memory=memory,
            params={**impl.get_params(), **outcome.params()},
        ),
        clip=clip.name,
        audio_path=str(clip.path),
        audio_s=clip.duration_s,
        delays_s=outcome.delays.delays,
        unit_errors={clip.name: outcome.stream_errors.units},
        offline_unit_errors={clip.name: outcome.offline_errors.units},
        reference=clip.path.with_suffix(".txt").name,
        transcript=outcome.text[:TRANSCRIPT_PREVIEW_CHARS],
        offline_transcript=outcome.offline_text[:TRANSCRIPT_PREVIEW_CHARS],
        round_s=round_times(benchmark),
    )
    result = with_values(result, figures)  # the figures ``results.metrics`` declares
    benchmark.extra_info.update(to_extra_info(result))
    return Measured(result, timing_of(benchmark) or Timing.of_rounds([outcome.run.compute_s]))
