"""Time the static greedy decoder's step as written and compiled (torch.compile), on random
weights of a Whisper size's shape: ms per step and whether both decode the same tokens.

    python3 scripts/decoder_step_probe.py --device cuda --sizes tiny.en:4,tiny.en:24,large-v3:24

Where the time of a step goes: ``--profile`` prints the CUDA kernels of a few steps as written
(no graph, so that the profiler sees each kernel), ``--sdpa flash,efficient,cudnn,math`` times
the step (as written, captured) with each attention backend, and ``--encoder`` times the size's
whole encoder on the same number of windows.

    python3 scripts/decoder_step_probe.py --device cuda --sizes large-v3:24 --steps 48 \
        --no-compile --profile --sdpa flash,efficient,cudnn,math --encoder

An A/B of two versions of ``greedy.py`` in one lease: ``--greedy <the other file>``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from transformers import WhisperConfig, WhisperForConditionalGeneration

GREEDY = Path(__file__).parents[1] / "src/whisperbench/implementations/greedy.py"


def load_greedy(path: Path) -> ModuleType:
    """A ``greedy.py`` loaded from its file (it needs torch only): the project's, or another
    version of it, for an A/B of two versions in one lease (``--greedy``)."""
    spec = importlib.util.spec_from_file_location(f"greedy_{abs(hash(path))}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


greedy = load_greedy(GREEDY)

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


def rules(vocab: int) -> Any:
    eos = 50256
    return greedy.DecodeRules(
        eos=eos,
        no_timestamps=vocab - 1502,
        suppress_tokens=(1, 2),
        begin_suppress_tokens=(220, eos),
    )


@contextlib.contextmanager
def attention_backend(name: str | None) -> Iterator[None]:
    """Scaled dot-product attention limited to one backend (``None``: torch's own choice)."""
    if name is None:
        yield
        return
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backends = {
        "flash": SDPBackend.FLASH_ATTENTION,
        "efficient": SDPBackend.EFFICIENT_ATTENTION,
        "cudnn": SDPBackend.CUDNN_ATTENTION,
        "math": SDPBackend.MATH,
    }
    with sdpa_kernel(backends[name]):
        yield


def run(
    size: str,
    rows: int,
    device: str,
    steps: int,
    compile_step: bool,
    backend: str | None = None,
    profile: bool = False,
) -> tuple[float, torch.Tensor]:
    dtype = torch.float16 if device == "cuda" else torch.float32
    model = build(size, device, dtype)
    with attention_backend(backend):
        return _timed(model, size, rows, device, steps, compile_step, backend, profile)


def make_decoder(
    model: WhisperForConditionalGeneration, rows: int, steps: int, r: Any, **options: bool
) -> Any:
    """A static greedy decoder of ``rows`` windows that decodes exactly ``steps`` tokens."""
    return greedy.StaticGreedyDecoder(
        model,
        batch=rows,
        prompt=[50257, r.no_timestamps],
        max_new_tokens=steps,
        rules=r,
        min_new_tokens=steps,
        **options,
    )


def _timed(
    model: WhisperForConditionalGeneration,
    size: str,
    rows: int,
    device: str,
    steps: int,
    compile_step: bool,
    backend: str | None,
    profile: bool,
) -> tuple[float, torch.Tensor]:
    dtype = model.dtype
    r = rules(model.config.vocab_size)
    decoder = make_decoder(model, rows, steps, r, compile_step=compile_step)
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
        f"{size} rows={rows} compile={compile_step} attention={backend or 'default'}: "
        f"first call {first:.1f} s, {per_step:.3f} ms/step",
        flush=True,
    )
    if profile:
        print_kernels(model, rows, steps, r, states)
    return per_step, tokens.cpu()


def print_kernels(
    model: WhisperForConditionalGeneration,
    rows: int,
    steps: int,
    r: Any,
    states: torch.Tensor,
) -> None:
    """The CUDA kernels of a decode as written (no graph), by their total time."""
    from torch.profiler import ProfilerActivity, profile

    decoder = make_decoder(model, rows, steps, r, use_cuda_graph=False)
    decoder.decode(states)
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        decoder.decode(states)
        torch.cuda.synchronize()
    table = prof.key_averages().table(
        sort_by="cuda_time_total", row_limit=25, max_name_column_width=70
    )
    print(f"-- kernels of one decode ({steps} steps, as written, no graph):\n{table}", flush=True)


def time_encoder(size: str, rows: int, device: str, compiled: bool) -> None:
    """The size's whole encoder (random weights) on ``rows`` windows of 30 s: median of 5 after
    a warm-up call; ``compiled``: through ``torch.compile`` (its first call compiles)."""
    from transformers.models.whisper.modeling_whisper import WhisperEncoder

    shape = SHAPES[size]
    config = WhisperConfig(
        d_model=shape["d_model"],
        encoder_layers=shape["encoder_layers"],
        encoder_attention_heads=shape["heads"],
        encoder_ffn_dim=4 * shape["d_model"],
        num_mel_bins=128 if size == "large-v3" else 80,
        attn_implementation="sdpa",
    )
    with torch.device(device):
        encoder = WhisperEncoder(config).to(torch.float16).eval()
        features = torch.randn(rows, config.num_mel_bins, 3000, dtype=torch.float16)
    call = torch.compile(encoder, fullgraph=True, dynamic=False) if compiled else encoder
    times = []
    with torch.inference_mode():
        for _ in range(6):
            torch.cuda.synchronize()
            start = time.perf_counter()
            call(features)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - start)
    print(
        f"== {size} encoder{' compiled' if compiled else ''}, {rows} windows: first call "
        f"{times[0]:.1f} s, {sorted(times[1:])[2] * 1000:.1f} ms",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--sizes", default="tiny.en:4")
    parser.add_argument("--steps", type=int, default=96)
    parser.add_argument("--no-compile", action="store_true", help="time the step as written only")
    parser.add_argument("--profile", action="store_true", help="print the kernels of a decode")
    parser.add_argument("--sdpa", default="", help="attention backends to time, comma-separated")
    parser.add_argument("--encoder", action="store_true", help="time the whole encoder too")
    parser.add_argument("--encoder-compiled", action="store_true", help="and through torch.compile")
    parser.add_argument("--greedy", type=Path, help="another version of greedy.py to time")
    args = parser.parse_args()
    if args.greedy is not None:
        global greedy
        greedy = load_greedy(args.greedy)
        print(f"# greedy.py from {args.greedy}", flush=True)
    for item in args.sizes.split(","):
        size, rows = item.split(":")
        if args.encoder:
            time_encoder(size, int(rows), args.device, compiled=False)
        if args.encoder_compiled:
            time_encoder(size, int(rows), args.device, compiled=True)
        for backend in filter(None, args.sdpa.split(",")):
            try:
                run(size, int(rows), args.device, args.steps, False, backend)
            except RuntimeError as error:  # a backend that does not take these shapes
                print(f"{size} rows={rows} attention={backend}: {str(error).splitlines()[0]}")
        if args.no_compile:
            run(size, int(rows), args.device, args.steps, False, profile=args.profile)
            continue
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
