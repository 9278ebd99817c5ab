"""Greedy, timestamped Whisper decoding with a static KV cache, one CUDA graph per step.

``transformers``' ``generate`` spends most of a step in Python: cache bookkeeping, the
logits processors, and a timestamp processor that loops over the batch row by row. Here a
step is a fixed set of tensor operations on preallocated buffers (the self-attention cache
has room for every position up front, the cross-attention keys and values are computed once
per batch), so on CUDA the whole step, logits rules and token choice included, is captured
once as a graph and replayed; the host looks at the device only every few steps to see
whether every row has ended.

It runs the loaded model's own modules (layer norms, projections, embeddings), so it
decodes the same tokens as ``generate(return_timestamps=True)`` with greedy search; the
tests check that on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.nn import functional as F

NEG_INF = float("-inf")
CHECK_EVERY = 8
"""Steps replayed between two looks at the device for "has every row ended?"."""


@dataclass(frozen=True)
class DecodeRules:
    """The generation config's token rules for timestamped transcription."""

    eos: int
    timestamp_begin: int
    no_timestamps: int
    max_initial_timestamp_index: int | None
    suppress_tokens: tuple[int, ...]
    begin_suppress_tokens: tuple[int, ...]

    @classmethod
    def from_generation_config(cls, config: Any) -> DecodeRules:
        return cls(
            eos=int(config.eos_token_id),
            timestamp_begin=int(config.no_timestamps_token_id) + 1,
            no_timestamps=int(config.no_timestamps_token_id),
            max_initial_timestamp_index=getattr(config, "max_initial_timestamp_index", None),
            suppress_tokens=tuple(getattr(config, "suppress_tokens", None) or ()),
            begin_suppress_tokens=tuple(getattr(config, "begin_suppress_tokens", None) or ()),
        )


