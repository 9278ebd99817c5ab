"""Long-form audio as windows of at most 30 s, and their log-mel features computed on the device.

The windows do not overlap: each ends in the quietest pause of its last few seconds
(``quiet_windows``: the 0.1 s stretch whose loudest 10 ms is the quietest), so that no window
starts or ends inside a word, and their transcripts are simply joined. This is faster-whisper's
batched long-form method; both our transformers implementation and faster-whisper cut audio
with this one function. It replaced the ASR pipeline's overlapping windows (30 s, 5 s stride
each side) joined by its token merge, which printed phrases twice or looped where a window's
edge fell into a pause (tiny.en, CPU: WER 84.7% against 9.9% on a 55 s clip with pauses at the
seams; see README, "Long-form audio").

The features are the WhisperFeatureExtractor's: each window is zero-padded to the model's 30 s
input and the whole batch is turned into log-mel features at once on the model's device,
instead of chunk by chunk in numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from whisperbench.audio import SAMPLE_RATE

N_FFT = 400
HOP_LENGTH = 160
CHUNK_LENGTH_S = 30
"""Whisper's input: the longest window."""
QUIET_SEARCH_S = 5.0
"""A window ends at the quietest point of its last 5 s."""
QUIET_FRAME_S = 0.1
"""The stretch that must be quiet throughout for a cut to fall in its middle."""
LOUDNESS_FRAME_S = 0.01
"""The stretch is as loud as its loudest 10 ms: a gap between two words whose average is low
but which holds a plosive's burst or a breath's onset is not a pause."""
MIN_TAIL_S = 1.0
"""No window shorter than this is left at the end: the one before it is cut earlier."""


@dataclass(frozen=True)
class Window:
    start: int
    """First sample."""
    length: int
    """Samples in the window (at most the chunk)."""

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def seconds(self) -> float:
        return self.length / SAMPLE_RATE


def quiet_windows(
    audio: np.ndarray,
    chunk_length_s: float = CHUNK_LENGTH_S,
    search_s: float = QUIET_SEARCH_S,
    sample_rate: int = SAMPLE_RATE,
) -> list[Window]:
    """Consecutive windows of at most ``chunk_length_s`` covering all of ``audio``, each cut
    in the middle of the ``QUIET_FRAME_S`` stretch of its last ``search_s`` seconds whose
    loudest ``LOUDNESS_FRAME_S`` is the quietest (``_quietest``).

    No audio is dropped (that is voice-activity detection's job); only the cut points move.
    Cutting blindly every 30 s puts edges inside words: tiny.en then often decodes a window
    that starts mid-word as just "The" (WER 0.60 against 0.10 on the 329 s reference clip).
    """
    n = len(audio)
    chunk = int(chunk_length_s * sample_rate)
    search = int(search_s * sample_rate)
    frame = max(1, int(QUIET_FRAME_S * sample_rate))
    hop = max(1, int(LOUDNESS_FRAME_S * sample_rate))
    min_tail = int(MIN_TAIL_S * sample_rate)
    windows: list[Window] = []
    start = 0
    while n - start > chunk:
        end = min(start + chunk, n - min_tail)
        low = max(start + frame, end - search)
        cut = low + _quietest(audio[low:end], frame, hop) if end - low > frame else end
        windows.append(Window(start, cut - start))
        start = cut
    windows.append(Window(start, n - start))
    return windows


def _quietest(region: np.ndarray, frame: int, hop: int) -> int:
    """The centre of the ``frame``-sample stretch of ``region`` whose loudest ``hop`` samples
    (``LOUDNESS_FRAME_S``) are the quietest: a pause, quiet throughout.

    The stretch with the least mean energy, the earlier rule, often lay between two words of
    one phrase: real read speech (LibriSpeech test-other and LJ Speech, 12 readings of
    66-104 s) was cut mid-sentence where a pause a second away was quieter throughout
    (tiny.en, CPU: pooled WER 11.25% with this rule against 11.68% with the mean, 43
    insertions against 49; see ``reports/cpu/long-form-methods.md``)."""
    frames = len(region) // hop
    if frames < 2:
        return len(region) // 2
    loudness = np.square(region[: frames * hop], dtype=np.float64).reshape(frames, hop).mean(axis=1)
    width = min(frames, max(1, round(frame / hop)))
    loudest = np.lib.stride_tricks.sliding_window_view(loudness, width).max(axis=1)
    return int(np.argmin(loudest)) * hop + (width * hop) // 2


@dataclass(frozen=True)
class Piece:
    """One window of one of the utterances of a call (``audios[utterance]``)."""

    utterance: int
    window: Window


def gather(
    audios: Sequence[np.ndarray], pieces: Sequence[Piece], device: torch.device | str
) -> tuple[torch.Tensor, list[Window]]:
    """The pieces' samples back to back in one tensor on ``device``, and each piece's window in
    it: only real audio crosses to the device; ``window_batch`` pads it there.

    The samples are copied once on the host, span by span (windows of one utterance that touch
    are one span), into a buffer that is pinned when the device is CUDA, so that the copy to the
    GPU runs at the bus's speed and does not wait on the host (torch's caching host allocator
    keeps the pinned buffer for the next batch, and does not hand it out again before the copy
    has ended)."""
    spans: list[tuple[int, int, int]] = []  # utterance, first sample, end
    local, offset = [], 0
    for piece in pieces:
        window = piece.window
        if spans and spans[-1][0] == piece.utterance and spans[-1][2] == window.start:
            spans[-1] = (piece.utterance, spans[-1][1], window.end)
        else:
            spans.append((piece.utterance, window.start, window.end))
        local.append(Window(offset, window.length))
        offset += window.length
    to_cuda = torch.device(device).type == "cuda"
    host = torch.empty(offset, dtype=torch.float32, pin_memory=to_cuda)
    filled = 0
    for utterance, start, end in spans:
        samples = np.ascontiguousarray(audios[utterance][start:end], dtype=np.float32)
        host[filled : filled + len(samples)].copy_(torch.from_numpy(samples))
        filled += len(samples)
    return host.to(device, non_blocking=to_cuda), local


def window_batch(audio: torch.Tensor, windows: list[Window], n_samples: int) -> torch.Tensor:
    """``[len(windows), n_samples]``: each window zero-padded to the model's 30 s input."""
    batch = audio.new_zeros((len(windows), n_samples))
    for row, window in enumerate(windows):
        batch[row, : window.length] = audio[window.start : window.end]
    return batch


def log_mel(batch: torch.Tensor, mel_filters: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Whisper's log-mel spectrogram of ``[n, samples]`` audio, on the audio's device, in fp32.

    Same steps as WhisperFeatureExtractor: |STFT|^2 (Hann, 400/160) -> mel -> log10 ->
    clamp to (max - 8) per example -> (x + 4) / 4.
    """
    device = batch.device
    window = torch.hann_window(N_FFT, device=device)
    stft = torch.stft(batch.float(), N_FFT, HOP_LENGTH, window=window, return_complex=True)
    power = (stft[..., :-1].abs() ** 2).contiguous()
    filters = torch.as_tensor(mel_filters, dtype=torch.float32, device=device)
    mel = filters.T @ power
    log_spec = torch.clamp(mel, min=1e-10).log10()
    peak = log_spec.amax(dim=(1, 2), keepdim=True)
    log_spec = torch.maximum(log_spec, peak - 8.0)
    return (log_spec + 4.0) / 4.0
