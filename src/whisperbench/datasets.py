"""Corpora in: many utterances with their reference transcripts, as one record type.

A ``--dataset`` names one of:

- a **LibriSpeech-style folder**: ``<speaker>/<chapter>/<id>.flac`` with a
  ``<speaker>-<chapter>.trans.txt`` beside them holding ``<id> <TEXT>`` lines (found at any
  depth, so ``LibriSpeech/`` and ``LibriSpeech/test-clean/`` both work);
- a **manifest**: JSON Lines (``.jsonl``/``.json``) or CSV (``.csv``/``.tsv``) rows with
  ``audio`` (a path, relative ones resolved against the manifest's folder; NeMo's
  ``audio_filepath`` too), ``text`` and an optional ``id``;
- a **folder of audio files** with a ``.txt`` transcript beside each (what ``--audio`` reads);
- a **Hugging Face dataset**: a folder written by ``datasets``' ``save_to_disk``, or
  ``hf://NAME[:CONFIG]:SPLIT``, streamed from the Hub by ``datasets`` (online only).

Every item becomes an ``Utterance`` (id, 16 kHz mono float32 samples, reference, duration),
decoded and normalised by ``audio`` exactly as ``--audio`` files are. An item that cannot be
read is skipped with a one-line reason (``Skipped``), never at the cost of the others; the
corpus keeps the list. A manifest line or a dataset row without a transcript is such an item;
an utterance whose transcript holds no words once normalised (``"..."``), or that has no
transcript file beside it (a folder of audio files), runs unscored and is named in
``Corpus.unscored``. ``parse_dataset`` checks a ``--dataset`` value without reading the audio:
a bad one, or a local corpus none of whose items is usable, is a usage error before anything
runs; ``read_corpus`` reads it.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from whisperbench import data
from whisperbench.audio import (
    AUDIO_SUFFIXES,
    SAMPLE_RATE,
    decode_audio,
    load_audio,
    read_reference,
    to_16k_mono,
)
from whisperbench.errors import AudioError, DatasetError
from whisperbench.scoring.words import has_words

HUB_PREFIX = "hf://"
HUB_SYNTAX = "hf://NAME[:CONFIG]:SPLIT, for example hf://openslr/librispeech_asr:clean:test"
MANIFEST_SUFFIXES = (".jsonl", ".json", ".csv", ".tsv")
AUDIO_KEYS = ("audio", "audio_filepath")
"""A manifest row's audio path (``audio_filepath``: NeMo's manifests)."""
TEXT_KEYS = ("text", "transcription", "transcript", "sentence", "normalized_text")
"""A manifest row's or a dataset's reference transcript, the first present."""
ID_KEYS = ("id", "utterance_id", "segment_id")
NO_TRANSCRIPT = f"no transcript (a field named {' or '.join(TEXT_KEYS)})"
DATASETS_HINT = "pip install 'whisperbench[datasets]'  (or: pip install datasets)"
FIXTURE_CORPUS_DIR = data.folder("corpus")
"""The espeak-ng corpus shipped as package data (``fixtures/corpus/make_corpus.py`` makes it),
``--clips corpus``."""
FIXTURE_REALSPEECH_DIR = data.folder("realspeech")
"""The committed real recordings (37 clips, 18.9 min; sources and licences in its
``SOURCES.md``), a folder corpus: ``--clips real``."""

Format = Literal["librispeech", "manifest", "folder", "hf-disk", "hf-hub"]
Progress = Callable[[int, int, str], None]
"""``(done, total, unit)``: items read so far (total 0 when unknown)."""


@dataclass(frozen=True)
class Utterance:
    """One item of a corpus: 16 kHz mono float32 samples and what was said."""

    id: str
    samples: np.ndarray
    reference: str | None
    """The reference transcript, or None where the corpus has none for this item."""
    source: str
    """Where it was read from: a file, or a dataset row (``NAME[ROW]``)."""

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


@dataclass(frozen=True)
class Skipped:
    """An item left out, and why."""

    id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.id}: skipped: {self.reason}"


@dataclass(frozen=True)
class DatasetSpec:
    """A ``--dataset`` value, checked but not yet read."""

    given: str
    format: Format
    name: str
    """The corpus as case IDs and reports name it: the folder or manifest name, or the Hub
    dataset's name, config and split; ``-firstN`` with a limit."""
    path: Path | None = None
    hub_name: str | None = None
    hub_config: str | None = None
    split: str | None = None
    limit: int | None = None
    """Read only the first ``limit`` utterances (``--dataset-limit``)."""


