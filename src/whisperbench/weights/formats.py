"""The weight formats: what a snapshot of each must hold, what to download for it, and how to
prove it loads, with no implementation involved.

A format is either read from a Hugging Face repository that the model map names for it
(``transformers``: ``openai/whisper-*``; ``ctranslate2``: the faster-whisper repos), or converted
from another format's snapshot (``converted_from``, with ``conversion`` naming the module under
``weights/convert/`` that writes it). A new format is one declaration in ``FORMATS``, plus its
converter module when it is converted; a plugin declares one in the
``whisperbench.weight_formats`` entry-point group (``declared_formats``).

Verification loads on the CPU, every format: transformers' ``from_pretrained`` and
openai-whisper's ``load_model(device="cpu")`` place the weights there, CTranslate2 is asked for
``device="cpu"``, and the two loaders that would take Metal on a Mac by default are kept off it:
whisper.cpp's context is made with ``use_gpu`` off (``whisper_context_default_params`` turns it
on), and MLX's load runs on its CPU stream (``mx.stream(mx.cpu)``: on Apple Silicon MLX's
default device is the GPU). A verifying child killed at its limit then never holds the Metal
device. ``verify_loader()`` imports what the load needs and returns the load itself, so that a
verifying child process can time the load without the imports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from whisperbench.errors import UnknownFormatError
from whisperbench.models import CONVERTED_FORMATS

__all__ = [
    "FORMATS",
    "GGML_FILE",
    "MLX_CONFIG",
    "MLX_WEIGHTS",
    "OPENAI_CHECKPOINT",
    "Loader",
    "WeightFormat",
    "format_names",
    "get_format",
    "repo_files_format",
]

Loader = Callable[[Path], object]
"""Loads the snapshot at the path (raising when it cannot)."""


@dataclass(frozen=True)
class WeightFormat:
    name: str
    required: tuple[str, ...]
    """Files a whole snapshot holds; ``a|b`` means either (a sharded index also needs its
    shards)."""
    allow_patterns: tuple[str, ...]
    """What a download of the repo fetches (``huggingface_hub`` allow patterns)."""
    verify_loader: Callable[[], Loader]
    converted_from: str | None = None
    """The format whose snapshot this one is converted from; None: read from its own repo."""
    conversion: str | None = None
    """With ``converted_from``: the module (``whisperbench.weights.convert.X``) whose
    ``CONVERSION`` writes this format."""

    @property
    def repo_format(self) -> str:
        """The format whose repository holds the files this one is made from."""
        return self.converted_from or self.name


def _transformers_loader() -> Loader:
    from transformers import WhisperForConditionalGeneration, WhisperProcessor

    def load(path: Path) -> object:
        WhisperProcessor.from_pretrained(path)
        return WhisperForConditionalGeneration.from_pretrained(path)

    return load


def _ctranslate2_loader() -> Loader:
    import ctranslate2
    from tokenizers import Tokenizer

    def load(path: Path) -> object:
        Tokenizer.from_file(str(path / "tokenizer.json"))
        return ctranslate2.models.Whisper(str(path), device="cpu", compute_type="int8")

    return load


OPENAI_CHECKPOINT = "model.pt"
"""openai-whisper's checkpoint: ``torch.save({"dims": ..., "model_state_dict": ...})``."""
GGML_FILE = "ggml-model.bin"
"""whisper.cpp's model file (the name its own converters write)."""

MLX_CONFIG, MLX_WEIGHTS = "config.json", "weights.npz"
"""``mlx_whisper``'s model folder (``weights.safetensors`` in newer ``mlx-community`` repos;
``weights.npz`` is what both mlx-whisper and lightning-whisper-mlx read)."""


def _openai_loader() -> Loader:
    import whisper

    def load(path: Path) -> object:
        return whisper.load_model(str(path / OPENAI_CHECKPOINT), device="cpu")

    return load


def _ggml_loader() -> Loader:
    from pywhispercpp.model import Model

    def load(path: Path) -> object:
        file = path if path.is_file() else path / GGML_FILE  # a native repo's file, or ours
        if not file.is_file():  # whisper.cpp would only log the failure
            raise FileNotFoundError(f"{file} does not exist")
        return Model(
            str(file),
            n_threads=1,
            redirect_whispercpp_logs_to=None,
            context_params={"use_gpu": False},  # the CPU, never Metal or CUDA
        )

    return load


def _mlx_loader() -> Loader:
    import mlx.core as mx
    from mlx_whisper.load_models import load_model

    def load(path: Path) -> object:
        with mx.stream(mx.cpu):
            return load_model(str(path))

    return load


def _converted(name: str, required: tuple[str, ...], loader: Callable[[], Loader]) -> WeightFormat:
    """A format written by ``weights/convert/hf_to_<name>.py`` from the snapshot of the format
    the model map names for it (the transformers one)."""
    return WeightFormat(
        name=name,
        required=required,
        allow_patterns=(),
        verify_loader=loader,
        converted_from=CONVERTED_FORMATS[name],
        conversion=f"whisperbench.weights.convert.hf_to_{name}",
    )


FORMATS: dict[str, WeightFormat] = {
    "transformers": WeightFormat(
        name="transformers",
        required=(
            "config.json",
            "model.safetensors|pytorch_model.bin|model.safetensors.index.json",
            "preprocessor_config.json",
            "tokenizer.json|vocab.json",
            "generation_config.json",
        ),
        allow_patterns=("*.json", "*.txt", "model.safetensors", "model-*.safetensors"),
        verify_loader=_transformers_loader,
    ),
    "ctranslate2": WeightFormat(
        name="ctranslate2",
        required=("model.bin", "config.json", "tokenizer.json", "vocabulary.txt|vocabulary.json"),
        allow_patterns=("model.bin", "*.json", "vocabulary.*"),
        verify_loader=_ctranslate2_loader,
    ),
    "openai": _converted("openai", (OPENAI_CHECKPOINT,), _openai_loader),
    "ggml": _converted("ggml", (GGML_FILE,), _ggml_loader),
    "mlx": _converted("mlx", (MLX_CONFIG, MLX_WEIGHTS), _mlx_loader),
}


ENTRY_POINT_GROUP = "whisperbench.weight_formats"
"""Where a plugin declares a format of its own: an entry point naming a ``WeightFormat`` (read
from its own repo in the model map, or ``converted_from`` another format by its ``conversion``
module). The built-in ``FORMATS`` keep their names."""


def declared_formats() -> dict[str, WeightFormat]:
    """The built-in formats, then those plugins declare (one that cannot be loaded, or is not
    a ``WeightFormat``, is left out)."""
    declared = dict(FORMATS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found = ep.load()
        except Exception:  # a broken plugin must not hide the built-in formats
            continue
        if isinstance(found, WeightFormat):
            declared.setdefault(found.name, found)
    return declared


def format_names() -> list[str]:
    return list(declared_formats())


def get_format(name: str) -> WeightFormat:
    """The declaration of ``name``; an unknown name lists the declared ones."""
    if name in FORMATS:
        return FORMATS[name]
    declared = declared_formats()
    try:
        return declared[name]
    except KeyError:
        raise UnknownFormatError(
            f"unknown weight format {name!r}; declared formats: {', '.join(declared)}"
        ) from None


def repo_files_format(name: str) -> WeightFormat:
    """The declaration of the format whose repository files ``name`` is made from (itself,
    unless it is converted from another)."""
    return get_format(get_format(name).repo_format)
