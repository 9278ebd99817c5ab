"""Audio in: any file soundfile reads -> 16 kHz mono float32, plus the reference transcript
beside it."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from whisperbench.errors import AudioError

SAMPLE_RATE = 16_000
REFERENCE_SUFFIX = ".txt"
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif", ".au", ".opus")

FIXTURE_AUDIO_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "audio"


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


def load_audio(path: str | Path) -> np.ndarray:
    """Read ``path`` and return 16 kHz mono float32 samples.

    Raises AudioError, naming the file and the reason, for a missing, empty, corrupt or
    non-audio file.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(f"{path}: no such audio file; check the path")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: the file is empty (0 bytes); re-record or re-export it")
    return _decoded(path, str(path))


def decode_audio(data: bytes, name: str) -> np.ndarray:
    """The bytes of an audio file (wav, flac, ogg, mp3, ...: a dataset row's audio) -> 16 kHz
    mono float32 samples; AudioError naming ``name`` when they are not readable audio."""
    if not data:
        raise AudioError(f"{name}: holds no audio data (0 bytes)")
    return _decoded(io.BytesIO(data), name)


def _decoded(source: Path | io.BytesIO, name: str) -> np.ndarray:
    try:
        data, rate = sf.read(source, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, TypeError) as exc:
        raise AudioError(
            f"{name}: not readable as audio ({exc}); use a wav, flac or ogg file "
            f"that soundfile/libsndfile {sf.__libsndfile_version__} can decode"
        ) from exc
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
        raise AudioError(f"{name}: contains NaN or infinite samples; the file is corrupt")
    return samples


def reference_path(audio_path: Path) -> Path:
    return audio_path.with_suffix(REFERENCE_SUFFIX)


def read_reference(audio_path: Path) -> str | None:
    """The transcript in the ``.txt`` beside ``audio_path``, or None where there is none."""
    ref = reference_path(audio_path)
    if not ref.is_file():
        return None
    text = ref.read_text(encoding="utf-8").strip()
    return text or None


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
