"""The reference word times of the latency track's stream cases: each clip's reference
transcript aligned to its audio once per session (``streaming.ReferenceAligner``: openai-whisper's
forced alignment), by an openai-whisper model of its own (``ALIGNER_SIZE``), loaded from the
session's cache at the first stream case, used for every clip of the session, then released,
so that no engine is timed against its own timestamps and only one engine model stays loaded
while cases run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from whisperbench.audio import AudioClip
from whisperbench.streaming.alignment import ReferenceAligner, ReferenceWord
from whisperbench.suite.cases import Skip
from whisperbench.suite.inputs import ClipLibrary

if TYPE_CHECKING:
    from whisperbench.implementations import WhisperImplementation

ALIGNER = "openai-whisper"
ALIGNER_SIZE = "tiny.en"
"""The aligner's model: the reference is given, so a small English model places its words
well enough (a frame is 20 ms); it is the same for every engine and model size under test."""


@dataclass
class ReferenceTimes:
    """Each clip's reference words with their times, aligned once per session."""

    clips: ClipLibrary
    load_aligner: Callable[[], WhisperImplementation]
    """Loads the aligner (``pool.load_apart`` of ``ALIGNER`` ``ALIGNER_SIZE``); ``Skip`` with
    the reason where it cannot load."""
    found: dict[str, list[ReferenceWord]] = field(default_factory=dict)
    failure: str | None = None
    """Why no clip can be aligned in this session (the aligner could not load)."""

    def words(self, clip: AudioClip) -> list[ReferenceWord]:
        """``clip``'s aligned reference words; ``Skip`` with the reason where it has none."""
        if clip.reference is None:
            raise Skip(
                f"{clip.name} has no reference transcript: emission delays and the streamed WER "
                f"need one (a .txt beside {clip.path.name})"
            )
        if clip.name not in self.found:
            self._align_all(clip)
        return self.found[clip.name]

    def _align_all(self, first: AudioClip) -> None:
        """Align ``first`` and every other clip of the session with a reference, then release
        the aligner."""
        if self.failure is not None:
            raise Skip(self.failure)
        try:
            aligner = self.load_aligner()
        except Skip as reason:
            self.failure = f"the reference's word times need {ALIGNER} {ALIGNER_SIZE}: {reason}"
            raise Skip(self.failure) from reason
        model = aligner.model  # type: ignore[attr-defined]
        try:
            for name in [first.name, *self.clips.paths]:
                if name in self.found:
                    continue
                try:
                    clip = first if name == first.name else self.clips.get(name)
                except Skip:
                    continue  # its own cases skip with the reason
                if clip.reference is not None:
                    found = ReferenceAligner(model).align(clip.samples, clip.reference)
                    self.found[name] = found
        finally:
            aligner.cleanup()
