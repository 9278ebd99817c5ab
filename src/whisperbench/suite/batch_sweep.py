"""The batch sweep (``--batch-sweep 1,2,4,...``): memory and speed against batch size. Its
sizes read from the command line (``parse_batch_sweep``), its cases (``SweepCase``: one per
engine that takes a batch size, model, clip and size, in increasing size), and the controller
(``SweepLedger``) that ends a series at its first batch that does not fit: that case records
the allocation failure as its result, and the larger sizes of the series skip, saying why."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from whisperbench.errors import WhisperBenchError
from whisperbench.implementations import get_implementation
from whisperbench.results.records import sweep_label
from whisperbench.suite.cases import MAX_BATCH_SIZE, ClipCase, SuiteConfig, clip_cases

SWEEP_EXAMPLE = "1,2,4,8,16,32,64,128"


def parse_batch_sweep(text: str | None) -> tuple[int, ...]:
    """The batch sizes of ``--batch-sweep`` (empty when it is not given), or ValueError naming
    the problem and the fix: whole numbers from 1 to ``MAX_BATCH_SIZE``, increasing."""
    if text is None:
        return ()
    fix = (
        f"give increasing whole numbers from 1 to {MAX_BATCH_SIZE}, comma-separated "
        f"(--batch-sweep {SWEEP_EXAMPLE})"
    )
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise ValueError(f"--batch-sweep {text!r} names no batch size; {fix}")
    sizes: list[int] = []
    for part in parts:
        try:
            size = int(part)
        except ValueError:
            raise ValueError(
                f"--batch-sweep {text!r}: {part!r} is not a whole number; {fix}"
            ) from None
        if not 1 <= size <= MAX_BATCH_SIZE:
            raise ValueError(f"--batch-sweep {text!r}: {size} is out of range; {fix}")
        if sizes and size <= sizes[-1]:
            raise ValueError(f"--batch-sweep {text!r}: {size} does not increase; {fix}")
        sizes.append(size)
    return tuple(sizes)


@dataclass(frozen=True)
class SweepCase(ClipCase):
    """One batch size of an engine's sweep on one clip; its ID is ``ENGINE-MODEL-CLIP-batchN``
    (the transcribe case's, with the batch size)."""

    batch: int = 1

    @property
    def series(self) -> tuple[str, str, str]:
        """The sweep this case belongs to: the engine, model and clip."""
        return self.implementation, self.size, self.clip

    @property
    def id(self) -> str:
        return f"{super().id}-{sweep_label(self.batch)}"


def sweeps_batches(implementation: str) -> bool:
    """Whether ``implementation`` takes a batch size, and so is swept (an unknown name: no)."""
    try:
        return get_implementation(implementation).takes_batch_size
    except WhisperBenchError:  # unknown, or registered but not importable
        return False


def sweep_cases(config: SuiteConfig) -> list[SweepCase]:
    """A case per batch size of ``--batch-sweep``, for every (engine, model, clip) whose
    engine takes a batch size, each series in increasing size (none without ``--batch-sweep``,
    asked before any engine is: reading the registry for each test function would cost
    collection a minute)."""
    if not config.batch_sweep:
        return []
    return [
        SweepCase(c.implementation, c.size, c.label, c.clip, batch)
        for c in clip_cases(config)
        if sweeps_batches(c.implementation)
        for batch in config.batch_sweep
    ]


def unswept_engines(implementations: Sequence[str], sizes: Sequence[int]) -> list[str]:
    """A line naming the engines of a sweeping session that take no batch size (none of their
    cases is swept), or nothing."""
    left = [name for name in implementations if not sweeps_batches(name)]
    if not sizes or not left:
        return []
    return [
        f"--batch-sweep: {', '.join(left)} take(s) no batch size (one window at a time); "
        "no sweep cases for them"
    ]


@dataclass
class SweepLedger:
    """Where each sweep ended: the first batch size of a series that ran out of memory, and
    the case that said so; the larger sizes of that series then skip."""

    ended: dict[tuple[str, str, str], tuple[int, str]] = field(default_factory=dict)

    def ran_out(self, case: SweepCase, message: str) -> None:
        self.ended.setdefault(case.series, (case.batch, f"{case.id}: {message}"))

    def skip_reason(self, case: SweepCase) -> str | None:
        """Why ``case`` does not run (a smaller batch of its series ran out of memory), or
        None."""
        end = self.ended.get(case.series)
        if end is None or case.batch <= end[0]:
            return None
        batch, said = end
        return (
            f"batch {case.batch} skipped: the sweep ended at batch {batch}, the first that "
            f"did not fit ({said})"
        )