@dataclass(frozen=True)
class Corpus:
    spec: DatasetSpec
    utterances: tuple[Utterance, ...]
    skipped: tuple[Skipped, ...] = ()
    unscored: tuple[Skipped, ...] = ()
    """Utterances that run without a WER, and why (their reference holds no words)."""

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def audio_s(self) -> float:
        return sum(u.duration_s for u in self.utterances)


@dataclass(frozen=True)
class _Item:
    """An item found but not read yet: reading raises AudioError or DatasetError."""

    id: str
    read: Callable[[], tuple[np.ndarray, str | None, str]]
    """-> samples, reference, source."""
    path: Path | None = None
    """The audio file, where the item is one (checked before anything runs)."""


# --- naming and checking a --dataset -------------------------------------------------------------


def slug(text: str) -> str:
    """``text`` as a case ID part: letters, digits, ``.``, ``_`` and ``-``; accents dropped
    first (``données`` -> ``donnees``), as ``names.id_part`` drops them from clip names."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9._-]+", "_", plain).strip("_") or "dataset"


def parse_dataset(text: str, limit: int | None = None) -> DatasetSpec:
    """Check a ``--dataset`` value (without reading its audio): which format it is and what the
    corpus is called. DatasetError (one line: the problem and the fix) when it is unusable."""
    if limit is not None and limit < 1:
        raise DatasetError(f"--dataset-limit must be at least 1, got {limit}")
    suffix = f"-first{limit}" if limit else ""
    if text.startswith(HUB_PREFIX):
        name, config, split = _hub_parts(text)
        label = "-".join(p for p in (name.rsplit("/", 1)[-1], config, split) if p)
        return DatasetSpec(text, "hf-hub", slug(label) + suffix, None, name, config, split, limit)
    path = Path(text).expanduser()
    if not path.exists():
        raise DatasetError(
            f"--dataset {text}: no such file or folder; give a LibriSpeech-style folder, a "
            f"JSONL or CSV manifest, a folder of audio files with .txt beside them, a folder "
            f"saved by datasets' save_to_disk, or {HUB_SYNTAX}"
        )
    kind = _file_format(path) if path.is_file() else _folder_format(path)
    name = slug(path.stem if path.is_file() else path.resolve().name) + suffix
    spec = DatasetSpec(text, kind, name, path=path, limit=limit)
    _check_items(spec)
    return spec


def _check_items(spec: DatasetSpec) -> None:
    """A local corpus with no usable item (every line without audio or transcript, every
    audio file missing or empty) is a DatasetError naming the first reason; its audio is not
    decoded here."""
    if spec.format not in ("librispeech", "manifest", "folder"):
        return  # a dataset's rows are read when its case runs
    items, _ = _items(spec)
    reasons = []
    for item in items:
        reason = item.reason if isinstance(item, Skipped) else _file_problem(item.path)
        if reason is None:
            return
        reasons.append(f"{item.id}: {reason}")
    more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
    first = reasons[0] if reasons else "it lists no item"
    raise DatasetError(f"--dataset {spec.given}: no usable utterance: {first}{more}")


def _file_problem(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        size = path.stat().st_size
    except OSError as exc:
        return f"{path}: {exc.strerror or exc}"
    return None if size else f"{path}: the file is empty (0 bytes)"


def _hub_parts(text: str) -> tuple[str, str | None, str]:
    parts = text[len(HUB_PREFIX) :].split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise DatasetError(f"--dataset {text}: not a Hub dataset; write {HUB_SYNTAX}")
    if len(parts) == 2:
        return parts[0], None, parts[1]
    return parts[0], parts[1], parts[2]


def _file_format(path: Path) -> Format:
    suffix = path.suffix.lower()
    if suffix not in MANIFEST_SUFFIXES:
        hint = " (use --audio for audio files)" if suffix in AUDIO_SUFFIXES else ""
        raise DatasetError(
            f"--dataset {path}: a file must be a manifest ({', '.join(MANIFEST_SUFFIXES)}) "
            f"with audio and text fields{hint}"
        )
    if suffix in (".csv", ".tsv"):
        header = _csv_rows(path).fieldnames or []
        if _first_key(header, AUDIO_KEYS) is None:
            raise DatasetError(
                f"--dataset {path}: its header ({', '.join(header) or 'empty'}) has no audio "
                "column; the first row must name the columns audio, text and (optionally) id"
            )
    return "manifest"


def _folder_format(path: Path) -> Format:
    if (path / "dataset_dict.json").is_file():
        splits = sorted(p.name for p in path.iterdir() if (p / "state.json").is_file())
        raise DatasetError(
            f"--dataset {path}: a saved DatasetDict with the splits {', '.join(splits)}; "
            f"name one: --dataset {path / (splits[0] if splits else 'SPLIT')}"
        )
    if (path / "state.json").is_file() and (path / "dataset_info.json").is_file():
        return "hf-disk"
    if next(path.rglob("*.trans.txt"), None) is not None:
        return "librispeech"
    if any(p.suffix.lower() in AUDIO_SUFFIXES for p in path.iterdir()):
        return "folder"
    raise DatasetError(
        f"--dataset {path}: no corpus in this folder: expected LibriSpeech's layout "
        "(*/*/*.flac with <speaker>-<chapter>.trans.txt), audio files with a .txt beside each, "
        "or a dataset written by datasets' save_to_disk"
    )


def item_count(spec: DatasetSpec) -> int | None:
    """How many utterances a local corpus lists (its first ``spec.limit``), counted without
    reading its audio (an item found unreadable later is skipped then); None for a Hugging Face
    dataset, whose rows are known once read."""
    if spec.format not in ("librispeech", "manifest", "folder"):
        return None
    _, total = _items(spec)
    return total if spec.limit is None else min(total, spec.limit)


# --- reading ------------------------------------------------------------------------------------


def read_corpus(spec: DatasetSpec, progress: Progress | None = None) -> Corpus:
    """Read every item of ``spec`` (the first ``spec.limit``): each unreadable one (and each
    repeated id) is skipped with its reason. DatasetError when the corpus as a whole cannot be
    opened."""
    items, total = _items(spec)
    if spec.limit is not None:
        total = min(total, spec.limit) if total else spec.limit
    utterances: list[Utterance] = []
    skipped: list[Skipped] = []
    unscored: list[Skipped] = []
    seen: set[str] = set()
    for item in items:
        if spec.limit is not None and len(utterances) >= spec.limit:
            break
        if isinstance(item, Skipped):
            skipped.append(item)
            continue
        if item.id in seen:
            skipped.append(Skipped(item.id, "the id appears twice; the second is left out"))
            continue
        try:
            samples, reference, source = item.read()
        except (AudioError, DatasetError) as exc:
            skipped.append(Skipped(item.id, str(exc)))
            continue
        except (OSError, UnicodeDecodeError) as exc:  # a transcript beside the audio
            skipped.append(Skipped(item.id, f"{type(exc).__name__}: {exc}"))
            continue
        seen.add(item.id)
        if reference is None or not has_words(reference):
            unscored.append(Skipped(item.id, _unscored_reason(reference)))
            reference = None
        utterances.append(Utterance(item.id, samples, reference, source))
        if progress is not None:
            progress(len(utterances), total, "utterances read")
    return Corpus(spec, tuple(utterances), tuple(skipped), tuple(unscored))


def _unscored_reason(reference: str | None) -> str:
    what = (
        "no reference transcript"
        if reference is None
        else f"its reference holds no words once normalised ({reference[:40]!r})"
    )
    return f"{what}, so it gets no WER"


def _items(spec: DatasetSpec) -> tuple[Iterator[_Item | Skipped], int]:
    """The items of a corpus in their order, and how many there are (0: unknown)."""
    if spec.format in ("hf-disk", "hf-hub"):
        return _dataset_items(spec)
    assert spec.path is not None
    listed: list[_Item | Skipped]
    if spec.format == "librispeech":
        listed = list(_librispeech_items(spec.path))
    elif spec.format == "manifest":
        listed = list(_manifest_items(spec.path))
    else:
        listed = [_file_item(path, path.stem, read_reference) for path in _audio_files(spec.path)]
    return iter(listed), sum(isinstance(item, _Item) for item in listed)


def _audio_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)


def _file_item(path: Path, item_id: str, reference: Callable[[Path], str | None]) -> _Item:
    def read() -> tuple[np.ndarray, str | None, str]:
        return load_audio(path), reference(path), str(path)

    return _Item(item_id, read, path)


def _given(reference: str | None) -> Callable[[Path], str | None]:
    """The reference a corpus's own transcript file gives, whatever the audio file."""

    def reference_of(_audio: Path) -> str | None:
        return reference

    return reference_of


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(
            f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"
        ) from exc
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from exc


