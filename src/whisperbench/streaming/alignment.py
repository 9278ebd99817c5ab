"""When each word of the REFERENCE transcript ends in the audio, found independently of the
engine under test: openai-whisper's forced alignment (``whisper.timing.find_alignment``: the
cross-attention of its alignment heads over the reference's own tokens, then dynamic time
warping), computed once per clip with an openai-whisper model (tiny.en serves).

A clip longer than one 30 s window is aligned window by window: the rest of the reference is
aligned to the next window, the words that end more than ``WINDOW_MARGIN_S`` before its end
are kept (the alignment squeezes the words that do not fit into its last frames), and the next
window starts at the last kept word's end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from whisperbench.audio import SAMPLE_RATE

WINDOW_S = 30.0
WINDOW_MARGIN_S = 3.0
"""Words ending this close to a window's end are aligned again in the next window."""
MAX_WORDS_PER_WINDOW = 140
"""Reference words handed to one window's alignment (fast speech is about 4 words a second;
the decoder holds 448 tokens)."""


@dataclass(frozen=True)
class ReferenceWord:
    """A word of the reference and where it lies in the clip, in seconds."""

    text: str
    start: float
    end: float


def _reference_text(reference: str) -> str:
    """All-capital references (LibriSpeech) are aligned in lower case: Whisper reads lower
    case text far more readily, and the words are the same after normalisation."""
    text = " ".join(reference.split())
    return text.lower() if text.isupper() else text


def _words_covered(words: list[str], timed: list[ReferenceWord]) -> int:
    """How many of ``words`` the aligned words ``timed`` cover, by their characters (the
    alignment may split a word, as at a hyphen, or join punctuation to it)."""
    chars = sum(len(w.text.replace(" ", "")) for w in timed)
    covered = total = 0
    for word in words:
        if total + len(word) > chars:
            break
        total += len(word)
        covered += 1
    return covered


class ReferenceAligner:
    """Aligns reference transcripts to their audio with one openai-whisper model."""

    def __init__(self, model: Any, language: str = "en") -> None:
        from whisper.tokenizer import get_tokenizer

        self.model = model
        self.tokenizer = get_tokenizer(
            model.is_multilingual,
            num_languages=model.num_languages,
            language=language,
            task="transcribe",
        )

    def align(self, samples: np.ndarray, reference: str) -> list[ReferenceWord]:
        """Each word of ``reference`` with its start and end in ``samples``. openai-whisper's
        time warping on the CPU is a parallel numba function, whose OpenMP start sets the
        process's thread count (torch's too, which shares the OpenMP runtime): torch's is put
        back afterwards, so that the engines timed next run as they were set up."""
        import torch

        threads = torch.get_num_threads()
        try:
            return self._align(samples, reference)
        finally:
            torch.set_num_threads(threads)

    def _align(self, samples: np.ndarray, reference: str) -> list[ReferenceWord]:
        words = _reference_text(reference).split()
        found: list[ReferenceWord] = []
        offset = 0
        while words and offset < len(samples):
            window = samples[offset : offset + int(WINDOW_S * SAMPLE_RATE)]
            last = offset + len(window) >= len(samples)
            timed = self._align_window(window, " ".join(words[:MAX_WORDS_PER_WINDOW]))
            limit = len(window) / SAMPLE_RATE - (0.0 if last else WINDOW_MARGIN_S)
            kept = timed if last else [w for w in timed if w.end <= limit]
            if not kept and not last:
                kept = timed[:1]  # always progress
            start_s = offset / SAMPLE_RATE
            found += [ReferenceWord(w.text, w.start + start_s, w.end + start_s) for w in kept]
            words = words[_words_covered(words, kept) :]
            if last:
                break
            offset += max(int(kept[-1].end * SAMPLE_RATE), 1) if kept else len(window)
        return found

    def _align_window(self, window: np.ndarray, text: str) -> list[ReferenceWord]:
        import torch
        import whisper
        from whisper.audio import HOP_LENGTH
        from whisper.timing import find_alignment, merge_punctuations

        model = self.model
        mel = whisper.log_mel_spectrogram(
            whisper.pad_or_trim(np.asarray(window, dtype=np.float32)), model.dims.n_mels
        ).to(model.device)
        tokens = self.tokenizer.encode(" " + text.strip())
        with torch.no_grad():
            timings = find_alignment(
                model,
                self.tokenizer,
                tokens,
                mel.to(next(model.parameters()).dtype),
                len(window) // HOP_LENGTH,
            )
        merge_punctuations(timings, "\"'“¿([{-", "\"'.。,，!！?？:：”)]}、")
        return [
            ReferenceWord(t.word.strip(), float(t.start), float(t.end))
            for t in timings
            if t.word.strip()
        ]
