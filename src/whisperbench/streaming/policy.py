"""The streaming policy, one for every engine: LocalAgreement-2 over word hypotheses, a
bounded audio buffer trimmed at committed words, and the committed text as the prompt.

Learnt from ufal/whisper_streaming (Macháček, Dabre and Bojar, 2023: ``HypothesisBuffer``,
``OnlineASRProcessor``), written anew:

- **LocalAgreement-2.** Each update re-transcribes the whole buffer. Of its words, those that
  re-transcribe words already committed are dropped (``LocalAgreement.new_part``); of the rest,
  a head that repeats the last committed words exactly (two to five; Whisper may write its
  prompt again) is dropped too; then the longest prefix that the previous update's rest also
  began with is committed. Words are
  compared by ``word_key`` (lower case, without punctuation); the newer update's word is kept.
- **Buffer trimming.** When the buffer holds more than ``buffer_s`` of audio and at least two
  words are committed in it, the audio up to the end of the last-but-one committed word is
  dropped: the last committed word stays in the buffer as an anchor, so that a word time a
  little off (engines without word timestamps) cuts no uncommitted word. Past ``max_window_s``
  (one Whisper window) the oldest audio is dropped whatever is committed: the words pending
  before the cut are committed as they stand (``forced``), counted in the run.
- **Prompt.** An engine that takes one (``takes_prompt``) is given the last ``prompt_chars``
  characters of the text committed before the buffer (whisper_streaming's 200).

Which words are "already committed" is found by the words' text, not their times: the
committed words still in the buffer are matched against the start of the new hypothesis
(``difflib``), so engines whose word times are only spread over a segment stream as well as
those with word timestamps. Where nothing matches, the times decide (whisper_streaming's rule:
words starting before the last committed word's end, less 0.1 s, are old).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

import numpy as np

from whisperbench.audio import SAMPLE_RATE

if TYPE_CHECKING:  # types only: the streaming room stands below the engines'
    from whisperbench.implementations.base import Word

Transcriber = Callable[[np.ndarray, "str | None"], "list[Word]"]
"""``(buffer samples, prompt or None) -> words`` with times in the buffer."""

MATCH_SLACK = 3
"""How many hypothesis words beyond the committed ones in the buffer may be searched for them
(the engine may add a word or two at the start of the buffer)."""
MAX_REPEAT = 5
"""The longest run of committed words looked for again at the head of the new words."""
MIN_REPEAT = 2
"""The shortest: one word said twice ("had had", "alpha alpha") is ordinary speech."""
TIME_TOLERANCE_S = 0.1
"""whisper_streaming's tolerance: a word starting this much before the last committed end is
still new."""

_NOT_WORD = re.compile(r"[^\w']+")


def word_key(text: str) -> str:
    """How two hypotheses' words are compared: lower case, punctuation dropped."""
    return _NOT_WORD.sub("", text.lower())


def shifted(words: Sequence[Word], offset: float) -> list[Word]:
    """``words`` with ``offset`` seconds added to their times (buffer -> stream time)."""
    return [replace(w, start=w.start + offset, end=w.end + offset) for w in words]


def agreed_prefix(a: Sequence[Word], b: Sequence[Word]) -> int:
    """The length of the longest common prefix of two word lists, by ``word_key``."""
    count = 0
    for x, y in zip(a, b, strict=False):
        if word_key(x.text) != word_key(y.text):
            break
        count += 1
    return count


@dataclass
class LocalAgreement:
    """LocalAgreement-2: commits what two consecutive hypotheses agree on."""

    committed: list[Word] = field(default_factory=list)
    """Every word committed so far, in order (stream times)."""
    in_buffer: list[Word] = field(default_factory=list)
    """The committed words whose audio is still in the buffer."""
    pending: list[Word] = field(default_factory=list)
    """The last hypothesis's new words that are not committed yet."""

    def new_part(self, hypothesis: Sequence[Word]) -> list[Word]:
        """``hypothesis`` less its words that re-transcribe committed words in the buffer."""
        if not self.in_buffer:
            return list(hypothesis)
        old = [word_key(w.text) for w in self.in_buffer]
        new = [word_key(w.text) for w in hypothesis]
        matcher = SequenceMatcher(None, old, new[: len(old) + MATCH_SLACK], autojunk=False)
        blocks = [block for block in matcher.get_matching_blocks() if block.size]
        if blocks:
            last = blocks[-1]
            unmatched_old = len(old) - (last.a + last.size)
            skip = last.b + last.size + unmatched_old
            return list(hypothesis[skip:])
        edge = self.in_buffer[-1].end - TIME_TOLERANCE_S
        return [w for w in hypothesis if w.start > edge]

    def without_repeated_tail(self, new: Sequence[Word]) -> list[Word]:
        """``new`` less a head that repeats the last committed words exactly (``MIN_REPEAT``
        to ``MAX_REPEAT`` of them, the longest first): Whisper sometimes writes its prompt again
        at the start of a buffer (whisper_streaming drops such n-grams the same way)."""
        keys = [word_key(w.text) for w in self.committed[-MAX_REPEAT:]]
        head = [word_key(w.text) for w in new[:MAX_REPEAT]]
        for size in range(min(len(keys), len(head)), MIN_REPEAT - 1, -1):
            if keys[-size:] == head[:size]:
                return list(new[size:])
        return list(new)

    def update(self, hypothesis: Sequence[Word]) -> list[Word]:
        """Insert one update's hypothesis (stream times); return the words it commits."""
        new = self.without_repeated_tail(self.new_part(hypothesis))
        agreed = agreed_prefix(new, self.pending)
        commit, self.pending = new[:agreed], new[agreed:]
        self.committed += commit
        self.in_buffer += commit
        return commit

    def drop_before(self, time: float) -> None:
        """Forget committed words that end at or before ``time`` (their audio was trimmed)."""
        self.in_buffer = [w for w in self.in_buffer if w.end > time]

    def force_before(self, time: float) -> list[Word]:
        """Commit the pending words that end at or before ``time`` (their audio is about to
        be dropped) and drop those that start before it; return the committed ones."""
        forced = [w for w in self.pending if w.end <= time]
        self.pending = [w for w in self.pending if w.start >= time]
        self.committed += forced
        self.in_buffer = [w for w in [*self.in_buffer, *forced] if w.end > time]
        return forced

    def finish(self) -> list[Word]:
        """The end of the stream: the pending words are committed as they stand."""
        rest, self.pending = self.pending, []
        self.committed += rest
        return rest


