"""The "insanely fast whisper" recipe, cross-platform: the transformers ASR pipeline with SDPA
attention, fp16 on GPUs, batched chunked decoding, and 4-bit weights only where they work."""

from __future__ import annotations

import importlib.util
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from whisperbench import apple, mps
from whisperbench.audio import SAMPLE_RATE
from whisperbench.devices import (
    PhaseClock,
    dtype_name,
    memory_info,
    resolve_dtype,
    set_mps_watermark,
    synchronize,
)
from whisperbench.errors import DeviceOutOfMemoryError
from whisperbench.implementations.base import (
    FirstText,
    ImplementationOptions,
    ModelInfo,
    Segment,
    TranscriptionResult,
    WeightsNeed,
    WhisperImplementation,
    Word,
    words_of_segments,
)
from whisperbench.implementations.compiled import CompiledOrAsWritten
from whisperbench.implementations.greedy import (
    DecodeRules,
    StaticGreedyDecoder,
    can_compile_step,
    make_room_for_shapes,
    prompt_ids,
    share_qkv_storage,
)
from whisperbench.implementations.reported import decoded_language
from whisperbench.implementations.synthetic import TOKENIZER_DONOR, synthetic_model
from whisperbench.implementations.windows import (
    CHUNK_LENGTH_S,
    Piece,
    Window,
    gather,
    log_mel,
    quiet_windows,
    window_batch,
)
from whisperbench.models import Architecture, get_model

GiB = 2**30
MiB = 2**20
CPU_BATCH_SIZE = 8
MAX_BATCH = 64
CUDA_MIN_BATCH = 8
MEMORY_SHARE = 0.5
"""Share of a GPU's free memory that batched windows may take (the rest: allocator slack,
the pipeline's own buffers)."""
CPU_ENCODER_ROWS = 1
"""Windows per encoder call on the CPU (``TransformersPipeline.encoder_rows``)."""
QUANTIZATIONS = ("none", "4bit", "int8")
INT8_SCOPE = "int8-dynamic (decoder layers)"
MAX_TOKENS_PER_SECOND = 7
"""Fast English speech is about 5 tokens a second; a window past 7 a second is a repetition
loop that would otherwise run to Whisper's 448-token limit and hold its whole batch."""
MIN_NEW_TOKENS = 16
"""The budget of a window of a second or two: a short word or two needs a few tokens."""
LONG_FORM_METHOD = "pause-cut windows (0.1 s quiet throughout), no overlap, text only"
"""Told apart from the earlier ``quiet-cut windows, no overlap, text only`` (the 0.1 s of least
mean energy) in saved runs' parameters, so that a change of method is not read as a regression."""


def max_new_tokens_for(seconds: float) -> int:
    """A window's token budget: 7 tokens a second of its audio, at least 16."""
    return max(MIN_NEW_TOKENS, math.ceil(seconds * MAX_TOKENS_PER_SECOND))


ENCODER_POSITIONS = 1500
DECODER_POSITIONS = 448
FLOAT32_BYTES = 4
MATERIALISED_ATTENTION = ("mps",)
"""Devices whose SDPA may hold a window's whole encoder attention matrix. On MPS, torch's
MPSGraph path (``sdpa_general_mps`` in ``aten/src/ATen/native/mps/operations/Attention.mm``)
multiplies Q by K^T, casts the scores to float32 for the scale and the softmax, and returns the
attention weights as a second tensor of [batch, heads, 1500, 1500] in the query's dtype. pytorch
main (read at 00a5f92) routes long queries with head dim 64 to a prefill kernel that holds no
such matrix, but the releases the MPS path supports (torch 2.5 on) may not have it, so the budget
counts it on every torch. CUDA's flash and memory-efficient kernels never materialise it, and the
CPU's batch is fixed (``CPU_BATCH_SIZE``)."""


def attention_bytes(arch: Architecture, dtype_bytes: int) -> int:
    """One window's encoder attention matrix as MPS's SDPA holds it: heads x 1500 x 1500 scores
    in float32 for the softmax, and the weights it returns in the model's dtype (tiny in
    float16: 54 MB + 27 MB; large-v3: 180 MB + 90 MB). One layer's at a time: each is freed
    before the next layer's."""
    scores = arch.attention_heads * ENCODER_POSITIONS**2
    return scores * (FLOAT32_BYTES + dtype_bytes)


