"""The session's inputs: the reference clips and clip sets, ``--audio`` files screened before any
model loads, and the clip and corpus libraries that read each input once per session."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from whisperbench.audio import (
    AudioClip,
    find_audio_files,
    fixture_clip_path,
    load_clip,
    reference_warning,
    screen_audio_files,
)
from whisperbench.corpus_shards import Shard, shard_corpus
from whisperbench.datasets import (
    FIXTURE_CORPUS_DIR,
    FIXTURE_REALSPEECH_DIR,
    Corpus,
    DatasetSpec,
    Skipped,
    read_corpus,
)
from whisperbench.errors import AudioError, DatasetError
from whisperbench.suite.cases import EmptyInput, Notifier, ProgressDisplay, Skip
from whisperbench.suite.input_checks import distinct_names, folder_leftovers

CLIPS = ("short", "medium", "long", "seams", "spontaneous")
"""The espeak-ng reference clips: about 10 s, 1 min and 5.5 min of read speech; 55 s with pauses
at the window seams and 52 s of rambling speech with fillers and a long pause (long-form traps
placed where the text says)."""
CLIP_SETS = {"real": FIXTURE_REALSPEECH_DIR, "corpus": FIXTURE_CORPUS_DIR}
"""``--clips`` names that run a shipped set as one corpus case: ``real``, the 37 real
recordings of people (``whisperbench/data/realspeech``: 18.9 min, 12 long-form readings of
66-104 s); ``corpus``, the 48-utterance espeak-ng corpus (``whisperbench/data/corpus``)."""
REAL_CLIPS = "real"
DEFAULT_CLIPS = ("short", REAL_CLIPS)
"""A 10 s clip (a quick check of each engine) and the real clip set: real speech, enough of it
(220 units, about 3000 words) for intervals that can rank engines."""
SKIPPED_SHOWN = 20
"""Skipped items named one per line (and saved with their reasons); the rest are counted."""


def fixture_clips(names: tuple[str, ...] | list[str]) -> tuple[Path, ...]:
    paths = tuple(fixture_clip_path(name) for name in names)
    for name, path in zip(names, paths, strict=True):
        if not path.is_file():
            raise FileNotFoundError(
                f"clip {name!r} is not one of the reference clips ({', '.join(CLIPS)}) or clip "
                f"sets ({', '.join(CLIP_SETS)}); use --audio PATH for your own files"
            )
    return paths


@dataclass(frozen=True)
class AudioInputs:
    """The ``--audio`` files to benchmark, and the lines saying what was left out and why."""

    clips: tuple[Path, ...]
    rejected: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def audio_inputs(path: str) -> AudioInputs:
    """The usable audio files of ``path`` (a file, or a folder of them), checked cheaply now
    (``audio.screen_audio_files``), before any model loads. A folder keeps its good files and
    names each bad one; ``AudioError`` when nothing is usable (for one file: its reason)."""
    screened = screen_audio_files(find_audio_files(path))
    usable, clashes = distinct_names(screened.usable)
    rejected = tuple(reason for _, reason in (*screened.rejected, *clashes))
    if not usable:
        if len(rejected) == 1:
            raise AudioError(rejected[0])
        more = f" (and {len(rejected) - 1} more like it)" if len(rejected) > 1 else ""
        raise AudioError(f"no usable audio file in {path}: {rejected[0]}{more}")
    warnings = (*folder_leftovers(Path(path)), *screened.warnings)
    return AudioInputs(tuple(usable), rejected, warnings)


def fixture_inputs(names: tuple[str, ...] | list[str]) -> AudioInputs:
    """The reference clips named, with a line for each whose reference gives no WER."""
    paths = fixture_clips(names)
    warnings = (reference_warning(path) for path in paths)
    return AudioInputs(paths, (), tuple(line for line in warnings if line))


def audio_clips(path: str) -> tuple[Path, ...]:
    """The usable audio files of ``path`` (see ``audio_inputs``)."""
    return audio_inputs(path).clips


@dataclass
class ClipLibrary:
    """Reads each clip once per session."""

    paths: dict[str, Path]
    clips: dict[str, AudioClip] = field(default_factory=dict)

    def get(self, name: str) -> AudioClip:
        """The clip, read once; ``Skip`` with the reason for a file that cannot be decoded
        after all (the collection-time check decodes only its first second)."""
        if name not in self.clips:
            try:
                self.clips[name] = load_clip(self.paths[name])
            except AudioError as exc:
                raise Skip(str(exc)) from exc
        return self.clips[name]


@dataclass
class CorpusLibrary:
    """Reads each corpus once per session; remembers one that could not be read."""

    specs: dict[str, DatasetSpec]
    notify: Notifier
    progress: ProgressDisplay | None = None
    corpora: dict[str, Corpus] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def get(self, name: str, shard: Shard | None = None) -> Corpus:
        """The corpus, read once, or the part of it that ``shard`` holds (``EmptyInput`` for a
        shard that holds no utterance: more shards than readable utterances)."""
        if name in self.failures:
            raise EmptyInput(self.failures[name])
        if name not in self.corpora:
            try:
                self.corpora[name] = self._read(self.specs[name])
            except (DatasetError, EmptyInput) as exc:
                self.failures[name] = str(exc)
                raise EmptyInput(str(exc)) from exc
        corpus = self.corpora[name]
        if shard is None:
            return corpus
        part = shard_corpus(corpus, shard)
        if not part.utterances:
            raise EmptyInput(
                f"corpus {name}: {shard.label} holds no utterance: it has "
                f"{len(corpus.utterances)} readable utterance(s) for {shard.count} shards; give "
                f"--shards {len(corpus.utterances)} or fewer"
            )
        return part

    def _list(self, name: str, items: tuple[Skipped, ...], what: str) -> None:
        """A line per item (the first ``SKIPPED_SHOWN``), then how many more."""
        for item in items[:SKIPPED_SHOWN]:
            self.notify(f"whisperbench: corpus {name}: {item.id}: {what}: {item.reason}")
        if len(items) > SKIPPED_SHOWN:
            more = len(items) - SKIPPED_SHOWN
            self.notify(f"whisperbench: corpus {name}: {more} more item(s) {what}")

    def _read(self, spec: DatasetSpec) -> Corpus:
        display = self.progress
        if display is None:
            corpus = read_corpus(spec)
        else:
            try:
                corpus = read_corpus(spec, display.start(f"reading corpus {spec.name}"))
            finally:
                display.stop()
        self._list(spec.name, corpus.skipped, "skipped")
        self._list(spec.name, corpus.unscored, "not scored")
        if spec.limit is not None and 0 < len(corpus.utterances) < spec.limit:
            self.notify(
                f"whisperbench: warning: corpus {spec.name}: --dataset-limit {spec.limit} is "
                f"more than the {len(corpus.utterances)} utterance(s) it could read; all of "
                "them run"
            )
        if not corpus.utterances:
            raise EmptyInput(
                f"corpus {spec.name} ({spec.given}): no readable utterance "
                f"({len(corpus.skipped)} item(s) skipped)"
            )
        return corpus
