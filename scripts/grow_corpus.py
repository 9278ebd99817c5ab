"""Grow a LibriSpeech-style corpus into a bigger one, for timing corpus cases at scale.

Each copy of every utterance is played at another speed (resampled, so pitch moves with it, as
Kaldi's speed perturbation does: 0.9x to 1.1x), under a new speaker id, with the same
transcript. The committed 48-utterance espeak-ng corpus grown 11 times gives 528 utterances
(about 31 min of audio, some 35 MB of FLAC), without espeak-ng: it runs anywhere the project's
own dependencies (soundfile, soxr) do.

    python scripts/grow_corpus.py /tmp/whisperbench-corpus528     # 11 copies of data/corpus
    python scripts/grow_corpus.py OUT --copies 3 --source my/LibriSpeech/dev-clean
    pytest benchmarks/test_corpus.py --dataset /tmp/whisperbench-corpus528 ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import soundfile as sf
import soxr

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from whisperbench.audio import SAMPLE_RATE  # noqa: E402
from whisperbench.datasets import FIXTURE_CORPUS_DIR, parse_dataset, read_corpus  # noqa: E402

SPEEDS = (1.0, 0.9, 1.1, 0.95, 1.05, 0.92, 1.08, 0.97, 1.03, 0.94, 1.06)
"""The speed of each copy, in turn (the first copy is the corpus as it is)."""
SPEAKER_STEP = 1000
"""Copy ``k`` of speaker ``S`` is speaker ``S + k * SPEAKER_STEP``."""


def grow(source: Path, out: Path, copies: int) -> tuple[int, float]:
    """Write ``copies`` copies of the LibriSpeech-style corpus ``source`` into ``out``; the
    number of utterances and seconds of audio written."""
    corpus = read_corpus(parse_dataset(str(source)))
    if corpus.spec.format != "librispeech":
        raise SystemExit(f"{source}: not a LibriSpeech-style folder ({corpus.spec.format})")
    if corpus.skipped:
        print(f"{len(corpus.skipped)} item(s) of {source} skipped: {corpus.skipped[0]}")
    lines: dict[Path, list[str]] = {}
    seconds = 0.0
    for copy in range(copies):
        speed = SPEEDS[copy % len(SPEEDS)]
        for utterance in corpus.utterances:
            speaker, chapter, number = utterance.id.split("-")
            new_speaker = str(int(speaker) + copy * SPEAKER_STEP)
            new_id = f"{new_speaker}-{chapter}-{number}"
            folder = out / new_speaker / chapter
            folder.mkdir(parents=True, exist_ok=True)
            samples = utterance.samples
            if speed != 1.0:  # played faster: fewer samples at the same rate
                samples = soxr.resample(samples, SAMPLE_RATE, round(SAMPLE_RATE / speed))
            sf.write(folder / f"{new_id}.flac", samples, SAMPLE_RATE, subtype="PCM_16")
            transcripts = folder / f"{new_speaker}-{chapter}.trans.txt"
            lines.setdefault(transcripts, []).append(f"{new_id} {utterance.reference or ''}")
            seconds += len(samples) / SAMPLE_RATE
    for path, text in lines.items():
        path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return copies * len(corpus.utterances), seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("out", type=Path, help="the folder to write (LibriSpeech's layout)")
    parser.add_argument("--copies", type=int, default=11, help="copies of the corpus (11)")
    parser.add_argument(
        "--source", type=Path, default=FIXTURE_CORPUS_DIR, help="a LibriSpeech-style folder"
    )
    args = parser.parse_args(argv)
    if args.copies < 1:
        parser.error("--copies must be at least 1")
    count, seconds = grow(args.source, args.out, args.copies)
    print(f"{args.out}: {count} utterances, {seconds / 60:.1f} min of audio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
