"""Long-form audio as a batch of 30 s windows, and their log-mel features computed on the device.

The windows are those of the transformers ASR pipeline (chunk 30 s, 5 s stride each side,
so 20 s of new audio per window) so that its token merging applies unchanged; the features
are the WhisperFeatureExtractor's, computed for the whole batch at once on the model's
device instead of chunk by chunk in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

N_FFT = 400
HOP_LENGTH = 160


@dataclass(frozen=True)
class Window:
    start: int
    """First sample."""
    length: int
    """Samples in the window (the last one may be shorter than the chunk)."""
    stride_left: int
    stride_right: int

    @property
    def stride(self) -> tuple[int, int, int]:
        """The pipeline's ``(chunk_len, stride_left, stride_right)``, in samples."""
        return (self.length, self.stride_left, self.stride_right)


def plan_windows(n_samples: int, chunk: int, stride_left: int, stride_right: int) -> list[Window]:
    """The pipeline's chunking: overlapping windows whose strides are trimmed when merging."""
    if chunk <= stride_left + stride_right:
        raise ValueError("the chunk must be longer than its two strides")
    step = chunk - stride_left - stride_right
    windows = []
    for start in range(0, n_samples, step):
        end = min(start + chunk, n_samples)
        is_last = start + chunk >= n_samples
        left = 0 if start == 0 else stride_left
        right = 0 if is_last else stride_right
        if end - start > left:
            windows.append(Window(start, end - start, left, right))
        if is_last:
            break
    return windows


def window_batch(audio: torch.Tensor, windows: list[Window], n_samples: int) -> torch.Tensor:
    """``[len(windows), n_samples]``: each window zero-padded to the model's 30 s input."""
    batch = audio.new_zeros((len(windows), n_samples))
    for row, window in enumerate(windows):
        batch[row, : window.length] = audio[window.start : window.start + window.length]
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
