"""One case of a batch sweep measured: the clip transcribed as a transcribe case is (a cold run
at this batch size first, so that shapes, compiled steps and CUDA graphs of the size exist
before timing, then the warm-ups and timed rounds), the engine set to the case's batch size
and back; or, where the batch does not fit, a record of the allocation failure instead of a
crash."""

from __future__ import annotations

import gc
from dataclasses import fields

from whisperbench import devices
from whisperbench.audio import AudioClip
from whisperbench.resources.sampler import DEFAULT_INTERVAL_S
from whisperbench.results.codec import to_extra_info
from whisperbench.results.records import BatchSweepResult, Measured
from whisperbench.suite.batch_sweep import SweepCase
from whisperbench.suite.cases import ProgressDisplay
from whisperbench.suite.loaded import LoadedModel, MiB
from whisperbench.suite.measure import BenchmarkFixture, measure_transcription, shared_fields


def measure_sweep_point(
    benchmark: BenchmarkFixture,
    loaded: LoadedModel,
    clip: AudioClip,
    case: SweepCase,
    *,
    rounds: int,
    warmup_rounds: int,
    progress: ProgressDisplay | None = None,
    resource_interval_s: float = DEFAULT_INTERVAL_S,
) -> Measured:
    """``clip`` through ``loaded`` at ``case.batch`` windows per batch (``measure_transcription``:
    its cold run is always at this size, untimed), as a ``BatchSweepResult`` in ``extra_info``;
    an allocation that does not fit (CUDA's and MPS's out-of-memory errors, the host's
    ``MemoryError``) gives the record with ``out_of_memory`` set and no timing."""
    impl = loaded.implementation
    available = devices.available_memory_bytes()
    meter = impl.memory_meter()  # for an allocation that fails; the case measures its own
    baseline = meter.start()
    impl.use_batch_size(case.batch)
    try:
        measured = measure_transcription(
            benchmark,
            loaded,
            clip,
            rounds=rounds,
            warmup_rounds=warmup_rounds,
            progress=progress,
            resource_interval_s=resource_interval_s,
        )
    except MemoryError as exc:  # DeviceOutOfMemoryError (a MemoryError) for CUDA and MPS too
        memory = meter.finish(baseline)
        result = BatchSweepResult(
            **shared_fields(loaded, available_memory_mb=available / MiB, memory=memory),
            clip=clip.name,
            audio_path=str(clip.path),
            audio_s=clip.duration_s,
            sweep_batch=case.batch,
            out_of_memory=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
        )
        timing = None
    else:
        meter.finish(baseline)  # ends a sampling meter; the case's figure is its own
        swept = measured.result
        result = BatchSweepResult(
            **{f.name: getattr(swept, f.name) for f in fields(swept)}, sweep_batch=case.batch
        )
        timing = measured.timing
    finally:
        impl.use_batch_size(None)
    if result.out_of_memory is not None:  # what the failed batch held goes before the next case
        gc.collect()
        devices.empty_cache(impl.device)
    benchmark.extra_info.update(to_extra_info(result))
    return Measured(result, timing)
