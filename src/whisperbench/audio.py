"""Audio in: any file soundfile reads -> 16 kHz mono float32, plus the reference transcript
beside it.

Input checks, cheap enough to run on every file when the cases are collected, before any model
loads (each raises ``AudioError`` naming the file, the problem and the fix):

- ``check_audio_file``: a regular, non-empty file whose header soundfile reads, with samples,
  and whose first second decodes to finite samples;
- ``read_reference``: the ``.txt`` beside it is UTF-8 text (None when it is absent, blank, or
  holds no words once normalised: no WER);
- ``reference_warning``: why a reference that is there gives no WER (blank, or no words);
- ``screen_audio_files``: all three over a list of files: the usable ones, the rejected ones
  with their reasons, and the warnings.
"""

from __future__ import annotations

import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from whisperbench import data
from whisperbench.errors import AudioError

SAMPLE_RATE = 16_000
REFERENCE_SUFFIX = ".txt"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".opus")

FIXTURE_AUDIO_DIR = data.folder("audio")
"""The reference clips, shipped as package data (``whisperbench.data``)."""
PROBE_SECONDS = 1.0
"""How much of each file ``check_audio_file`` decodes."""


@dataclass(frozen=True)
class AudioClip:
    """A clip ready for every implementation: 16 kHz mono float32 samples and what was said."""

    name: str
    path: Path
    samples: np.ndarray
    reference: str | None = None

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def _check_file(path: Path, what: str, *, may_be_empty: bool = False) -> None:
    """A regular file (not a folder, a pipe or a device) that exists and is not empty."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise AudioError(f"{path}: no such {what}; check the path") from None
    except OSError as exc:
        raise AudioError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode):
        raise AudioError(f"{path}: is a folder, not a file")
    if not stat.S_ISREG(mode):
        raise AudioError(f"{path}: is not a regular file (a pipe or a device): it cannot be read")
    if path.stat().st_size == 0 and not may_be_empty:
        raise AudioError(f"{path}: the file is empty (0 bytes); re-record or re-export it")


def _not_audio(path: Path | str, exc: Exception) -> AudioError:
    detail = str(exc).replace(f"'{path}'", "").replace("Error opening :", "").strip(" :")
    return AudioError(
        f"{path}: not readable as audio ({detail}); use a wav, flac or ogg file "
        f"that soundfile/libsndfile {sf.__libsndfile_version__} can decode"
    )


_READ_ERRORS = (sf.LibsndfileError, RuntimeError, TypeError, ValueError)


def check_audio_file(path: str | Path) -> None:
    """Cheap check that ``path`` can be benchmarked: a regular non-empty file, a header
    soundfile reads, samples, and a first second that decodes. Raises ``AudioError`` naming
    the file, the problem and the fix."""
    path = Path(path)
    _check_file(path, "audio file")
    try:
        with sf.SoundFile(_sf_path(path)) as handle:
            frames, rate = handle.frames, handle.samplerate
            head = handle.read(max(1, int(rate * PROBE_SECONDS)), dtype="float32")
    except _READ_ERRORS as exc:
        raise _not_audio(path, exc) from exc
    if frames == 0 or len(head) == 0:
        raise AudioError(f"{path}: holds no audio samples; re-record or re-export it")
    if not np.isfinite(head).all():
        raise _not_finite(str(path))


def load_audio(path: str | Path) -> np.ndarray:
    """Read ``path`` and return 16 kHz mono float32 samples.

    Raises AudioError, naming the file and the reason, for a missing, empty, corrupt or
    non-audio file.
    """
    path = Path(path)
    _check_file(path, "audio file")
    return _decoded(path, str(path))


def decode_audio(data: bytes, name: str) -> np.ndarray:
    """The bytes of an audio file (wav, flac, ogg, mp3, ...: a dataset row's audio) -> 16 kHz
    mono float32 samples; AudioError naming ``name`` when they are not readable audio."""
    if not data:
        raise AudioError(f"{name}: holds no audio data (0 bytes)")
    return _decoded(io.BytesIO(data), name)


def _sf_path(path: Path) -> str | bytes:
    """``path`` as soundfile can open it: a name that is not valid UTF-8 (a file copied from
    another system; Python holds its bytes as surrogates) as its bytes."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(text)
    return text


def _decoded(source: Path | io.BytesIO, name: str) -> np.ndarray:
    try:
        opened = _sf_path(source) if isinstance(source, Path) else source
        data, rate = sf.read(opened, dtype="float32", always_2d=True)
    except _READ_ERRORS as exc:
        raise _not_audio(name, exc) from exc
    return to_16k_mono(data, rate, name)


def to_16k_mono(data: np.ndarray, rate: int, name: str) -> np.ndarray:
    """Samples ``[frames]`` or ``[frames, channels]`` at ``rate`` -> 16 kHz mono float32 (the
    channels averaged, resampled by soxr); AudioError naming ``name`` when there are none or
    they are not finite."""
    data = np.asarray(data, dtype=np.float32)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[0] == 0:
        raise AudioError(f"{name}: holds no audio samples; re-record or re-export it")
    mono = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if rate != SAMPLE_RATE:
        mono = soxr.resample(mono, rate, SAMPLE_RATE, quality="HQ")
    samples = np.ascontiguousarray(mono, dtype=np.float32)
    if not np.isfinite(samples).all():
        raise _not_finite(name)
    return samples


def _not_finite(name: str) -> AudioError:
    return AudioError(
        f"{name}: contains NaN or infinite samples; the file is corrupt: re-export it"
    )


def reference_path(audio_path: Path) -> Path:
    return audio_path.with_suffix(REFERENCE_SUFFIX)


def _reference_text(audio_path: Path) -> str | None:
    """The stripped text of the ``.txt`` beside ``audio_path`` (None when there is none);
    ``AudioError`` when it cannot be read or is not UTF-8 text."""
    ref = reference_path(Path(audio_path))
    if not os.path.lexists(ref):
        return None
    _check_file(ref, "reference transcript", may_be_empty=True)
    try:
        return ref.read_text(encoding="utf-8-sig").strip()
    except UnicodeDecodeError as exc:
        byte = exc.object[exc.start]
        raise AudioError(
            f"{ref}: the reference transcript is not UTF-8 text (byte 0x{byte:02x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise AudioError(f"{ref}: the reference transcript cannot be read ({exc})") from None


def _has_words(text: str) -> bool:
    from whisperbench.scoring.words import has_words

    return has_words(text)


def read_reference(audio_path: Path) -> str | None:
    """The transcript in the ``.txt`` beside ``audio_path``: None where there is none, or it
    is blank or holds no words once normalised (no WER then; ``reference_warning`` says why).
    Raises ``AudioError`` for a reference that is not UTF-8 text or cannot be read."""
    text = _reference_text(audio_path)
    return text if text and _has_words(text) else None


def reference_warning(audio_path: Path) -> str | None:
    """Why the reference beside ``audio_path`` gives no WER although the file is there: it is
    blank, or holds no words once normalised; None otherwise (no file: no warning)."""
    text = _reference_text(audio_path)
    if text is None or (text and _has_words(text)):
        return None
    what = "is empty" if not text else f"holds no words once normalised ({text[:40]!r})"
    return (
        f"{reference_path(Path(audio_path))}: the reference transcript {what}, so this clip "
        "gets no WER; write what is said into it, or delete it"
    )


@dataclass(frozen=True)
class ScreenedAudio:
    """Audio files sorted by ``screen_audio_files``."""

    usable: tuple[Path, ...]
    rejected: tuple[tuple[Path, str], ...]
    """Each file that cannot be used, with the one-line reason (which names it)."""
    warnings: tuple[str, ...]
    """Usable files that give no WER, each with the reason."""


def screen_audio_files(paths: list[Path] | tuple[Path, ...]) -> ScreenedAudio:
    """``check_audio_file`` and the reference checks on each of ``paths``."""
    usable: list[Path] = []
    rejected: list[tuple[Path, str]] = []
    warnings: list[str] = []
    for path in paths:
        try:
            check_audio_file(path)
            warning = reference_warning(path)
        except AudioError as exc:
            rejected.append((path, str(exc)))
            continue
        usable.append(path)
        if warning is not None:
            warnings.append(warning)
    return ScreenedAudio(tuple(usable), tuple(rejected), tuple(warnings))


def load_clip(path: str | Path, name: str | None = None) -> AudioClip:
    path = Path(path)
    return AudioClip(
        name=name or path.stem,
        path=path,
        samples=load_audio(path),
        reference=read_reference(path),
    )


def find_audio_files(path: str | Path) -> list[Path]:
    """A file -> itself; a folder -> its audio files, sorted by name."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in AUDIO_SUFFIXES)
        if not files:
            raise AudioError(
                f"{path}: no audio files in this folder (looked for {', '.join(AUDIO_SUFFIXES)})"
            )
        return files
    if not path.exists():
        raise AudioError(f"{path}: no such audio file or folder; check the path")
    return [path]


def fixture_clip_path(name: str) -> Path:
    """One of the committed reference clips: short (~9 s), medium (~57 s), long (~5.5 min)."""
    return FIXTURE_AUDIO_DIR / f"{name}.flac"
