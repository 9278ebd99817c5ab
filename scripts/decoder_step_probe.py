"""Time the static greedy decoder's step as written and compiled (torch.compile), on random
weights of a Whisper size's shape: ms per step and whether both decode the same tokens.

    python3 scripts/decoder_step_probe.py --device cuda --sizes tiny.en:4,tiny.en:24,large-v3:24
"""

from __future__ import annotations

import argparse
import time

import torch
from transformers import WhisperConfig, WhisperForConditionalGeneration

try:
    from whisperbench.implementations.greedy import DecodeRules, StaticGreedyDecoder
except ImportError:  # a bare GPU machine: greedy.py needs torch only
    import importlib.util
    import sys
    from pathlib import Path

    _path = Path(__file__).parents[1] / "src/whisperbench/implementations/greedy.py"
    _spec = importlib.util.spec_from_file_location("greedy", _path)
    assert _spec and _spec.loader
    greedy = importlib.util.module_from_spec(_spec)
    sys.modules["greedy"] = greedy
    _spec.loader.exec_module(greedy)
    DecodeRules, StaticGreedyDecoder = greedy.DecodeRules, greedy.StaticGreedyDecoder

SHAPES = {
    "tiny.en": {
        "d_model": 384,
        "encoder_layers": 4,
        "decoder_layers": 4,
        "heads": 6,
        "vocab": 51864,
    },
    "base": {"d_model": 512, "encoder_layers": 6, "decoder_layers": 6, "heads": 8, "vocab": 51865},
    "large-v3": {
        "d_model": 1280,
        "encoder_layers": 32,
        "decoder_layers": 32,
        "heads": 20,
        "vocab": 51866,
    },
}


def build(size: str, device: str, dtype: torch.dtype) -> WhisperForConditionalGeneration:
    shape = SHAPES[size]
    config = WhisperConfig(
        vocab_size=shape["vocab"],
        d_model=shape["d_model"],
        encoder_layers=1,  # the encoder is not timed here
        decoder_layers=shape["decoder_layers"],
        encoder_attention_heads=shape["heads"],
        decoder_attention_heads=shape["heads"],
        encoder_ffn_dim=4 * shape["d_model"],
        decoder_ffn_dim=4 * shape["d_model"],
        num_mel_bins=128 if size == "large-v3" else 80,
    )
    torch.manual_seed(0)
    with torch.device(device):  # random weights drawn on the device: fast
        model = WhisperForConditionalGeneration(config).to(dtype).eval()
    return model


def rules(vocab: int) -> DecodeRules:
    eos = 50256
    return DecodeRules(
        eos=eos,
        no_timestamps=vocab - 1502,
        suppress_tokens=(1, 2),
        begin_suppress_tokens=(220, eos),
    )


def run(
    size: str, rows: int, device: str, steps: int, compile_step: bool
) -> tuple[float, torch.Tensor]:
    dtype = torch.float16 if device == "cuda" else torch.float32
    model = build(size, device, dtype)
    r = rules(model.config.vocab_size)
    decoder = StaticGreedyDecoder(
        model,
        batch=rows,
        prompt=[50257, r.no_timestamps],
        max_new_tokens=steps,
        rules=r,
        min_new_tokens=steps,
        compile_step=compile_step,
    )
    states = torch.randn(rows, 1500, model.config.d_model, device=device, dtype=dtype)
    start = time.perf_counter()
    tokens = decoder.decode(states)  # warm-up: compile, capture
    if device == "cuda":
        torch.cuda.synchronize()
    first = time.perf_counter() - start
    times = []
    for _ in range(5):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        again = decoder.decode(states)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    print(f"  repeat call: same tokens {(tokens == again).float().mean().item():.1%}")
    per_step = sorted(times)[len(times) // 2] / steps * 1000
    print(
        f"{size} rows={rows} compile={compile_step}: "
        f"first call {first:.1f} s, {per_step:.3f} ms/step",
        flush=True,
    )
    return per_step, tokens.cpu()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--sizes", default="tiny.en:4")
    parser.add_argument("--steps", type=int, default=96)
    args = parser.parse_args()
    for item in args.sizes.split(","):
        size, rows = item.split(":")
        eager, tokens_eager = run(size, int(rows), args.device, args.steps, False)
        fused, tokens_fused = run(size, int(rows), args.device, args.steps, True)
        same = (tokens_eager == tokens_fused).float().mean().item()
        print(
            f"== {size} rows={rows}: {eager:.3f} -> {fused:.3f} ms/step "
            f"({eager / fused:.2f}x), same tokens {same:.1%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