def window_bytes(arch: Architecture, dtype_bytes: int, device: str) -> int:
    """Memory one 30 s window needs while decoding on ``device``: the self- and
    cross-attention KV caches (448 + 1500 positions per decoder layer), the widest encoder
    activation, and, where SDPA materialises it (``MATERIALISED_ATTENTION``), the encoder's
    attention matrix (``attention_bytes``). The whole batch is encoded at once off the CPU."""
    kv = 2 * arch.decoder_layers * (DECODER_POSITIONS + ENCODER_POSITIONS) * arch.d_model
    encoder = ENCODER_POSITIONS * arch.ffn_dim * 2
    attention = attention_bytes(arch, dtype_bytes) if device in MATERIALISED_ATTENTION else 0
    return (kv + encoder) * dtype_bytes + attention


def choose_batch_size(device: str, free_bytes: int, arch: Architecture, dtype_bytes: int) -> int:
    """Batch size from the device and its free memory.

    cpu: a fixed 8 (on 2 cores tiny.en on the long clip ran at RTFx 14.8 with 1, 20.6 with 4
    and 23.7 with 8: batching spreads the per-step cost of the vocabulary projection).
    cuda and mps: as many windows as fit in half the free memory (``window_bytes``), at most
    64; at least 8 on CUDA (a batch that does not fit there fails with a clear out-of-memory
    error). On MPS the free memory is the recommended working set's (``devices.memory_info``),
    and a model whose one window does not fit is refused here, before unified memory swaps.
    """
    if device == "cpu":
        return CPU_BATCH_SIZE
    per_window = window_bytes(arch, dtype_bytes, device)
    fitting = int(free_bytes * MEMORY_SHARE) // per_window
    if device == "mps":
        if fitting < 1:
            raise DeviceOutOfMemoryError(
                f"one 30 s window needs about {per_window / MiB:.0f} MiB on mps for this model "
                f"and {dtype_bytes * 8}-bit weights, but only {free_bytes / MiB:.0f} MiB of the "
                "recommended Metal working set is free (half of it goes to windows). "
                "Fix: a smaller model, closing other GPU work, or --device cpu"
            )
        return min(MAX_BATCH, fitting)
    return max(CUDA_MIN_BATCH, min(MAX_BATCH, fitting))


@dataclass(frozen=True)
class QuantizationDecision:
    applied: str
    reason: str | None


FOUR_BIT_DEVICES = ("cuda", "cpu")
"""Where whisperbench applies bitsandbytes 4-bit layers: CUDA, and the CPU (checked with
bitsandbytes 0.50.2: nf4 tiny.en transcribes the reference clips; without its optional
``kernels`` package it dequantises in plain torch, about 8x slower than float32 here)."""
MPS_FOUR_BIT_NOTE = (
    "4-bit requested but not applied on mps: bitsandbytes 0.50 registers MPS 4-bit kernels "
    "(bitsandbytes/backends/mps/ops.py; pure PyTorch below macOS 26), but no Mac has run "
    "whisperbench's 4-bit path, so it is not offered there; running unquantised on mps"
)
"""Why 4-bit is not applied on MPS: not that bitsandbytes lacks MPS kernels (it has them)."""
FOUR_BIT_TYPE = "nf4"
FOUR_BIT_PACKAGES = "bitsandbytes and accelerate"


def decide_quantization(
    requested: str, device: str, bitsandbytes_installed: bool
) -> QuantizationDecision:
    """4-bit (nf4) weights need bitsandbytes (with accelerate) on CUDA or the CPU; int8 (torch's
    dynamic quantisation of the decoder layers' linear layers) runs on the CPU only. Anywhere
    else the request is dropped, and the decision says why."""
    if requested not in QUANTIZATIONS:
        raise ValueError(
            f"unknown quantization {requested!r}; choose one of {', '.join(QUANTIZATIONS)}"
        )
    if requested == "none":
        return QuantizationDecision("none", None)
    if requested == "int8":
        if device == "cpu":
            return QuantizationDecision("int8", None)
        return QuantizationDecision(
            "none",
            "int8 requested but dynamic int8 quantisation runs on the CPU only; "
            f"running unquantised on {device}",
        )
    if device == "mps":
        return QuantizationDecision("none", MPS_FOUR_BIT_NOTE)
    if device not in FOUR_BIT_DEVICES:
        return QuantizationDecision(
            "none",
            "4-bit requested but whisperbench applies bitsandbytes 4-bit on CUDA and the CPU "
            f"only; running unquantised on {device}",
        )
    if not bitsandbytes_installed:
        return QuantizationDecision(
            "none",
            f"4-bit requested but bitsandbytes or accelerate is not installed (4-bit needs "
            f"{FOUR_BIT_PACKAGES}: pip install whisperbench[quantization])",
        )
    return QuantizationDecision("4bit", None)


def four_bit_installed() -> bool:
    """bitsandbytes and accelerate (which transformers needs to place 4-bit layers)."""
    return all(
        importlib.util.find_spec(name) is not None for name in ("bitsandbytes", "accelerate")
    )


