"""THE model map: one source of truth for sizes, repos, architectures and verification limits.

Loading, cache checks, synthetic weights and reports all resolve a size name here: a size and
a weight format give a Hugging Face repo id. A format converted from another (openai-whisper's
checkpoint, whisper.cpp's ggml file, MLX's folder) gives the repo it is converted from. What a
snapshot of each format holds, and how a conversion is made, is declared in ``weights.formats``.
"""

from __future__ import annotations

from dataclasses import dataclass

from whisperbench.errors import UnknownModelError

REPO_FORMATS: tuple[str, ...] = ("transformers", "ctranslate2")
"""The weight formats that every size has a Hugging Face repository for."""
FAMILIES = REPO_FORMATS
"""The older name of ``REPO_FORMATS`` (formats were called implementation families)."""
CONVERTED_FORMATS: dict[str, str] = {
    "openai": "transformers",
    "ggml": "transformers",
    "mlx": "transformers",
}
"""Formats made from another format's snapshot, and which: every engine's weights come from the
same transformers snapshot, so that engines are compared on the same weights."""


@dataclass(frozen=True)
class NativeRepo:
    """A repository of an engine's own ecosystem that holds a converted format ready-made, made
    from the same openai weights (``ggerganov/whisper.cpp``'s ggml files, ``mlx-community``'s MLX
    folders). Online, ``whisperbench download`` fetches it; a whole cached copy is used instead
    of converting the transformers snapshot."""

    repo_id: str
    required: tuple[str, ...]
    """Files a whole snapshot holds (``a|b``: either)."""
    allow_patterns: tuple[str, ...]
    """What a download fetches (a repo such as whisper.cpp's holds every size's file)."""
    one_file_of_many: bool = False
    """The repo holds a file per size (whisper.cpp's): the path handed to an engine is the
    size's file, not the snapshot folder."""


_NATIVE_NAMES = {"large": "large-v3-turbo"}
"""Sizes whose native repos and files go by another name (``large`` is large-v3-turbo)."""


def native_repo(size: str, weights_format: str) -> NativeRepo | None:
    """The native repository of ``weights_format`` for ``size``, where there is one."""
    name = _NATIVE_NAMES.get(size, size)
    if weights_format == "ggml":
        file = f"ggml-{name}.bin"
        return NativeRepo("ggerganov/whisper.cpp", (file,), (file,), one_file_of_many=True)
    if weights_format == "mlx":
        repo = f"mlx-community/whisper-{name}" + ("" if size == "large" else "-mlx")
        weights = ("weights.safetensors", "weights.npz")
        return NativeRepo(repo, ("config.json", "|".join(weights)), ("config.json", *weights))
    return None


VERIFY_TIMEOUT_S = 15.0
VERIFY_TIMEOUT_LARGE_S = 30.0


@dataclass(frozen=True)
class Architecture:
    """The shape of a Whisper model: enough to build a real config with random weights."""

    d_model: int
    encoder_layers: int
    decoder_layers: int
    attention_heads: int
    num_mel_bins: int
    vocab_size: int

    @property
    def ffn_dim(self) -> int:
        return 4 * self.d_model


@dataclass(frozen=True)
class ModelSpec:
    """One model size: its repos per weight format and how long a verifying load may take."""

    name: str
    repos: dict[str, str]
    architecture: Architecture

    @property
    def english_only(self) -> bool:
        return self.name.endswith(".en")

    @property
    def is_large(self) -> bool:
        return self.name.startswith("large")

    @property
    def verify_timeout_s(self) -> float:
        return VERIFY_TIMEOUT_LARGE_S if self.is_large else VERIFY_TIMEOUT_S

    def repo_id(self, weights_format: str) -> str:
        """The repo whose files ``weights_format`` is read from (for a converted format: the
        repo of the format it is converted from)."""
        try:
            return self.repos[CONVERTED_FORMATS.get(weights_format, weights_format)]
        except KeyError:
            raise UnknownModelError(
                f"model {self.name!r} has no repository for the {weights_format!r} format; "
                f"it has: {', '.join(sorted(self.repos))}"
            ) from None


_EN_VOCAB = 51864
_MULTI_VOCAB = 51865
_V3_VOCAB = 51866


def _spec(name: str, openai: str, ct2: str, arch: Architecture) -> ModelSpec:
    return ModelSpec(
        name=name, repos={"transformers": openai, "ctranslate2": ct2}, architecture=arch
    )


def _arch(
    d: int, enc: int, dec: int, heads: int, mels: int = 80, vocab: int = _MULTI_VOCAB
) -> Architecture:
    return Architecture(d, enc, dec, heads, mels, vocab)


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        _spec("tiny", "openai/whisper-tiny", "Systran/faster-whisper-tiny", _arch(384, 4, 4, 6)),
        _spec(
            "tiny.en",
            "openai/whisper-tiny.en",
            "Systran/faster-whisper-tiny.en",
            _arch(384, 4, 4, 6, vocab=_EN_VOCAB),
        ),
        _spec("base", "openai/whisper-base", "Systran/faster-whisper-base", _arch(512, 6, 6, 8)),
        _spec(
            "base.en",
            "openai/whisper-base.en",
            "Systran/faster-whisper-base.en",
            _arch(512, 6, 6, 8, vocab=_EN_VOCAB),
        ),
        _spec(
            "small", "openai/whisper-small", "Systran/faster-whisper-small", _arch(768, 12, 12, 12)
        ),
        _spec(
            "small.en",
            "openai/whisper-small.en",
            "Systran/faster-whisper-small.en",
            _arch(768, 12, 12, 12, vocab=_EN_VOCAB),
        ),
        _spec(
            "medium",
            "openai/whisper-medium",
            "Systran/faster-whisper-medium",
            _arch(1024, 24, 24, 16),
        ),
        _spec(
            "medium.en",
            "openai/whisper-medium.en",
            "Systran/faster-whisper-medium.en",
            _arch(1024, 24, 24, 16, vocab=_EN_VOCAB),
        ),
        _spec(
            "large",
            "openai/whisper-large-v3-turbo",
            "mobiuslabsgmbh/faster-whisper-large-v3-turbo",
            _arch(1280, 32, 4, 20, mels=128, vocab=_V3_VOCAB),
        ),
        _spec(
            "large-v2",
            "openai/whisper-large-v2",
            "Systran/faster-whisper-large-v2",
            _arch(1280, 32, 32, 20),
        ),
        _spec(
            "large-v3",
            "openai/whisper-large-v3",
            "Systran/faster-whisper-large-v3",
            _arch(1280, 32, 32, 20, mels=128, vocab=_V3_VOCAB),
        ),
    )
}

DEFAULT_MODEL = "tiny.en"


def model_names() -> list[str]:
    return list(MODELS)


def get_model(name: str) -> ModelSpec:
    """The spec for ``name``; an unknown name lists every valid one."""
    try:
        return MODELS[name]
    except KeyError:
        raise UnknownModelError(
            f"unknown model size {name!r}; valid sizes are: {', '.join(MODELS)}"
        ) from None


def parse_model_list(value: str) -> list[str]:
    """``"tiny.en,base"`` or ``"all"`` -> validated size names, in the order given."""
    if value.strip() == "all":
        return model_names()
    names = [part.strip() for part in value.split(",") if part.strip()]
    if not names:
        raise UnknownModelError(f"no model size given; valid sizes are: {', '.join(MODELS)}")
    for name in names:
        get_model(name)
    return names