def prompt_ids(config: Any, language: str | None, task: str | None) -> list[int]:
    """``<|startoftranscript|>`` [language] [task]: the decoder prompt for timestamped output."""
    ids = [int(config.decoder_start_token_id)]
    if language is not None:
        lang_to_id = config.lang_to_id
        key = language if language.startswith("<|") else f"<|{language}|>"
        ids.append(int(lang_to_id[key]))
    if task is not None:
        ids.append(int(config.task_to_id[task]))
    return ids


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
        timestamps: bool = True,
    ) -> None:
        self.model = model
        self.decoder = model.model.decoder
        self.layers = list(self.decoder.layers)
        config = model.config
        device, dtype = model.device, model.dtype
        self.batch = batch
        self.timestamps = timestamps
        self.prompt = prompt if timestamps else [*prompt, rules.no_timestamps]
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
        self.key_positions = torch.arange(self.length, **long)
        vocab_ids = torch.arange(vocab, **long)
        self.vocab_ids = vocab_ids
        self.is_timestamp = vocab_ids >= rules.timestamp_begin
        self.is_text = vocab_ids < rules.eos
        self.before_timestamps = vocab_ids < rules.timestamp_begin
        self.suppress = torch.zeros(vocab, device=device, dtype=torch.bool)
        self.suppress[[*rules.suppress_tokens, rules.no_timestamps]] = True
        if not timestamps:
            self.suppress |= self.is_timestamp
        self.begin_forbidden = torch.zeros(vocab, device=device, dtype=torch.bool)
        self.begin_forbidden[list(rules.begin_suppress_tokens)] = True
        if timestamps:  # the first token is the opening timestamp, no later than the limit
            self.begin_forbidden |= self.before_timestamps
            if rules.max_initial_timestamp_index is not None:
                last_allowed = rules.timestamp_begin + rules.max_initial_timestamp_index
                self.begin_forbidden |= vocab_ids > last_allowed
        self.min_new = min_new_tokens
        self.graph: torch.cuda.CUDAGraph | None = None
        self.use_cuda_graph = device.type == "cuda" if use_cuda_graph is None else use_cuda_graph

    # -- one step, on fixed buffers -------------------------------------------------------------

    def _attend(
        self, attn: Any, x: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: Any
    ) -> torch.Tensor:
        q = (
            (attn.q_proj(x) * attn.scaling)
            .view(self.batch, 1, self.heads, self.head_dim)
            .transpose(1, 2)
        )
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0)
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
            shape = (self.batch, self.heads, 1, self.head_dim)
            k = attn.k_proj(h).view(self.batch, 1, self.heads, self.head_dim).transpose(1, 2)
            v = attn.v_proj(h).view(self.batch, 1, self.heads, self.head_dim).transpose(1, 2)
            self.self_k[i].index_copy_(2, self.position, k.reshape(shape))
            self.self_v[i].index_copy_(2, self.position, v.reshape(shape))
            x = x + self._attend(attn, h, self.self_k[i], self.self_v[i], mask)
            h = layer.encoder_attn_layer_norm(x)
            x = x + self._attend(layer.encoder_attn, h, self.cross_k[i], self.cross_v[i], None)
            h = layer.final_layer_norm(x)
            x = x + layer.fc2(layer.activation_fn(layer.fc1(h)))
        logits: torch.Tensor = self.model.proj_out(decoder.layer_norm(x))[:, 0].float()
        return logits

    def _choose(self, logits: torch.Tensor) -> None:
        """Suppressed tokens, the minimum length, the timestamp rules, then the greedy choice,
        for all rows at once; advances every buffer by one position."""
        rules, n = self.rules, self.generated
        logits = logits.masked_fill(self.suppress, NEG_INF)
        logits = logits.masked_fill((n == 0) & self.begin_forbidden, NEG_INF)
        if self.min_new:
            logits[:, rules.eos] = torch.where(n < self.min_new, NEG_INF, logits[:, rules.eos])
        if self.timestamps:
            logits = self._timestamp_rules(logits)
        chosen = logits.argmax(dim=-1)
        chosen = torch.where(self.finished, rules.eos, chosen)
        self.finished |= chosen == rules.eos
        self.history.index_copy_(1, n.clamp(max=self.max_new - 1), chosen.unsqueeze(1))
        self.tokens.copy_(chosen)
        self.position += 1
        self.generated += 1

    def _timestamp_rules(self, logits: torch.Tensor) -> torch.Tensor:
        """``WhisperTimeStampLogitsProcessor``, vectorised: timestamps come in pairs, never go
        back, and win when their total probability beats the best text token."""
        rules, n = self.rules, self.generated
        last = self.history.index_select(1, (n - 1).clamp(min=0)).squeeze(1)
        penultimate = self.history.index_select(1, (n - 2).clamp(min=0)).squeeze(1)
        last_is_ts = (n >= 1) & (last >= rules.timestamp_begin)
        penultimate_is_ts = (n < 2) | (penultimate >= rules.timestamp_begin)
        pair_open = last_is_ts & ~penultimate_is_ts
        logits = logits.masked_fill(
            (last_is_ts & penultimate_is_ts).unsqueeze(1) & self.is_timestamp, NEG_INF
        )
        logits = logits.masked_fill(pair_open.unsqueeze(1) & self.is_text, NEG_INF)
        timestamps = torch.where(self.history >= rules.timestamp_begin, self.history, -1)
        latest = timestamps.amax(dim=1)
        floor = torch.where(pair_open, latest, latest + 1)
        floor = torch.where(latest >= 0, floor, rules.timestamp_begin).unsqueeze(1)
        logits = logits.masked_fill(self.is_timestamp & (self.vocab_ids < floor), NEG_INF)
        logprobs = F.log_softmax(logits, dim=-1)
        timestamp_mass = logprobs[:, rules.timestamp_begin :].logsumexp(dim=-1)
        best_text = logprobs[:, : rules.timestamp_begin].amax(dim=-1)
        force_timestamp = (timestamp_mass > best_text).unsqueeze(1) & self.before_timestamps
        return logits.masked_fill(force_timestamp, NEG_INF)

    def _step(self) -> None:
        self._choose(self._logits())

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
        saved = [
            t.clone()
            for t in (self.tokens, self.position, self.generated, self.history, self.finished)
        ]
        stream = torch.cuda.Stream()  # type: ignore[no-untyped-call]
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                self._step()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._step()
        for buffer, value in zip(
            (self.tokens, self.position, self.generated, self.history, self.finished),
            saved,
            strict=True,
        ):
            buffer.copy_(value)
        for cache in (*self.self_k, *self.self_v):  # the warm-up wrote positions past the prompt
            cache[:, :, len(self.prompt) :].zero_()
        return graph

    @torch.inference_mode()
    def decode(self, encoder_states: torch.Tensor) -> torch.Tensor:
        """Greedy tokens ``[rows, max_new_tokens]`` (ended rows padded with EOS) for the
        encoder states of up to ``batch`` windows (fewer are padded with empty rows)."""
        rows = encoder_states.shape[0]
        if rows > self.batch:
            raise ValueError(f"decoder built for {self.batch} windows, got {rows}")
        if rows < self.batch:
            padding = encoder_states.new_zeros((self.batch - rows, *encoder_states.shape[1:]))
            encoder_states = torch.cat([encoder_states, padding])
        self._reset(encoder_states)
        if self.use_cuda_graph and self.graph is None:
            self.graph = self._capture()
        step = self.graph.replay if self.graph is not None else self._step
        self.finished[rows:] = True  # padding rows end at once
        done = 0
        while done < self.max_new:
            for _ in range(min(CHECK_EVERY, self.max_new - done)):
                step()
            done += CHECK_EVERY
            if done >= self.min_new and bool(self.finished.all()):
                break
        return torch.where(self.history < 0, self.rules.eos, self.history)[:rows]