def _librispeech_items(root: Path) -> Iterator[_Item | Skipped]:
    """Each line ``<id> <TEXT>`` of each ``*.trans.txt``, its audio ``<id>.flac`` (or another
    audio suffix) beside it; audio files that no line names are skipped."""
    for transcripts in sorted(root.rglob("*.trans.txt")):
        try:
            lines = _text(transcripts).splitlines()
        except DatasetError as exc:
            yield Skipped(transcripts.name, f"{exc}; its utterances are left out")
            continue
        folder = transcripts.parent
        audio = {p.stem: p for p in _audio_files(folder)}
        for line in lines:
            item_id, _, text = line.strip().partition(" ")
            if not item_id:
                continue
            path = audio.pop(item_id, None)
            if path is None:
                yield Skipped(item_id, f"no audio file {item_id}.flac beside {transcripts}")
            elif not text.strip():
                yield Skipped(item_id, f"its line in {transcripts} has no transcript")
            else:
                yield _file_item(path, item_id, _given(text.strip()))
        for item_id in sorted(audio):
            yield Skipped(item_id, f"no line for it in {transcripts}")


def _manifest_items(path: Path) -> Iterator[_Item | Skipped]:
    rows = _jsonl_rows(path) if path.suffix.lower() in (".jsonl", ".json") else _csv_items(path)
    for number, row in rows:
        where = f"{path.name} line {number}"
        if isinstance(row, str):
            yield Skipped(where, row)
            continue
        audio_key = _first_key(row, AUDIO_KEYS)
        audio = row.get(audio_key) if audio_key else None
        if not isinstance(audio, str) or not audio.strip():
            yield Skipped(where, f"no audio path (a field named {' or '.join(AUDIO_KEYS)})")
            continue
        audio_path = Path(audio.strip()).expanduser()
        if not audio_path.is_absolute():
            audio_path = path.parent / audio_path
        reference = _transcript(row, _first_key(row, TEXT_KEYS))
        if reference is None:
            yield Skipped(where, NO_TRANSCRIPT)
            continue
        id_key = _first_key(row, ID_KEYS)
        given_id = row.get(id_key) if id_key else None
        item_id = str(given_id).strip() if given_id not in (None, "") else _path_id(audio)
        yield _file_item(audio_path, item_id, _given(reference))


