"""Corpora in (``datasets.py``): every format a ``--dataset`` names becomes the same utterance
records, normalised as ``--audio`` files are; each unreadable item is skipped with one line and
never at the cost of the others; a bad ``--dataset`` is one clear line before anything runs.
Real files throughout: the committed espeak-ng corpus, files written here, and a real
``datasets.Dataset`` with an Audio column saved to disk (no network)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from whisperbench.audio import SAMPLE_RATE
from whisperbench.datasets import (
    FIXTURE_CORPUS_DIR,
    Corpus,
    parse_dataset,
    read_corpus,
)
from whisperbench.errors import DatasetError

CHAPTER = FIXTURE_CORPUS_DIR / "1001" / "10"


def reference_of(utterance_id: str) -> str:
    speaker, chapter, _ = utterance_id.split("-")
    transcripts = FIXTURE_CORPUS_DIR / speaker / chapter / f"{speaker}-{chapter}.trans.txt"
    for line in transcripts.read_text(encoding="utf-8").splitlines():
        found, _, text = line.partition(" ")
        if found == utterance_id:
            return text
    raise KeyError(utterance_id)


def test_the_committed_corpus_is_48_short_utterances_with_references() -> None:
    spec = parse_dataset(str(FIXTURE_CORPUS_DIR))
    assert (spec.format, spec.name) == ("librispeech", "corpus")
    corpus = read_corpus(spec)
    assert len(corpus.utterances) == 48 and corpus.skipped == ()
    assert len({u.id for u in corpus.utterances}) == 48
    assert {u.id.split("-")[0] for u in corpus.utterances} == {"1001", "1002", "1003", "1004"}
    assert all(2.0 < u.duration_s < 6.0 for u in corpus.utterances)
    assert 150 < corpus.audio_s < 190
    first = corpus.utterances[0]
    assert first.id == "1001-10-0000" and first.samples.dtype == np.float32
    assert first.reference == "THE KETTLE WAS ALREADY BOILING WHEN SHE CAME DOWN THE STAIRS"
    assert first.source.endswith("1001-10-0000.flac")


def librispeech_copy(root: Path) -> Path:
    """One chapter of the committed corpus under ``root/test-other``, made to go wrong: a
    corrupt file, a line without a transcript, a line without audio, audio without a line, and
    another chapter whose transcript file is not UTF-8."""
    chapter = root / "test-other" / "1001" / "10"
    shutil.copytree(CHAPTER, chapter)
    (chapter / "1001-10-0001.flac").write_bytes(b"not audio at all")
    transcripts = chapter / "1001-10.trans.txt"
    lines = transcripts.read_text(encoding="utf-8").splitlines()
    lines[2] = "1001-10-0002"  # no transcript
    lines.append("1001-10-0099 A LINE WITHOUT AUDIO")
    transcripts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copy(chapter / "1001-10-0003.flac", chapter / "1001-10-0042.flac")  # not listed
    latin = root / "test-other" / "1002" / "20"
    latin.mkdir(parents=True)
    shutil.copy(FIXTURE_CORPUS_DIR / "1002" / "20" / "1002-20-0000.flac", latin)
    (latin / "1002-20.trans.txt").write_bytes("1002-20-0000 CAFÉ\n".encode("latin-1"))
    return root / "test-other"


def test_a_librispeech_folder_skips_each_bad_item_with_its_reason(tmp_path: Path) -> None:
    folder = librispeech_copy(tmp_path / "LibriSpeech")
    for given in (folder, folder.parent):  # the split folder, or the folder above it
        spec = parse_dataset(str(given))
        assert spec.format == "librispeech"
        corpus = read_corpus(spec)
        assert [u.id for u in corpus.utterances] == [
            "1001-10-0000",
            "1001-10-0003",
            "1001-10-0004",
            "1001-10-0005",
        ]
        reasons = {s.id: s.reason for s in corpus.skipped}
        assert set(reasons) == {
            "1001-10-0001",
            "1001-10-0002",
            "1001-10-0099",
            "1001-10-0042",
            "1002-20.trans.txt",
        }
        assert "not readable as audio" in reasons["1001-10-0001"]
        assert "has no transcript" in reasons["1001-10-0002"]
        assert "no audio file 1001-10-0099.flac" in reasons["1001-10-0099"]
        assert "no line for it" in reasons["1001-10-0042"]
        assert "not UTF-8" in reasons["1002-20.trans.txt"]
        assert "left out" in reasons["1002-20.trans.txt"]
        assert all("\n" not in str(s) for s in corpus.skipped)
    assert parse_dataset(str(folder)).name == "test-other"
    assert parse_dataset(str(folder.parent)).name == "LibriSpeech"


def test_a_limit_reads_only_the_first_utterances_and_names_the_subset() -> None:
    spec = parse_dataset(str(FIXTURE_CORPUS_DIR), limit=5)
    assert spec.name == "corpus-first5"
    seen: list[tuple[int, int, str]] = []
    corpus = read_corpus(spec, lambda done, total, unit: seen.append((done, total, unit)))
    assert [u.id for u in corpus.utterances] == [f"1001-10-000{i}" for i in range(5)]
    assert seen[-1] == (5, 5, "utterances read")
    with pytest.raises(DatasetError, match="--dataset-limit must be at least 1"):
        parse_dataset(str(FIXTURE_CORPUS_DIR), limit=0)


def write_44k_stereo(path: Path, source: Path) -> None:
    mono, rate = sf.read(source, dtype="float32")
    up = soxr.resample(mono, rate, 44_100)
    sf.write(path, np.stack([up, 0.5 * up], axis=1), 44_100, subtype="PCM_16")


def test_a_jsonl_manifest_resolves_relative_paths_and_normalises_audio(tmp_path: Path) -> None:
    clips = tmp_path / "clips"
    clips.mkdir()
    shutil.copy(CHAPTER / "1001-10-0000.flac", clips / "a.flac")
    write_44k_stereo(clips / "b.wav", CHAPTER / "1001-10-0001.flac")
    rows = [
        {"audio": "clips/a.flac", "text": reference_of("1001-10-0000"), "id": "first"},
        {"audio_filepath": str(clips / "b.wav"), "text": "the second"},  # NeMo's key, absolute
        {"audio": "clips/missing.flac", "text": "gone"},
        {"text": "no audio field"},
        {"audio": "clips/a.flac", "text": "the same id again", "id": "first"},
        {"audio": "clips/a.flac"},  # no text: left out, as the README says
        {"audio": "clips/a.flac", "text": "... !?! -- ;;; ...", "id": "dots"},
    ]
    lines = [json.dumps(row) for row in rows]
    lines.insert(2, "{not json")
    manifest = tmp_path / "my-set.jsonl"
    manifest.write_text("\n".join(lines) + "\n\n", encoding="utf-8")
    spec = parse_dataset(str(manifest))
    assert (spec.format, spec.name) == ("manifest", "my-set")
    corpus = read_corpus(spec)
    assert [u.id for u in corpus.utterances] == ["first", "b", "dots"]
    assert [u.reference for u in corpus.utterances] == [
        reference_of("1001-10-0000"),
        "the second",
        None,  # no words once normalised: unscored, and said so
    ]
    assert [(u.id, u.reason) for u in corpus.unscored] == [
        (
            "dots",
            "its reference holds no words once normalised ('... !?! -- ;;; ...'), "
            "so it gets no WER",
        )
    ]
    stereo = corpus.utterances[1]
    original, _ = sf.read(CHAPTER / "1001-10-0001.flac", dtype="float32")
    assert stereo.samples.ndim == 1 and stereo.samples.dtype == np.float32
    assert abs(len(stereo.samples) - len(original)) <= 2  # 44.1 kHz -> 16 kHz
    reasons = [str(s) for s in corpus.skipped]
    assert reasons[0].startswith("my-set.jsonl line 3: skipped: not a JSON object")
    assert "clips/missing: skipped:" in reasons[1] and "no such audio file" in reasons[1]
    assert reasons[2].startswith("my-set.jsonl line 5: skipped: no audio path")
    assert reasons[3] == "first: skipped: the id appears twice; the second is left out"
    assert reasons[4] == (
        "my-set.jsonl line 7: skipped: no transcript (a field named text or transcription or "
        "transcript or sentence or normalized_text)"
    )


def test_a_csv_manifest_needs_an_audio_column(tmp_path: Path) -> None:
    shutil.copy(CHAPTER / "1001-10-0000.flac", tmp_path / "a.flac")
    good = tmp_path / "set.csv"
    good.write_text(
        f'id,audio,text\nx1,a.flac,"{reference_of("1001-10-0000")}"\nx2,,empty\n',
        encoding="utf-8",
    )
    corpus = read_corpus(parse_dataset(str(good)))
    assert [(u.id, u.reference) for u in corpus.utterances] == [
        ("x1", reference_of("1001-10-0000"))
    ]
    assert [s.id for s in corpus.skipped] == ["set.csv line 3"]
    tsv = tmp_path / "set.tsv"
    tsv.write_text("audio\ttext\na.flac\thello there\n", encoding="utf-8")
    assert [u.id for u in read_corpus(parse_dataset(str(tsv))).utterances] == ["a"]
    bad = tmp_path / "bad.csv"
    bad.write_text("path,sentence\na.flac,hello\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"has no audio column; the first row must name"):
        parse_dataset(str(bad))


def test_a_folder_of_audio_files_reads_the_txt_beside_each(tmp_path: Path) -> None:
    shutil.copy(CHAPTER / "1001-10-0000.flac", tmp_path / "one.flac")
    (tmp_path / "one.txt").write_text(reference_of("1001-10-0000") + "\n", encoding="utf-8")
    shutil.copy(CHAPTER / "1001-10-0001.flac", tmp_path / "two.flac")  # no transcript
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVE")
    spec = parse_dataset(str(tmp_path))
    assert spec.format == "folder"
    corpus = read_corpus(spec)
    assert [(u.id, u.reference) for u in corpus.utterances] == [
        ("one", reference_of("1001-10-0000")),
        ("two", None),
    ]
    assert [s.id for s in corpus.skipped] == ["broken"]


def saved_dataset(folder: Path, files: list[Path], texts: list[str]) -> Path:
    """A real ``datasets.Dataset`` with an Audio column, written by ``save_to_disk``."""
    datasets = pytest.importorskip("datasets")
    table = {
        "audio": [str(path) for path in files],
        "text": texts,
        "id": [f"row{i}" for i in range(len(files))],
    }
    dataset = datasets.Dataset.from_dict(table).cast_column("audio", datasets.Audio())
    dataset.save_to_disk(str(folder))
    return folder


def test_a_dataset_saved_to_disk_is_read_without_its_source_files(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    files = [sources / "a.flac", sources / "b.wav", sources / "c.flac"]
    shutil.copy(CHAPTER / "1001-10-0000.flac", files[0])
    write_44k_stereo(files[1], CHAPTER / "1001-10-0001.flac")
    files[2].write_bytes(b"fLaC but broken")
    texts = [reference_of("1001-10-0000"), reference_of("1001-10-0001"), "broken"]
    folder = saved_dataset(tmp_path / "saved", files, texts)
    shutil.rmtree(sources)  # the saved dataset holds the encoded audio itself
    spec = parse_dataset(str(folder))
    assert (spec.format, spec.name) == ("hf-disk", "saved")
    corpus = read_corpus(spec)
    assert [(u.id, u.reference) for u in corpus.utterances] == [
        ("row0", texts[0]),
        ("row1", texts[1]),
    ]
    assert corpus.utterances[1].samples.ndim == 1
    assert corpus.utterances[0].source == f"{folder}[0]"
    (skipped,) = corpus.skipped
    assert skipped.id == "row2" and "not readable as audio" in skipped.reason


def test_a_saved_dataset_dict_asks_for_one_split(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    shutil.copy(CHAPTER / "1001-10-0000.flac", tmp_path / "a.flac")
    split = datasets.Dataset.from_dict({"audio": [str(tmp_path / "a.flac")], "text": ["x"]})
    datasets.DatasetDict({"test": split, "validation": split}).save_to_disk(str(tmp_path / "dd"))
    with pytest.raises(DatasetError, match=r"splits test, validation; name one: --dataset .*test"):
        parse_dataset(str(tmp_path / "dd"))
    corpus = read_corpus(parse_dataset(str(tmp_path / "dd" / "test")))  # a plain column of paths
    assert [u.id for u in corpus.utterances] == ["a"]


def test_hub_datasets_are_named_and_refused_clearly_when_offline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huggingface_hub import constants

    spec = parse_dataset("hf://openslr/librispeech_asr:clean:test", limit=100)
    assert (spec.format, spec.hub_name, spec.hub_config, spec.split) == (
        "hf-hub",
        "openslr/librispeech_asr",
        "clean",
        "test",
    )
    assert spec.name == "librispeech_asr-clean-test-first100"
    assert parse_dataset("hf://google/fleurs:test").name == "fleurs-test"
    for bad in ("hf://just-a-name", "hf://a:b:c:d", "hf://:test"):
        with pytest.raises(DatasetError, match=r"write hf://NAME\[:CONFIG\]:SPLIT"):
            parse_dataset(bad)
    pytest.importorskip("datasets", reason="reading a hub corpus needs whisperbench[datasets]")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(DatasetError, match="the Hugging Face Hub is off"):
        read_corpus(spec)


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda root: root / "nowhere", "no such file or folder"),
        (lambda root: root, "no corpus in this folder"),
        (lambda root: _file(root / "clip.flac"), "use --audio for audio files"),
        (lambda root: _file(root / "notes.md"), "a file must be a manifest"),
    ],
)
def test_a_bad_dataset_is_one_line_naming_the_fix(
    tmp_path: Path, make: object, problem: str
) -> None:
    with pytest.raises(DatasetError) as raised:
        parse_dataset(str(make(tmp_path)))  # type: ignore[operator]
    message = str(raised.value)
    assert problem in message and "\n" not in message


def _file(path: Path) -> Path:
    path.write_text("x", encoding="utf-8")
    return path


def test_a_corpus_sums_its_audio() -> None:
    corpus = read_corpus(parse_dataset(str(FIXTURE_CORPUS_DIR), limit=3))
    assert isinstance(corpus, Corpus)
    assert corpus.audio_s == pytest.approx(
        sum(len(u.samples) for u in corpus.utterances) / SAMPLE_RATE
    )


def test_a_dataset_row_without_words_is_unscored_and_one_without_text_left_out(
    tmp_path: Path,
) -> None:
    """Issue 27: a reference of punctuation only (``...``, which the normaliser leaves as a
    lone ``.``) scored every word of the transcript as an insertion (2400%); a row whose
    transcript is blank was an unscored utterance. Now: unscored and named; left out."""
    sources = tmp_path / "sources"
    sources.mkdir()
    files = [sources / f"{name}.flac" for name in ("a", "b", "c")]
    for path in files:
        shutil.copy(CHAPTER / "1001-10-0000.flac", path)
    texts = [reference_of("1001-10-0000"), "... !?! -- ;;; ...", "  "]
    corpus = read_corpus(parse_dataset(str(saved_dataset(tmp_path / "saved", files, texts))))
    assert [(u.id, u.reference) for u in corpus.utterances] == [("row0", texts[0]), ("row1", None)]
    (unscored,) = corpus.unscored
    assert unscored.id == "row1" and "holds no words once normalised" in unscored.reason
    (skipped,) = corpus.skipped
    assert (skipped.id, skipped.reason) == ("row2", "no transcript (its 'text' column is empty)")
