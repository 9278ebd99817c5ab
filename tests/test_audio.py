from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from whisperbench.audio import (
    SAMPLE_RATE,
    find_audio_files,
    fixture_clip_path,
    load_audio,
    load_clip,
)
from whisperbench.errors import AudioError


def test_fixture_clips_are_16k_mono_with_references() -> None:
    clip = load_clip(fixture_clip_path("short"))
    assert clip.samples.dtype == np.float32
    assert clip.samples.ndim == 1
    assert 8.5 < clip.duration_s < 10.5
    assert clip.reference is not None and clip.reference.startswith("Good morning. Today we will")
    assert load_clip(fixture_clip_path("long")).duration_s >= 300


def make_44k_stereo(tmp_path: Path) -> Path:
    """The short clip at 44.1 kHz stereo (one channel a little quieter), as a WAV file."""
    mono = load_audio(fixture_clip_path("short"))
    up = soxr.resample(mono, SAMPLE_RATE, 44_100)
    stereo = np.stack([up, 0.8 * up], axis=1)
    path = tmp_path / "stereo44k.wav"
    sf.write(path, stereo, 44_100, subtype="PCM_16")
    return path


def test_44k_stereo_is_resampled_to_16k_mono(tmp_path: Path) -> None:
    original = load_audio(fixture_clip_path("short"))
    converted = load_audio(make_44k_stereo(tmp_path))
    assert converted.ndim == 1
    assert abs(len(converted) - len(original)) <= 2
    n = min(len(converted), len(original))
    correlation = np.corrcoef(original[:n], converted[:n])[0, 1]
    assert correlation > 0.99


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="no such audio file"):
        load_audio(tmp_path / "nope.wav")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(AudioError, match=r"empty\.wav: the file is empty"):
        load_audio(path)


def test_corrupt_file(tmp_path: Path) -> None:
    good = fixture_clip_path("short").read_bytes()
    path = tmp_path / "corrupt.flac"
    path.write_bytes(good[:200] + bytes(range(256)) * 8)
    with pytest.raises(AudioError, match=r"corrupt\.flac"):
        load_audio(path)


def test_non_audio_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("this is a shopping list, not a recording\n")
    with pytest.raises(AudioError, match=r"notes\.wav: not readable as audio"):
        load_audio(path)


def test_header_without_samples(tmp_path: Path) -> None:
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros((0, 1), dtype=np.float32), SAMPLE_RATE)
    with pytest.raises(AudioError, match=r"silent\.wav"):
        load_audio(path)


def test_folder_listing(tmp_path: Path) -> None:
    assert [p.stem for p in find_audio_files(fixture_clip_path("short").parent)] == [
        "long",
        "medium",
        "seams",
        "short",
        "spontaneous",
    ]
    with pytest.raises(AudioError, match="no audio files"):
        find_audio_files(tmp_path)