def _transcript(row: Mapping[str, Any], key: str | None) -> str | None:
    """A row's transcript, stripped; None where it has none (no field, not text, blank)."""
    text = row.get(key) if key else None
    return (text.strip() or None) if isinstance(text, str) else None


def _path_id(audio: str) -> str:
    """An item's id when the manifest gives none: its audio path without the suffix."""
    path = Path(audio.strip())
    return (path.parent / path.stem).as_posix() if not path.is_absolute() else path.stem


def _first_key(row: Mapping[str, Any] | Iterable[str], keys: tuple[str, ...]) -> str | None:
    present = set(row)
    return next((key for key in keys if key in present), None)


def _jsonl_rows(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, f"not a JSON object ({exc.msg}); one object per line"
            continue
        yield number, row if isinstance(row, dict) else "not a JSON object; one object per line"


def _csv_rows(path: Path) -> csv.DictReader[str]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    return csv.DictReader(_text(path).splitlines(), delimiter=delimiter)


def _csv_items(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for row in (rows := _csv_rows(path)):
        yield rows.line_num, {key: value for key, value in row.items() if key is not None}


# --- Hugging Face datasets ----------------------------------------------------------------------


def _datasets_library() -> Any:
    try:
        import datasets
    except ImportError as exc:
        raise DatasetError(
            f"reading a Hugging Face dataset needs the datasets package: {DATASETS_HINT}"
        ) from exc
    return datasets


def _open_dataset(spec: DatasetSpec) -> Any:
    """The dataset of ``spec``: loaded from disk, or streamed from the Hub."""
    library = _datasets_library()
    if spec.format == "hf-disk":
        try:
            return library.load_from_disk(str(spec.path))
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{spec.given}: not a readable saved dataset ({exc})") from exc
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        raise DatasetError(
            f"{spec.given}: the Hugging Face Hub is off (--offline or HF_HUB_OFFLINE); save the "
            "dataset once with datasets' save_to_disk where you are online and pass that folder"
        )
    try:
        return library.load_dataset(
            spec.hub_name, spec.hub_config, split=spec.split, streaming=True
        )
    except Exception as exc:  # offline, unknown name/config/split, gated: the library's own
        raise DatasetError(
            f"{spec.given}: cannot open it from the Hugging Face Hub ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); online, check the name, "
            "config and split; offline, save it once with datasets' save_to_disk and pass "
            "that folder"
        ) from exc


def _dataset_items(spec: DatasetSpec) -> tuple[Iterator[_Item | Skipped], int]:
    dataset = _open_dataset(spec)
    features = getattr(dataset, "features", None) or {}
    columns = list(getattr(dataset, "column_names", None) or features)
    library = _datasets_library()
    audio_column = next(
        (name for name, feature in features.items() if isinstance(feature, library.Audio)),
        "audio" if "audio" in columns else None,
    )
    if audio_column is None:
        raise DatasetError(
            f"{spec.given}: no audio column (an Audio feature, or a column named audio) among "
            f"{', '.join(columns) or 'no columns'}"
        )
    if isinstance(features.get(audio_column), library.Audio):
        # the encoded file, decoded by ``audio`` as every other input (not by torchcodec)
        dataset = dataset.cast_column(audio_column, library.Audio(decode=False))
    text_column = _first_key(columns, TEXT_KEYS)
    id_column = _first_key(columns, ID_KEYS)
    base = spec.path if spec.format == "hf-disk" else None
    total = len(dataset) if spec.format == "hf-disk" else 0

    def rows() -> Iterator[_Item | Skipped]:
        try:
            for index, row in enumerate(dataset):
                yield _row_item(spec, index, row, audio_column, text_column, id_column, base)
        except DatasetError:
            raise
        except Exception as exc:  # a stream that breaks off, a shard that cannot be read
            raise DatasetError(f"{spec.given}: reading the dataset failed: {exc}") from exc

    return rows(), total


def _row_item(
    spec: DatasetSpec,
    index: int,
    row: Mapping[str, Any],
    audio_column: str,
    text_column: str | None,
    id_column: str | None,
    base: Path | None,
) -> _Item | Skipped:
    value = row.get(audio_column)
    path = value.get("path") if isinstance(value, Mapping) else value
    given = row.get(id_column) if id_column else None
    if given not in (None, ""):
        item_id = str(given)
    elif isinstance(path, str) and path:
        item_id = Path(path).stem
    else:
        item_id = f"row-{index:06d}"
    reference = _transcript(row, text_column)
    source = f"{spec.given}[{index}]"
    if reference is None and text_column is not None:
        return Skipped(item_id, f"no transcript (its {text_column!r} column is empty)")

    def read() -> tuple[np.ndarray, str | None, str]:
        return _row_samples(value, source, base), reference, source

    return _Item(item_id, read)


def _row_samples(value: Any, source: str, base: Path | None) -> np.ndarray:
    """A row's audio: the encoded file's bytes, decoded samples with their rate, or a path."""
    if isinstance(value, Mapping):
        if value.get("bytes"):
            return decode_audio(value["bytes"], source)
        if value.get("array") is not None and value.get("sampling_rate"):
            return to_16k_mono(np.asarray(value["array"]), int(value["sampling_rate"]), source)
        value = value.get("path")
    if isinstance(value, str) and value:
        path = Path(value)
        if not path.is_absolute() and base is not None and (base / path).exists():
            path = base / path
        return load_audio(path)
    raise AudioError(f"{source}: the row holds no audio (no bytes, samples or path)")