def quantize_int8(model: Any) -> None:
    """Dynamic int8 for the decoder layers' linear layers. The encoder and the vocabulary
    projection stay in float: quantising them too was 1.5x faster on tiny.en but raised WER on
    the long reference clip from 10.5% to 22.9%; the decoder layers alone cost 0.2 points."""
    model.model.decoder.layers = torch.ao.quantization.quantize_dynamic(  # type: ignore[no-untyped-call]
        model.model.decoder.layers, {torch.nn.Linear}, dtype=torch.qint8
    )


def applied_quantization(model: Any) -> str:
    """The quantisation the loaded model really carries, read off its modules: 4-bit only when
    its linear layers are bitsandbytes ``Linear4bit`` (``4bit (nf4, bitsandbytes 0.50.2)``)."""
    modules = list(model.modules())
    if any(type(module).__module__.startswith("bitsandbytes") for module in modules):
        import bitsandbytes

        four_bit: Any = bitsandbytes.nn.Linear4bit  # type: ignore[attr-defined]
        kinds = sorted(
            {
                str(getattr(module.weight, "quant_type", "?"))
                for module in modules
                if isinstance(module, four_bit)
            }
        )
        if kinds:
            return f"4bit ({'/'.join(kinds)}, bitsandbytes {bitsandbytes.__version__})"
    dynamic_linear = torch.ao.nn.quantized.dynamic.Linear
    if any(isinstance(module, dynamic_linear) for module in modules):
        return INT8_SCOPE
    return "none"


def language_batches(
    pieces: list[Piece], languages: Sequence[str | None], size: int
) -> list[list[Piece]]:
    """``pieces`` in batches of at most ``size``, a new batch wherever the language changes
    (the decoder's prompt is one per batch)."""
    batches: list[list[Piece]] = []
    for piece in pieces:
        last = batches[-1] if batches else None
        if (
            last is None
            or len(last) == size
            or languages[last[0].utterance] != languages[piece.utterance]
        ):
            batches.append([piece])
        else:
            last.append(piece)
    return batches


def segments_of(output: dict[str, Any]) -> list[Segment]:
    """The pipeline's timestamped chunks as segments."""
    return [
        Segment(start=chunk["timestamp"][0], end=chunk["timestamp"][1], text=chunk["text"])
        for chunk in output.get("chunks") or []
    ]


