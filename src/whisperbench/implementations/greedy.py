"""Greedy Whisper decoding of text tokens with a static KV cache, one CUDA graph per step.

``transformers``' ``generate`` spends most of a step in Python: cache bookkeeping and the
logits processors. Here a step is a fixed set of tensor operations on preallocated buffers
(the self-attention cache has room for every position up front, the cross-attention keys and
values are computed once per batch), so on CUDA the whole step, token rules and choice
included, is captured once as a graph and replayed; the host looks at the device only every
few steps to see whether every row has ended.

It runs the loaded model's own modules (layer norms, projections, embeddings), so it decodes
the same tokens as ``generate`` with greedy search and ``<|notimestamps|>``; the tests check
that on the CPU. Each row may have its own token limit (``decode(..., limits=...)``), so that a
short window caught in a repetition loop stops at its own length, not at the longest one's.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch.nn import functional as F

NEG_INF = float("-inf")
CHECK_EVERY = 8
"""Steps replayed between two looks at the device for "has every row ended?"."""
SlotWrite = Literal["index_copy", "index_put"]


def can_compile_step(device_type: str) -> bool:
    """Whether a step can be fused by ``torch.compile`` (inductor) before it is captured: on
    CUDA, where inductor writes Triton kernels and Triton is installed. A step of tiny.en is
    about a hundred small kernels, each mostly launch latency on a large GPU; inductor fuses
    the layer norms, residual adds, activations and the token rules between the matrix
    products, so the captured graph holds fewer of them. Elsewhere (the CPU, MPS) the step
    runs as written: compiling there costs more than a decode gains."""
    return device_type == "cuda" and importlib.util.find_spec("triton") is not None


SHAPES_BESIDE_A_SWEEP = 8
"""Compiled shapes kept beside a batch sweep's: dynamo's own default recompile limit."""


def make_room_for_shapes(swept: int) -> None:
    """Let ``torch.compile`` keep ``swept`` batch shapes of the step besides its default
    limit's (``torch._dynamo.config.recompile_limit``, 8): past the limit a new shape runs as
    written, and a batch sweep of 1 to 128 (8 sizes) beside a transcribe case would time its
    largest batch uncompiled. The limit is only ever raised."""
    import torch._dynamo.config as dynamo_config

    wanted = swept + SHAPES_BESIDE_A_SWEEP
    if dynamo_config.recompile_limit < wanted:
        dynamo_config.recompile_limit = wanted


def slot_write_for(device_type: str) -> SlotWrite:
    """How a step writes its column into the KV caches and the token history.

    ``index_copy_`` everywhere but MPS: one kernel per write, captured in the CUDA graph.
    MPS has no ``index_copy_`` kernel before torch 2.8 (pytorch#154326), and the one added
    then ran about 100x slower than the CPU until pytorch#185750; advanced-index assignment
    (``index_put_``, what transformers' static cache falls back to on MPS) has a Metal kernel
    on every torch this project supports, so MPS never needs ``PYTORCH_ENABLE_MPS_FALLBACK``
    here. Both write the same values (the tests decode with each on the CPU)."""
    return "index_put" if device_type == "mps" else "index_copy"


@dataclass(frozen=True)
class DecodeRules:
    """The generation config's token rules for text-only transcription."""

    eos: int
    no_timestamps: int
    suppress_tokens: tuple[int, ...]
    begin_suppress_tokens: tuple[int, ...]

    @property
    def timestamp_begin(self) -> int:
        """The first timestamp token (``<|0.00|>``); timestamps are never decoded here."""
        return self.no_timestamps + 1

    @classmethod
    def from_generation_config(cls, config: Any) -> DecodeRules:
        return cls(
            eos=int(config.eos_token_id),
            no_timestamps=int(config.no_timestamps_token_id),
            suppress_tokens=tuple(getattr(config, "suppress_tokens", None) or ()),
            begin_suppress_tokens=tuple(getattr(config, "begin_suppress_tokens", None) or ()),
        )


def prompt_ids(config: Any, language: str | None, task: str | None) -> list[int]:
    """``<|startoftranscript|>`` [language] [task] ``<|notimestamps|>``: the decoder prompt
    for text-only output."""
    ids = [int(config.decoder_start_token_id)]
    if language is not None:
        lang_to_id = config.lang_to_id
        key = language if language.startswith("<|") else f"<|{language}|>"
        ids.append(int(lang_to_id[key]))
    if task is not None:
        ids.append(int(config.task_to_id[task]))
    ids.append(int(config.no_timestamps_token_id))
    return ids


def _plain_projections(attn: Any) -> tuple[Any, Any, Any] | None:
    """A self-attention's query, key and value projections, where all three are plain
    ``nn.Linear`` (None for 4-bit or int8 weights: those run as the model's own modules)."""
    projections = (attn.q_proj, attn.k_proj, attn.v_proj)
    if any(type(p) is not torch.nn.Linear for p in projections):
        return None
    return projections


def share_qkv_storage(model: Any) -> None:
    """Lay each decoder layer's self-attention query, key and value weights out as one
    ``[3 d_model, d_model]`` block, the three parameters views of it, so that the step's fused
    product (``fused_qkv``) reads them where they are instead of a copy beside them (315 MB
    on large-v3 in fp16). The values, and so the model's own forward, are unchanged."""
    with torch.no_grad():
        for layer in model.model.decoder.layers:
            projections = _plain_projections(layer.self_attn)
            if projections is None or _shared_block(projections) is not None:
                continue
            block = torch.cat([p.weight for p in projections])
            rows = projections[0].out_features
            for i, projection in enumerate(projections):
                projection.weight = torch.nn.Parameter(
                    block[i * rows : (i + 1) * rows],
                    requires_grad=projection.weight.requires_grad,
                )


def _shared_block(projections: tuple[Any, Any, Any]) -> torch.Tensor | None:
    """The ``[3 d_model, d_model]`` block the three weights are consecutive views of
    (``share_qkv_storage``), or None where they lie apart."""
    weights: list[torch.Tensor] = [p.weight.detach() for p in projections]
    first = weights[0]
    rows, cols = first.shape
    storage = first.untyped_storage().data_ptr()
    for i, weight in enumerate(weights):
        if not (
            weight.is_contiguous()
            and weight.shape == first.shape
            and weight.untyped_storage().data_ptr() == storage
            and weight.storage_offset() == first.storage_offset() + i * rows * cols
        ):
            return None
    return first.as_strided((3 * rows, cols), (cols, 1), first.storage_offset())


def fused_qkv(attn: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
    """A self-attention's query, key and value projections as one weight and one bias (the
    key has none: zeros), so that a step reads the three in one matrix product instead of
    three small ones (on a large GPU each is mostly launch latency: large-v3 at 24 windows
    spent 5.1 us in each 1280 x 1280 product, on an H100). None where a projection is not a
    plain ``nn.Linear`` (4-bit or int8 weights): those run as the model's own modules. The
    weight is the block the model's own weights are views of where ``share_qkv_storage`` laid
    them out so (ours does at load), else a copy (3 d_model^2 values a layer)."""
    projections = _plain_projections(attn)
    if projections is None:
        return None
    weight = _shared_block(projections)
    if weight is None:
        weight = torch.cat([p.weight.detach() for p in projections])
    bias = torch.cat(
        [
            p.bias.detach() if p.bias is not None else p.weight.new_zeros(p.out_features)
            for p in projections
        ]
    )
    return weight, bias


class StaticGreedyDecoder:
    """Decodes batches of ``batch`` windows of at most ``max_new_tokens`` tokens each."""

    def __init__(
        self,
        model: Any,
        batch: int,
        prompt: list[int],
        max_new_tokens: int,
        rules: DecodeRules,
        min_new_tokens: int = 0,
        use_cuda_graph: bool | None = None,
        slot_write: SlotWrite | None = None,
        compile_step: bool = False,
    ) -> None:
        self.model = model
        self.decoder = model.model.decoder
        self.layers = list(self.decoder.layers)
        config = model.config
        device, dtype = model.device, model.dtype
        self.batch = batch
        self.prompt = prompt
        self.max_new = max_new_tokens
        self.rules = rules
        self.heads = config.decoder_attention_heads
        self.head_dim = config.d_model // self.heads
        self.length = len(prompt) + max_new_tokens
        vocab = config.vocab_size
        kv = (batch, self.heads, self.length, self.head_dim)
        cross = (batch, self.heads, config.max_source_positions, self.head_dim)
        self.self_k = [torch.zeros(kv, device=device, dtype=dtype) for _ in self.layers]
        self.self_v = [torch.zeros(kv, device=device, dtype=dtype) for _ in self.layers]
        self.cross_k = [torch.zeros(cross, device=device, dtype=dtype) for _ in self.layers]
        self.cross_v = [torch.zeros(cross, device=device, dtype=dtype) for _ in self.layers]
        long = {"device": device, "dtype": torch.long}
        self.tokens = torch.zeros(batch, **long)
        self.position = torch.zeros(1, **long)
        self.generated = torch.zeros(1, **long)
        self.history = torch.full((batch, max_new_tokens), -1, **long)
        self.finished = torch.zeros(batch, device=device, dtype=torch.bool)
        self.limits = torch.full((batch,), max_new_tokens, **long)
        """Tokens each row may decode (``decode``'s ``limits``)."""
        self.key_positions = torch.arange(self.length, **long)
        self.fused_qkv = [fused_qkv(layer.self_attn) for layer in self.layers]
        """Each layer's self-attention projections as one weight and bias (or None)."""
        suppress = torch.arange(vocab) >= rules.timestamp_begin  # text only: no timestamps
        suppress[[*rules.suppress_tokens, rules.no_timestamps]] = True
        begin_forbidden = torch.zeros(vocab, dtype=torch.bool)
        begin_forbidden[list(rules.begin_suppress_tokens)] = True
        self.suppress = suppress.to(device)  # built on the CPU, then moved as a whole
        self.begin_forbidden = begin_forbidden.to(device)
        self.min_new = min_new_tokens
        self.slot_write: SlotWrite = slot_write or slot_write_for(device.type)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.use_cuda_graph = device.type == "cuda" if use_cuda_graph is None else use_cuda_graph
        self.compile_step = compile_step
        """Fuse the step with ``torch.compile`` before it runs (``can_compile_step``)."""
        self.compiled: Callable[[], None] | None = None
        self.compile_error: str | None = None
        """Why compiling failed, if it did (the step then runs as written)."""

    # -- one step, on fixed buffers -------------------------------------------------------------

    def _write_slot(
        self, buffer: torch.Tensor, dim: int, index: torch.Tensor, values: torch.Tensor
    ) -> None:
        """``buffer``'s slice ``index`` (a one-element tensor) along ``dim`` = ``values``, in
        place and without reading the index on the host (CUDA graphs replay it)."""
        if self.slot_write == "index_copy":
            buffer.index_copy_(dim, index, values)
        else:
            buffer[(slice(None),) * dim + (index,)] = values

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """``[batch, 1, d_model]`` as ``[batch, heads, 1, head_dim]``."""
        return x.view(self.batch, 1, self.heads, self.head_dim).transpose(1, 2)

    def _self_projections(
        self, i: int, attn: Any, h: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Layer ``i``'s self-attention query (scaled), key and value of ``h``: one matrix
        product where the three projections are fused (``fused_qkv``), else three."""
        fused = self.fused_qkv[i]
        if fused is None:
            return attn.q_proj(h) * attn.scaling, attn.k_proj(h), attn.v_proj(h)
        q, k, v = F.linear(h, *fused).chunk(3, dim=-1)
        return q * attn.scaling, k, v

    def _attend(
        self, attn: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Any
    ) -> torch.Tensor:
        """The output projection of ``q``'s (scaled, ``[batch, 1, d_model]``) attention."""
        out = F.scaled_dot_product_attention(self._heads(q), k, v, attn_mask=mask, scale=1.0)
        projected: torch.Tensor = attn.out_proj(out.transpose(1, 2).reshape(self.batch, 1, -1))
        return projected

    def _logits(self) -> torch.Tensor:
        """Feed ``self.tokens`` at ``self.position``: write the keys and values, return logits."""
        decoder = self.decoder
        x = decoder.embed_tokens(self.tokens).unsqueeze(1)
        x = x + decoder.embed_positions.weight.index_select(0, self.position).unsqueeze(0)
        mask = (self.key_positions <= self.position).view(1, 1, 1, -1)
        for i, layer in enumerate(self.layers):
            attn = layer.self_attn
            h = layer.self_attn_layer_norm(x)
            q, k, v = self._self_projections(i, attn, h)
            self._write_slot(self.self_k[i], 2, self.position, self._heads(k).contiguous())
            self._write_slot(self.self_v[i], 2, self.position, self._heads(v).contiguous())
            x = x + self._attend(attn, q, self.self_k[i], self.self_v[i], mask)
            cross = layer.encoder_attn
            q = cross.q_proj(layer.encoder_attn_layer_norm(x)) * cross.scaling
            x = x + self._attend(cross, q, self.cross_k[i], self.cross_v[i], None)
            h = layer.final_layer_norm(x)
            x = x + layer.fc2(layer.activation_fn(layer.fc1(h)))
        logits: torch.Tensor = self.model.proj_out(decoder.layer_norm(x))[:, 0].float()
        return logits

    def _choose(self, logits: torch.Tensor) -> None:
        """Suppressed tokens, the minimum length, then the greedy choice, for all rows at once;
        a row ends at EOS or at its limit; advances every buffer by one position."""
        rules, n = self.rules, self.generated
        logits = logits.masked_fill(self.suppress, NEG_INF)
        logits = logits.masked_fill((n == 0) & self.begin_forbidden, NEG_INF)
        if self.min_new:
            logits[:, rules.eos] = torch.where(n < self.min_new, NEG_INF, logits[:, rules.eos])
        chosen = logits.argmax(dim=-1)
        chosen = torch.where(self.finished, rules.eos, chosen)
        self.finished |= (chosen == rules.eos) | (n + 1 >= self.limits)
        self._write_slot(self.history, 1, n.clamp(max=self.max_new - 1), chosen.unsqueeze(1))
        self.tokens.copy_(chosen)
        self.position += 1
        self.generated += 1

    def _step(self) -> None:
        self._choose(self._logits())

    def _runnable_step(self) -> Callable[[], None]:
        """The step as it runs: as written, or compiled (its buffers and shapes are fixed, so
        one graph serves every call). The code is kept by the shapes it was compiled for: a
        new decoder of the same batch shape (the next clip) reuses it; after
        ``torch._dynamo``'s recompile limit (8 shapes) a new shape runs as written. Compiling
        happens on the first call; if it fails (no C compiler for Triton's launcher, say),
        nothing has run yet, and the step runs as written from then on, with the reason kept."""
        if not self.compile_step:
            return self._step
        if self.compiled is None:
            compiled = torch.compile(self._step, fullgraph=True, dynamic=False)
            saved = self._state()
            try:
                compiled()
            except Exception as error:  # any compiler failure: the step runs as written
                self.compile_error = f"{type(error).__name__}: {str(error).splitlines()[0]}"
                self.compile_step = False
                return self._step
            finally:  # the trial step's keys and values lie past the position: masked, rewritten
                self._restore(saved)
            self.compiled = compiled
        return self.compiled

    def _state(self) -> list[torch.Tensor]:
        """A copy of the buffers a step advances (not the key and value caches)."""
        return [t.clone() for t in self._stepped()]

    def _restore(self, saved: list[torch.Tensor]) -> None:
        for buffer, value in zip(self._stepped(), saved, strict=True):
            buffer.copy_(value)

    def _stepped(self) -> tuple[torch.Tensor, ...]:
        return (self.tokens, self.position, self.generated, self.history, self.finished)

    # -- a batch -------------------------------------------------------------------------------

    def _reset(self, encoder_states: torch.Tensor) -> None:
        for i, layer in enumerate(self.layers):
            attn = layer.encoder_attn
            shape = (self.batch, -1, self.heads, self.head_dim)
            self.cross_k[i].copy_(attn.k_proj(encoder_states).view(shape).transpose(1, 2))
            self.cross_v[i].copy_(attn.v_proj(encoder_states).view(shape).transpose(1, 2))
        self.history.fill_(-1)
        self.finished.zero_()
        self.generated.zero_()
        self.position.zero_()
        self.tokens.fill_(self.prompt[0])
        for token in self.prompt[1:]:  # the rest of the prompt: keys and values only
            self._logits()
            self.tokens.fill_(token)
            self.position += 1

    def _capture(self) -> torch.cuda.CUDAGraph:
        """Record one step as a CUDA graph (after warm-up steps on a side stream)."""
        saved = self._state()
        stream = torch.cuda.Stream()  # type: ignore[no-untyped-call]
        stream.wait_stream(torch.cuda.current_stream())
        step = self._runnable_step()
        with torch.cuda.stream(stream):
            for _ in range(2):
                step()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            step()
        self._restore(saved)
        for cache in (*self.self_k, *self.self_v):  # the warm-up wrote positions past the prompt
            cache[:, :, len(self.prompt) :].zero_()
        return graph

    @torch.inference_mode()
    def decode(self, encoder_states: torch.Tensor, limits: list[int] | None = None) -> torch.Tensor:
        """Greedy tokens ``[rows, max_new_tokens]`` (ended rows padded with EOS) for the
        encoder states of up to ``batch`` windows (fewer are padded with empty rows); row
        ``i`` decodes at most ``limits[i]`` tokens (default: ``max_new_tokens``)."""
        rows = encoder_states.shape[0]
        if rows > self.batch:
            raise ValueError(f"decoder built for {self.batch} windows, got {rows}")
        if rows < self.batch:
            padding = encoder_states.new_zeros((self.batch - rows, *encoder_states.shape[1:]))
            encoder_states = torch.cat([encoder_states, padding])
        row_limits = [min(limit, self.max_new) for limit in (limits or [])]
        row_limits += [self.max_new] * (self.batch - len(row_limits))
        self.limits.copy_(torch.tensor(row_limits, dtype=torch.long))
        self._reset(encoder_states)
        if self.use_cuda_graph and self.graph is None:
            self.graph = self._capture()
        step = self.graph.replay if self.graph is not None else self._runnable_step()
        self.finished[rows:] = True  # padding rows end at once
        done = 0
        while done < self.max_new:
            for _ in range(min(CHECK_EVERY, self.max_new - done)):
                step()
            done += CHECK_EVERY
            if done >= self.min_new and bool(self.finished.all()):
                break
        return torch.where(self.history < 0, self.rules.eos, self.history)[:rows]
