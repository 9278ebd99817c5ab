"""Write a reference clip repeated N times (audio and transcript), for long-form speed runs.

python scripts/repeat_clip.py long 2 /tmp/clips   # -> /tmp/clips/long-x2.flac + .txt (658 s)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from whisperbench.audio import SAMPLE_RATE, fixture_clip_path, load_clip


def main(name: str, times: int, out_dir: Path) -> Path:
    clip = load_clip(fixture_clip_path(name))
    if clip.reference is None:
        raise SystemExit(f"clip {name!r} has no reference transcript")
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}-x{times}.flac"
    sf.write(target, np.tile(clip.samples, times), SAMPLE_RATE, subtype="PCM_16")
    target.with_suffix(".txt").write_text(
        " ".join([clip.reference] * times) + "\n", encoding="utf-8"
    )
    print(f"{target}: {times * clip.duration_s:.1f} s")
    return target


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]))