class TransformersReference(WhisperImplementation):
    """The plain insanely-fast-whisper recipe, kept as the yardstick for our own implementation:
    ``pipe(audio, chunk_length_s=30, batch_size=24)`` on an fp16 SDPA pipeline, nothing else."""

    name = "transformers-reference"
    weights_format = "transformers"
    package = "transformers"
    packages = ("transformers", "bitsandbytes", "accelerate")
    """With the 4-bit weights' libraries (``--quantization 4bit``)."""
    supports_synthetic = True
    yardstick = True
    batches_utterances = True
    takes_batch_size = True
    recipe_batch_size = 24

    pipe: Any = None
    quantization: QuantizationDecision = QuantizationDecision("none", None)
    batch_size: int = CPU_BATCH_SIZE
    chunk_length_s: float = CHUNK_LENGTH_S
    detected_language: str | None = None
    """The language(s) the last call decoded in (``reported.decoded_language``)."""
    mps_watermark: ClassVar[mps.Watermark] = mps.WHISPERBENCH
    """The MPS allocator limit it runs under unless ``PYTORCH_MPS_HIGH_WATERMARK_RATIO`` is set
    (``allocator_watermark``); the seed's recipe runs under torch's default."""

    @classmethod
    def allocator_watermark(cls, device: str, environ: Mapping[str, str]) -> mps.Watermark | None:
        """The MPS allocator's high watermark this engine loads and runs under on ``device``
        (None off MPS): the user's environment variable, else the engine's own."""
        return mps.watermark(environ, cls.mps_watermark) if device == "mps" else None

    @classmethod
    def weights_needed(cls, size: str, options: ImplementationOptions) -> WeightsNeed:
        """Synthetic runs read only the tokenizer and generation config, from a donor size."""
        if not options.synthetic_tokens:
            return super().weights_needed(size, options)
        return WeightsNeed(TOKENIZER_DONOR, cls.weights_format)

    def _load(self, info: ModelInfo, snapshot: Path) -> None:
        self.pipe = self._build_pipeline(info, snapshot)
        self.batch_size = self.options.batch_size or self.recipe_batch_size
        self.chunk_length_s = CHUNK_LENGTH_S

    def load_dtype(self) -> torch.dtype:
        """The dtype the pipeline loads in: ``--dtype``, else the device's default."""
        return resolve_dtype(self.device, self.options.dtype)

    def requested_quantization(self) -> str:
        return self.options.quantization

    def quantization_decision(self) -> QuantizationDecision:
        """What quantisation the load applies (``decide_quantization``), and why not."""
        return decide_quantization(self.requested_quantization(), self.device, four_bit_installed())

    def bits_and_bytes_options(self, dtype: torch.dtype) -> dict[str, Any]:
        """``BitsAndBytesConfig``'s arguments when 4-bit weights are applied."""
        return {
            "load_in_4bit": True,
            "bnb_4bit_quant_type": FOUR_BIT_TYPE,
            "bnb_4bit_compute_dtype": dtype,
        }

    def _build_pipeline(self, info: ModelInfo, snapshot: Path) -> Any:
        from transformers import pipeline

        mark = self.allocator_watermark(self.device, os.environ)
        if mark is not None:
            set_mps_watermark(mark)
        dtype = self.load_dtype()
        self.quantization = self.quantization_decision()
        model_kwargs: dict[str, Any] = {
            "attn_implementation": "sdpa",
            "use_cache": True,
            "low_cpu_mem_usage": True,
        }
        device_arg: str | None = self.device
        if self.quantization.applied == "4bit":
            from transformers import BitsAndBytesConfig

            model_kwargs["quantization_config"] = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
                **self.bits_and_bytes_options(dtype)
            )
            model_kwargs["device_map"] = {"": 0 if self.device == "cuda" else "cpu"}
            device_arg = None  # accelerate places a quantised model; the pipeline must not move it
        if self.options.synthetic_tokens:
            from transformers import WhisperFeatureExtractor

            arch = get_model(info.size).architecture
            return pipeline(
                "automatic-speech-recognition",
                model=synthetic_model(info.size, dtype, self.device, str(snapshot)),
                tokenizer=str(snapshot),
                feature_extractor=WhisperFeatureExtractor(  # type: ignore[no-untyped-call]
                    feature_size=arch.num_mel_bins
                ),
                dtype=dtype,
                device=self.device,
            )
        pipe = pipeline(
            "automatic-speech-recognition",
            model=str(snapshot),
            dtype=dtype,
            device=device_arg,
            model_kwargs=model_kwargs,
        )
        if self.quantization.applied == "int8":
            quantize_int8(pipe.model)
        return pipe

    @property
    def timestamps(self) -> bool:
        """Timestamp mode, as insanely-fast-whisper runs it: without timestamps, Whisper often
        ends a window that starts mid-sentence after one word (seen here on half the windows
        of the long reference clip with tiny.en). Synthetic runs decode text tokens only: one
        pass of exactly the asked-for number of tokens per window."""
        return not self.options.synthetic_tokens

    def english_prompt(self, info: ModelInfo) -> bool:
        """English-only models, and synthetic runs (they borrow tiny.en's tokenizer), decode
        without language and task tokens."""
        return info.english_only or bool(self.options.synthetic_tokens)

    def forced_language(self, info: ModelInfo) -> str | None:
        """The language the decoder is given (None: the model detects it)."""
        return "en" if self.english_prompt(info) else self.options.language

    def _prompt_kwargs(self, info: ModelInfo) -> dict[str, Any]:
        """``generate``'s task and language (multilingual models only), and the exact token
        count of synthetic runs."""
        kwargs: dict[str, Any] = {}
        if not self.english_prompt(info):
            kwargs["task"] = "transcribe"
            if self.options.language:
                kwargs["language"] = self.options.language
        if self.options.synthetic_tokens:
            kwargs["min_new_tokens"] = kwargs["max_new_tokens"] = self.options.synthetic_tokens
        return kwargs

    def _generate_kwargs(self, info: ModelInfo) -> dict[str, Any]:
        return {
            "num_beams": self.options.beam_size,
            "return_timestamps": self.timestamps,
            **self._prompt_kwargs(info),
        }

    def _call_options(self) -> dict[str, Any]:
        """The pipeline call's options besides the audio and ``generate_kwargs``."""
        return {
            "batch_size": self.batch_size,
            "chunk_length_s": self.chunk_length_s,
            "return_timestamps": self.timestamps,
        }

    def _run_pipeline(self, audio: np.ndarray, info: ModelInfo) -> dict[str, Any]:
        """The pipeline's output for ``audio``, all device work finished."""
        output: dict[str, Any] = self.pipe(
            {"raw": audio, "sampling_rate": SAMPLE_RATE},
            **self._call_options(),
            generate_kwargs=self._generate_kwargs(info),
        )
        synchronize(self.device)
        return output

    def _result(self, info: ModelInfo, output: dict[str, Any]) -> TranscriptionResult:
        """The transcription in one of the pipeline's outputs, in the language the decoder was
        given (None where it detected one: this recipe asks the pipeline for no language)."""
        return TranscriptionResult(
            text=str(output["text"]).strip(),
            language=self.forced_language(info),
            segments=segments_of(output),
        )

    def transcribe(self, audio: np.ndarray) -> TranscriptionResult:
        info = self.require_loaded()
        result = self._result(info, self._run_pipeline(audio, info))
        self.detected_language = decoded_language([result])
        return result

    def transcribe_batch(self, audios: Sequence[np.ndarray]) -> list[TranscriptionResult]:
        """The pipeline's own batching over many inputs: the same call as ``_run_pipeline``'s,
        given a generator of inputs; it cuts each into its chunks and decodes ``batch_size``
        chunks at a time, whichever utterances they come from."""
        info = self.require_loaded()
        inputs = ({"raw": audio, "sampling_rate": SAMPLE_RATE} for audio in audios)
        outputs = self.pipe(
            inputs, **self._call_options(), generate_kwargs=self._generate_kwargs(info)
        )
        results = []
        for done, output in enumerate(outputs, start=1):
            results.append(self._result(info, output))
            self.report_progress(done, len(audios), "utterances")
        synchronize(self.device)
        self.detected_language = decoded_language(results)
        return results

    def get_params(self) -> dict[str, Any]:
        info = self.require_loaded()
        model = self.pipe.model
        first = next(model.parameters())
        mark = self.allocator_watermark(first.device.type, os.environ)
        return {
            "implementation": self.name,
            "model": info.size,
            "repo_id": info.repo_id,
            "weights": "synthetic" if self.options.synthetic_tokens else "real",
            "synthetic_tokens_per_window": self.options.synthetic_tokens,
            "device": first.device.type,
            "dtype": dtype_name(model.dtype),
            "attention": model.config._attn_implementation,
            "quantization": applied_quantization(model),
            "quantization_note": self.quantization.reason,
            "batch_size": self.batch_size,
            "chunk_length_s": self.chunk_length_s,
            "beam_size": self.options.beam_size,
            "task": None if self.english_prompt(info) else "transcribe",
            "language": self.detected_language or self.forced_language(info),
            "vad": False,
            "threads": torch.get_num_threads() if first.device.type == "cpu" else None,
            "cpu_fallback": mps.cpu_fallback_note(first.device.type, os.environ),
            "mps_watermark": None if mark is None else mark.describe(),
        }

    def cleanup(self) -> None:
        """Release the pipeline; on MPS, give the allocator back the session's watermark."""
        self.pipe = None
        if self.device == "mps":
            set_mps_watermark(mps.watermark(os.environ))
        super().cleanup()


