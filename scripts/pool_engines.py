"""Pool each engine's transcribe cases of saved runs into one line per engine, model and clip group:
RTFx (the audio over the summed medians), WER over all words with its 95% bootstrap interval
over units (``scoring.evidence``), insertions, repeated 8-grams, energy per audio hour
(weighted by audio), and NVML's and torch's peak device memory. A group is ``long-x2`` or
the other clips together (the real readings, in the recorded cost runs).

    python scripts/pool_engines.py reports/gpu/h100-c314ac3/bench
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence

from whisperbench.history import CaseResult, load_history
from whisperbench.results.records import BatchSweepResult, TranscribeResult
from whisperbench.scoring.evidence import wer_interval, wer_of


def _group(clip: str) -> str:
    return "long-x2" if clip == "long-x2" else "other clips"


def _largest(values: Sequence[float | None]) -> str:
    present = [v for v in values if v is not None]
    return f"{max(present):.0f}" if present else "–"


def pooled_rows(cases: Sequence[CaseResult]) -> list[str]:
    groups: dict[tuple[str, str, str], list[tuple[TranscribeResult, float]]] = defaultdict(list)
    for case in cases:
        result = case.result
        swept = isinstance(result, BatchSweepResult)  # a sweep compares an engine with itself
        if isinstance(result, TranscribeResult) and not swept and case.timing.median_s:
            key = result.implementation, result.model, _group(result.clip)
            groups[key].append((result, case.timing.median_s))
    rows = []
    for (engine, model, group), found in sorted(groups.items()):
        audio = sum(r.audio_s for r, _ in found)
        units = [u for r, _ in found for clip in r.unit_errors.values() for u in clip]
        wer, interval = wer_of(units), wer_interval(units)
        shown = "–" if wer is None else f"{100 * wer:.1f}%"
        if interval is not None:
            shown += f" [{100 * interval.low:.1f}, {100 * interval.high:.1f}]"
        energy = [(r.energy_j_per_audio_hour, r.audio_s) for r, _ in found]
        joules = (
            f"{sum(e * s for e, s in energy if e is not None) / audio:.0f}"
            if all(e is not None for e, _ in energy)
            else "–"
        )
        scored = [r.word_errors for r, _ in found if r.word_errors]  # none without a reference
        inserted = str(sum(e.insertions for e in scored)) if scored else "–"
        counted = [r.repeated_ngrams for r, _ in found if r.repeated_ngrams is not None]
        repeats = str(sum(counted)) if counted else "–"
        rows.append(
            f"| {engine} | {model} | {group} ({len(found)}, {audio:.0f} s) "
            f"| {audio / sum(m for _, m in found):.0f} | {shown} | {inserted} "
            f"| {repeats} | {joules} "
            f"| {_largest([r.nvml_peak_device_mb for r, _ in found])} "
            f"| {_largest([r.peak_device_mb for r, _ in found])} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("storage", nargs="+", help="pytest-benchmark storage folders")
    args = parser.parse_args()
    cases = [
        case for storage in args.storage for run in load_history(storage).runs for case in run.cases
    ]
    print(
        "| engine | model | clips | RTFx | WER [95%] | insertions | repeats | J / audio h "
        "| NVML peak MB | torch peak MB |"
    )
    print("| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(pooled_rows(cases)))


if __name__ == "__main__":
    main()