def split_at_seek(tokens: list[int], rules: DecodeRules) -> tuple[list[int], int | None]:
    """What one pass keeps, and where the next pass over the same window starts.

    As Whisper's long-form decoding (and ``generate``) reads a pass: a pass that ends on a
    lone timestamp transcribed its audio to the end; one with closed segments (two timestamps
    in a row) but an unfinished tail keeps the closed segments, drops the tail and continues
    from the last closing timestamp; one with no closed segment is kept whole. Returns the
    kept tokens (EOS dropped) and the timestamp index to continue from, or None.
    """
    body = [t for t in tokens if t != rules.eos]
    is_ts = [t >= rules.timestamp_begin for t in body]
    if is_ts[-2:] == [False, True]:
        return body, None
    pairs = [i + 1 for i in range(len(body) - 1) if is_ts[i] and is_ts[i + 1]]
    if not pairs:
        return body, None
    end = pairs[-1] + 1
    return body[:end], body[end - 2] - rules.timestamp_begin


def shift_timestamps(tokens: list[int], offset: int, rules: DecodeRules) -> list[int]:
    return [t + offset if t >= rules.timestamp_begin else t for t in tokens]


MAX_PASSES = 4
FRAMES_PER_TIMESTAMP = 2
"""A timestamp step is 20 ms; a mel frame is 10 ms."""


def decode_windows(
    decoder: StaticGreedyDecoder,
    encode: Any,
    features: torch.Tensor,
    content_frames: list[int],
) -> list[list[int]]:
    """Timestamped tokens for each window, as one pass over the whole window would give them.

    Whisper ends a pass after the last complete segment and leaves the rest of the window
    for a pass that starts there (OpenAI's "seek"; transformers' ``generate`` does the same
    inside one input). Rows that end early are decoded again from their last timestamp,
    batched together; their timestamps are shifted back into window time.
    """
    rules = decoder.rules
    tokens: list[list[int]] = [[] for _ in content_frames]
    seeks = [0] * len(content_frames)
    active = list(range(len(content_frames)))
    frames = features.shape[-1]
    for _ in range(MAX_PASSES):
        if not active:
            break
        inputs = features.new_zeros((len(active), *features.shape[1:]))
        for slot, row in enumerate(active):
            inputs[slot, :, : frames - seeks[row]] = features[row, :, seeks[row] :]
        passes = decoder.decode(encode(inputs)).tolist()
        still_active = []
        for row, result in zip(active, passes, strict=True):
            body, end_index = split_at_seek(result, rules)
            offset = seeks[row] // FRAMES_PER_TIMESTAMP
            tokens[row].extend(shift_timestamps(body, offset, rules))
            if end_index is None or end_index <= 0:
                continue
            seek = seeks[row] + end_index * FRAMES_PER_TIMESTAMP
            if seek < content_frames[row]:
                seeks[row] = seek
                still_active.append(row)
        active = still_active
    return [[*row, rules.eos] for row in tokens]