@dataclass(frozen=True)
class PolicySettings:
    """How the buffer and the prompt are kept."""

    buffer_s: float = 15.0
    """Trim the buffer at a committed word once it holds more than this (whisper_streaming's
    ``--buffer_trimming_sec`` default)."""
    max_window_s: float = 30.0
    """Never hand the engine more than this: one Whisper window."""
    prompt_chars: int = 200
    """Characters of committed text before the buffer given as the prompt."""

    def describe(self) -> str:
        return (
            f"LocalAgreement-2 over words; buffer trimmed past {self.buffer_s:g} s at the end "
            f"of the last-but-one committed word, at most {self.max_window_s:g} s; prompt: "
            f"the last {self.prompt_chars} characters committed before the buffer"
        )


@dataclass(frozen=True)
class Step:
    """What one update did."""

    buffer_s: float
    """Seconds of audio the engine was given."""
    committed: tuple[Word, ...]
    forced: tuple[Word, ...]
    """Words committed without agreement because their audio had to go (``max_window_s``)."""


class StreamProcessor:
    """The policy around one engine's ``transcribe_words``: audio in, committed words out."""

    def __init__(
        self,
        transcribe: Transcriber,
        takes_prompt: bool,
        settings: PolicySettings | None = None,
    ) -> None:
        self.transcribe = transcribe
        self.takes_prompt = takes_prompt
        self.settings = settings or PolicySettings()
        self.agreement = LocalAgreement()
        self.buffer = np.zeros(0, dtype=np.float32)
        self.offset = 0.0
        """Stream time of the buffer's first sample."""
        self.forced = 0

    @property
    def buffer_seconds(self) -> float:
        return len(self.buffer) / SAMPLE_RATE

    def insert(self, samples: np.ndarray) -> None:
        self.buffer = np.concatenate([self.buffer, np.asarray(samples, dtype=np.float32)])

    def prompt(self) -> str | None:
        """The committed text before the buffer, its last ``prompt_chars`` characters."""
        if not self.takes_prompt:
            return None
        before = [w.text for w in self.agreement.committed if w.end <= self.offset]
        text = " ".join(before)[-self.settings.prompt_chars :]
        return text.strip() or None

    def process(self) -> Step:
        """One update: transcribe the buffer, commit what two updates agree on, trim."""
        forced = self._keep_to_window()
        given = self.buffer_seconds
        words = shifted(self.transcribe(self.buffer, self.prompt()), self.offset)
        committed = self.agreement.update(words)
        self._trim()
        return Step(given, tuple(committed), tuple(forced))

    def finish(self) -> list[Word]:
        return self.agreement.finish()

    def _cut(self, time: float) -> None:
        drop = round((time - self.offset) * SAMPLE_RATE)
        drop = min(max(drop, 0), len(self.buffer))
        self.buffer = self.buffer[drop:]
        self.offset += drop / SAMPLE_RATE
        self.agreement.drop_before(self.offset)

    def _trim(self) -> None:
        """Past ``buffer_s``: cut at the end of the last-but-one committed word in it."""
        if self.buffer_seconds <= self.settings.buffer_s:
            return
        anchors = self.agreement.in_buffer
        if len(anchors) >= 2:
            self._cut(anchors[-2].end)

    def _keep_to_window(self) -> list[Word]:
        """Past ``max_window_s``: drop the oldest audio down to ``buffer_s``, committing the
        pending words that end before the cut (``LocalAgreement.force_before``)."""
        if self.buffer_seconds <= self.settings.max_window_s:
            return []
        time = self.offset + self.buffer_seconds - self.settings.buffer_s
        forced = self.agreement.force_before(time)
        self.forced += len(forced)
        self._cut(time)
        return forced
