from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from whisperbench.audio import (
    SAMPLE_RATE,
    check_audio_file,
    find_audio_files,
    fixture_clip_path,
    load_audio,
    load_clip,
    read_reference,
    reference_warning,
    screen_audio_files,
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


def _clip(folder: Path, name: str, reference: bytes | None) -> Path:
    path = folder / name
    sf.write(path, load_audio(fixture_clip_path("short")), SAMPLE_RATE)
    if reference is not None:
        path.with_suffix(".txt").write_bytes(reference)
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")
def test_a_named_pipe_is_refused_without_opening_it(tmp_path: Path) -> None:
    pipe = tmp_path / "live.wav"
    os.mkfifo(pipe)
    with pytest.raises(AudioError, match="is not a regular file"):
        check_audio_file(pipe)  # opening it would hang: nobody writes the pipe
    clip = _clip(tmp_path, "ok.wav", None)
    clip.with_suffix(".txt").unlink(missing_ok=True)
    os.mkfifo(clip.with_suffix(".txt"))
    with pytest.raises(AudioError, match=r"ok\.txt: is not a regular file"):
        read_reference(clip)


def test_references_are_utf8_with_or_without_a_bom_and_fillers_give_no_wer(
    tmp_path: Path,
) -> None:
    bom = _clip(tmp_path, "bom.wav", "\ufeffGood morning.".encode())
    assert read_reference(bom) == "Good morning." and reference_warning(bom) is None
    umm = _clip(tmp_path, "umm.wav", b"[inaudible] um, uh")
    assert read_reference(umm) is None
    assert "holds no words once normalised ('[inaudible] um, uh')" in str(reference_warning(umm))
    none = _clip(tmp_path, "none.wav", None)
    assert read_reference(none) is None and reference_warning(none) is None


def test_screening_keeps_the_good_files_in_order_and_names_each_bad_one(tmp_path: Path) -> None:
    good = _clip(tmp_path, "a.wav", b"Good morning.")
    bad = tmp_path / "b.wav"
    bad.write_bytes(b"RIFF....WAVE")
    latin = _clip(tmp_path, "c.wav", "Caf\u00e9".encode("latin-1"))
    blank = _clip(tmp_path, "d.wav", b"")
    screened = screen_audio_files(find_audio_files(tmp_path))
    assert screened.usable == (good, blank)
    assert [path for path, _ in screened.rejected] == [bad, latin]
    assert screened.rejected[0][1].startswith(f"{bad}: not readable as audio")
    assert screened.rejected[1][1].startswith(f"{latin.with_suffix('.txt')}: the reference")
    assert (
        len(screened.warnings) == 1
        and "d.txt: the reference transcript is empty" in (screened.warnings[0])
    )


def test_nan_samples_are_found_at_collection_in_the_first_second_else_at_load(
    tmp_path: Path,
) -> None:
    for where, name in ((100, "early.wav"), (SAMPLE_RATE * 2, "late.wav")):
        samples = np.full(SAMPLE_RATE * 3, 0.1, dtype=np.float32)
        samples[where] = np.inf if where > SAMPLE_RATE else np.nan
        sf.write(tmp_path / name, samples, SAMPLE_RATE, subtype="FLOAT")
    corrupt = "contains NaN or infinite samples; the file is corrupt: re-export it"
    with pytest.raises(AudioError, match=f"early.wav: {corrupt}"):
        check_audio_file(tmp_path / "early.wav")
    check_audio_file(tmp_path / "late.wav")  # only the first second is decoded when collecting
    with pytest.raises(AudioError, match=f"late.wav: {corrupt}"):
        load_audio(tmp_path / "late.wav")
