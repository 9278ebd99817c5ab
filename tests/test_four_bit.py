"""4-bit (nf4) weights through bitsandbytes, for real, on the CPU: both transformers
implementations load tiny.en with ``Linear4bit`` layers, say so in their parameters (read off
the modules), and still transcribe the short clip word for word."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.engine_helpers import loaded

from whisperbench.audio import fixture_clip_path, load_clip
from whisperbench.implementations.transformers_pipeline import (
    applied_quantization,
    four_bit_installed,
)
from whisperbench.scoring import wer

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not four_bit_installed(),
        reason="bitsandbytes and accelerate are missing: pip install whisperbench[quantization]",
    ),
]


@pytest.mark.parametrize("name", ["transformers", "transformers-reference"])
def test_nf4_on_the_cpu_is_really_4bit(name: str, offline_hub_cache: Path) -> None:
    import bitsandbytes

    impl = loaded(name, offline_hub_cache, quantization="4bit")
    model = impl.pipe.model  # type: ignore[attr-defined]
    layers = [m for m in model.modules() if isinstance(m, bitsandbytes.nn.Linear4bit)]
    assert layers and all(layer.weight.quant_type == "nf4" for layer in layers)
    params = impl.get_params()
    expected = f"4bit (nf4, bitsandbytes {bitsandbytes.__version__})"
    assert params["quantization"] == applied_quantization(model) == expected
    assert params["quantization_note"] is None and params["device"] == "cpu"
    clip = load_clip(fixture_clip_path("short"))
    assert clip.reference is not None
    assert wer(clip.reference, impl.transcribe(clip.samples).text) == 0.0
    impl.cleanup()


def test_an_unquantised_model_says_none(offline_hub_cache: Path) -> None:
    impl = loaded("transformers-reference", offline_hub_cache)
    assert impl.get_params()["quantization"] == "none"
    impl.cleanup()