class TransformersPipeline(TransformersReference):
    """Our "insanely fast" implementation: the same loaded pipeline (model, tokenizer, feature
    extractor), but long audio is cut into windows of at most 30 s that end at quiet points and
    do not overlap (``windows.quiet_windows``, faster-whisper's long-form method), turned into
    log-mel features on the device a batch at a time, decoded text-only in batches sized to free
    memory by the static greedy decoder (``greedy.py``: one CUDA graph per step on CUDA), and
    joined. Nothing is merged, so nothing can be printed twice. Many utterances
    (``transcribe_batch``) go the same way, the windows of several utterances in each batch."""

    name = "transformers"
    yardstick = False
    decoders: dict[tuple[int, str | None], StaticGreedyDecoder]
    swept_shapes: set[int]
    """The batch sizes a batch sweep has run (``use_batch_size``)."""
    macos_version: str | None = None
    """Read at load: MPS computes the features on the CPU before macOS 14 (``mps.py``)."""

    @property
    def timestamps(self) -> bool:
        """Text tokens only: windows start and end in pauses, so no window needs timestamps
        to be continued or merged (tiny.en, 329 s clip: WER 9.9% text-only, 12.3% with
        timestamps and Whisper's seek inside each window)."""
        return False

    def _load(self, info: ModelInfo, snapshot: Path) -> None:
        self.decoders = {}
        self.swept_shapes = set()
        self.macos_version = apple.macos_version()
        self.pipe = self._build_pipeline(info, snapshot)
        share_qkv_storage(self.pipe.model)  # the step's fused q/k/v weight is the model's own
        encoder = self.pipe.model.model.encoder
        self.encode = CompiledOrAsWritten(
            lambda features: encoder(features).last_hidden_state, enabled=self.compiles_step
        )
        """The encoder as ``_decode`` calls it: compiled wherever the step is (on an H100,
        synthetic large-v3 on 24 windows: 172 ms as written, 125 ms compiled, which takes
        34 s in the first call)."""
        self.chunk_length_s = CHUNK_LENGTH_S
        dtype = self.pipe.model.dtype
        self.batch_size = self.options.batch_size or choose_batch_size(
            self.device,
            memory_info(self.device).free_bytes,
            get_model(info.size).architecture,
            torch.finfo(dtype).bits // 8,
        )

    def _generate_kwargs(self, info: ModelInfo) -> dict[str, Any]:
        kwargs = super()._generate_kwargs(info)
        if not self.options.synthetic_tokens:
            kwargs["max_new_tokens"] = max_new_tokens_for(self.chunk_length_s)
        return kwargs

    def _token_limits(self, windows: list[Window]) -> list[int] | None:
        """Each window's own token budget (synthetic runs decode exactly their count)."""
        if self.options.synthetic_tokens:
            return None
        return [max_new_tokens_for(window.seconds) for window in windows]

    def _decode(
        self,
        info: ModelInfo,
        features: torch.Tensor,
        windows: list[Window],
        decoder_rows: int,
        kwargs: dict[str, Any],
    ) -> list[list[int]]:
        """Text tokens for one batch of windows: our static greedy decoder (built for
        ``decoder_rows`` windows, so that every batch of a call shares it), or ``generate``
        for beam search (which the static decoder does not do)."""
        model = self.pipe.model
        if self.options.beam_size != 1:
            return model.generate(input_features=features, **kwargs).tolist()  # type: ignore[no-any-return]
        decoder = self._decoder(info, decoder_rows, kwargs)
        step = self.encoder_rows or len(features)
        encoded = torch.cat(
            [self.encode(features[row : row + step]) for row in range(0, len(features), step)]
        )
        return decoder.decode(encoded, self._token_limits(windows)).tolist()  # type: ignore[no-any-return]

    @property
    def encoder_rows(self) -> int | None:
        """Windows per encoder call: one at a time on the CPU, the whole batch elsewhere. On
        the CPU a batch of windows encodes slower than the same windows one by one (tiny.en,
        one thread, 8 windows: 6.7-8.3 s batched, 5.3-5.4 s one by one: the activations of one
        window stay in the cache), while the decoder gains from the batch."""
        return CPU_ENCODER_ROWS if self.device == "cpu" else None

    @property
    def uses_cuda_graph(self) -> bool:
        return self.device == "cuda" and self.options.cuda_graphs

    @property
    def compiles_step(self) -> bool:
        """The step is fused by ``torch.compile`` where it is then captured as a CUDA graph
        (``greedy.can_compile_step``), unless ``--no-compile-step`` (or ``--no-cuda-graphs``);
        the encoder is compiled there too."""
        return self.uses_cuda_graph and self.options.compile_step and can_compile_step(self.device)

    def _compile_note(self) -> str:
        """What compiling the step did: fused it, or failed (the step then ran as written)."""
        if not self.compiles_step:
            return ""
        failures = {d.compile_error for d in self.decoders.values() if d.compile_error}
        failures |= {self.encode.error} if self.encode.error else set()
        if failures:
            return f" (torch.compile failed, ran as written: {sorted(failures)[0]})"
        return " + torch.compile (inductor: the step and the encoder)"

    def _decoder(self, info: ModelInfo, rows: int, kwargs: dict[str, Any]) -> StaticGreedyDecoder:
        """One decoder (buffers, CUDA graph) per batch shape and language, built on first use."""
        language = None if self.english_prompt(info) else kwargs.get("language")
        key = (rows, language)
        if key not in self.decoders:
            model = self.pipe.model
            config = model.generation_config
            self.decoders.clear()  # keep one set of static buffers, not one per clip length
            self.decoders[key] = StaticGreedyDecoder(
                model,
                batch=rows,
                prompt=prompt_ids(config, language, None if language is None else "transcribe"),
                max_new_tokens=kwargs["max_new_tokens"],
                rules=DecodeRules.from_generation_config(config),
                min_new_tokens=kwargs.get("min_new_tokens", 0),
                use_cuda_graph=self.uses_cuda_graph,
                compile_step=self.compiles_step,
            )
        return self.decoders[key]

    def _languages(
        self, info: ModelInfo, audios: Sequence[np.ndarray], plans: list[list[Window]]
    ) -> list[str | None]:
        """Each utterance's language. English-only models speak English; otherwise the given
        language, or the one the model detects on the utterance's first window (then forced on
        every window of it, so that one window cannot switch language mid-recording). Detection
        encodes each first window once more, alone or in a batch alike."""
        if self.english_prompt(info):
            return ["en"] * len(audios)
        if self.options.language:
            return [self.options.language] * len(audios)
        firsts = [Piece(u, plan[0]) for u, plan in enumerate(plans)]
        found: list[str | None] = []
        for start in range(0, len(firsts), self.batch_size):
            features = self._features(audios, firsts[start : start + self.batch_size])
            token_ids = self.pipe.model.detect_language(features).reshape(-1).tolist()
            tokens = self.pipe.tokenizer.convert_ids_to_tokens([int(t) for t in token_ids])
            found += [str(token).strip("<|>") for token in tokens]
        return found

    def _features(self, audios: Sequence[np.ndarray], pieces: list[Piece]) -> torch.Tensor:
        """Log-mel features of a batch of pieces, computed on the model's device (on MPS
        before macOS 14, on the CPU: ``mps.feature_device``)."""
        model, extractor = self.pipe.model, self.pipe.feature_extractor
        feature_device = mps.feature_device(self.device, self.macos_version)
        wave, windows = gather(audios, pieces, feature_device)
        batch = window_batch(wave, windows, extractor.n_samples)
        return log_mel(batch, extractor.mel_filters).to(model.device, model.dtype)

    @torch.inference_mode()
    def transcribe(self, audio: np.ndarray) -> TranscriptionResult:
        """One clip: its windows, in order, ``batch_size`` at a time; progress in windows."""
        results, laps = self._transcribe_windows([audio], across_utterances=False)
        results[0].timings = laps
        return results[0]

    @torch.inference_mode()
    def transcribe_batch(self, audios: Sequence[np.ndarray]) -> list[TranscriptionResult]:
        """Many utterances: the windows of all of them decoded ``batch_size`` at a time (a short
        utterance is one window, so a batch holds many utterances), the longest utterances
        first so that the rows of a batch end at about the same step; progress in utterances."""
        results, _ = self._transcribe_windows(audios, across_utterances=True)
        return results

    def _transcribe_windows(
        self, audios: Sequence[np.ndarray], *, across_utterances: bool
    ) -> tuple[list[TranscriptionResult], dict[str, float]]:
        """The one path of both: quiet-cut windows of every utterance, log-mel features per
        batch on the device, the static greedy decoder (the rows of a batch share a language),
        and the windows' texts joined per utterance. Returns the results and the seconds per
        phase."""
        info = self.require_loaded()
        clock = PhaseClock(self.device)
        plans = [quiet_windows(audio, self.chunk_length_s) for audio in audios]
        languages = self._languages(info, audios, plans)
        clock.lap("language")
        order = list(range(len(audios)))
        if across_utterances:
            order.sort(key=lambda u: -len(audios[u]))
        order.sort(key=lambda u: str(languages[u]))  # stable: one language after another
        pieces = [Piece(u, window) for u in order for window in plans[u]]
        kwargs = self._generate_kwargs(info)
        decoder_rows = min(self.batch_size, len(pieces))
        tokens: list[list[int]] = []
        left = [len(plan) for plan in plans]
        for batch in language_batches(pieces, languages, self.batch_size):
            features = self._features(audios, batch)
            clock.lap("features")
            if not self.english_prompt(info):
                kwargs["language"] = languages[batch[0].utterance]
            windows = [piece.window for piece in batch]
            tokens += self._decode(info, features, windows, decoder_rows, kwargs)
            clock.lap("generate")
            for piece in batch:
                left[piece.utterance] -= 1
            if across_utterances:
                self.report_progress(left.count(0), len(audios), "utterances")
            else:
                self.report_progress(len(tokens), len(pieces), "windows")
        texts = self.pipe.tokenizer.batch_decode(tokens, skip_special_tokens=True)
        segments: list[list[Segment]] = [[] for _ in audios]
        for piece, text in zip(pieces, texts, strict=True):  # an utterance's pieces in order
            window = piece.window
            segments[piece.utterance].append(
                Segment(window.start / SAMPLE_RATE, window.end / SAMPLE_RATE, text.strip())
            )
        results = [
            TranscriptionResult(
                text=" ".join(segment.text for segment in parts if segment.text),
                language=language,
                segments=parts,
            )
            for parts, language in zip(segments, languages, strict=True)
        ]
        clock.lap("merge")
        self.detected_language = decoded_language(results)
        return results, clock.laps

    takes_prompt = True
    MAX_PROMPT_TOKENS = 223
    """Whisper's limit on previous-text tokens: half the decoder's 448 positions, less one."""

    def _window_decoder(self, info: ModelInfo, prompt: list[int], max_new: int) -> Any:
        """A batch-1 static greedy decoder for one window after ``prompt`` (no CUDA graph:
        the prompt changes from call to call)."""
        config = self.pipe.model.generation_config
        return StaticGreedyDecoder(
            self.pipe.model,
            batch=1,
            prompt=prompt,
            max_new_tokens=max_new,
            rules=DecodeRules.from_generation_config(config),
            use_cuda_graph=False,
        )

    def _window_prompt(self, info: ModelInfo, audio: np.ndarray, text: str | None) -> list[int]:
        """``<|startofprev|>`` and the last ``MAX_PROMPT_TOKENS`` tokens of ``text`` (when
        given), then the decoder prompt for text-only output in the window's language."""
        plan = quiet_windows(audio, self.chunk_length_s)[:1]
        language = self._languages(info, [audio], [plan])[0]
        config = self.pipe.model.generation_config
        ids = prompt_ids(
            config,
            None if self.english_prompt(info) else language,
            None if self.english_prompt(info) else "transcribe",
        )
        if not text:
            return ids
        tokenizer = self.pipe.tokenizer
        previous = tokenizer.encode(" " + text.strip(), add_special_tokens=False)
        start = int(tokenizer.convert_tokens_to_ids("<|startofprev|>"))
        return [start, *previous[-self.MAX_PROMPT_TOKENS :], *ids]

    def _encode_window(self, audio: np.ndarray) -> torch.Tensor:
        """The encoder states of ``audio`` as one window (at most 30 s)."""
        if len(audio) > self.chunk_length_s * SAMPLE_RATE:
            raise ValueError(
                f"a streaming buffer is one window of at most {self.chunk_length_s} s; "
                f"got {len(audio) / SAMPLE_RATE:.1f} s"
            )
        features = self._features([audio], [Piece(0, Window(0, len(audio)))])
        encoded: torch.Tensor = self.pipe.model.model.encoder(features).last_hidden_state
        return encoded

    @torch.inference_mode()
    def transcribe_words(self, audio: np.ndarray, prompt: str | None = None) -> list[Word]:
        """The buffer as one window, decoded by the static greedy decoder after ``prompt``
        (``<|startofprev|>``, as openai-whisper's ``initial_prompt``). Text tokens only: the
        words are spread over the window (``timed`` False), good to a few seconds."""
        info = self.require_loaded()
        if not len(audio):
            return []
        ids = self._window_prompt(info, audio, prompt)
        seconds = len(audio) / SAMPLE_RATE
        decoder = self._window_decoder(info, ids, max_new_tokens_for(seconds))
        tokens = decoder.decode(self._encode_window(audio)).tolist()
        text = self.pipe.tokenizer.batch_decode(tokens, skip_special_tokens=True)[0]
        synchronize(self.device)
        return words_of_segments([Segment(0.0, seconds, text.strip())], seconds)

    @torch.inference_mode()
    def first_text(self, audio: np.ndarray) -> FirstText:
        """The whole transcript as ``transcribe`` makes it; the first token timed in a call of
        its own: the first window's features, encoder and one step of a batch-1 decoder (our
        decoder hands out no text before a batch ends, but this is when its first token
        exists)."""
        info = self.require_loaded()
        start = time.perf_counter()
        result = self.transcribe(audio)
        total = time.perf_counter() - start
        first_window = audio[: quiet_windows(audio, self.chunk_length_s)[0].end]
        start = time.perf_counter()
        ids = self._window_prompt(info, first_window, None)
        decoder = self._window_decoder(info, ids, 1)
        decoder.decode(self._encode_window(first_window))
        synchronize(self.device)
        first = time.perf_counter() - start
        how = (
            "first token: the first window's features, encoder and one decoding step, "
            "timed in a call of its own (batch 1, as written); the whole transcript's time "
            "where that came sooner (the batched decoder's CUDA graph on a short clip)"
        )
        return FirstText(min(first, total), total, how, result, at_end=False)

    def use_batch_size(self, batch_size: int | None) -> None:
        """As any engine's; each new batch shape also gets room among the compiled step's
        shapes (``greedy.make_room_for_shapes``), so that a sweep's larger batches are timed
        compiled, as its smaller ones were, not as written past dynamo's recompile limit."""
        super().use_batch_size(batch_size)
        if batch_size is not None and self.compiles_step:
            self.swept_shapes.add(batch_size)
            make_room_for_shapes(len(self.swept_shapes))

    def cleanup(self) -> None:
        self.decoders.clear()  # static buffers and CUDA graphs hold device memory
        super().cleanup()

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        params["max_new_tokens"] = self._generate_kwargs(self.require_loaded()).get(
            "max_new_tokens"
        )
        params["max_tokens_per_second"] = (
            None if self.options.synthetic_tokens else MAX_TOKENS_PER_SECOND
        )
        params["long_form"] = LONG_FORM_METHOD
        params["timestamps"] = self.timestamps
        params["features"] = mps.features_note(params["device"], self.macos_version)
        params["encoder_rows"] = self.encoder_rows or self.batch_size
        params["decoder"] = (
            "generate (beam search)"
            if self.options.beam_size != 1
            else "static greedy"
            + self._compile_note()
            + (" + CUDA graph" if self.uses_cuda_graph else "")
        )
        return params
