"""Native repos: whisper.cpp's ggml files and mlx-community's MLX folders, used instead of a
conversion where a whole copy is in the cache (online users get them from ``whisperbench
download``). No hub here, so the tests lay such snapshots out in a cache by hand, from real
tiny.en weights in the native repos' own layouts."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from whisperbench.models import native_repo
from whisperbench.weights import download_plans, inspect, provide, repo_of


def test_native_repo_names() -> None:
    ggml = native_repo("tiny.en", "ggml")
    assert ggml is not None and ggml.repo_id == "ggerganov/whisper.cpp"
    assert ggml.required == ("ggml-tiny.en.bin",) and ggml.one_file_of_many
    large = native_repo("large", "ggml")
    assert large is not None and large.required == ("ggml-large-v3-turbo.bin",)
    mlx = native_repo("tiny.en", "mlx")
    assert mlx is not None and mlx.repo_id == "mlx-community/whisper-tiny.en-mlx"
    assert mlx.required == ("config.json", "weights.safetensors|weights.npz")
    turbo = native_repo("large", "mlx")
    assert turbo is not None and turbo.repo_id == "mlx-community/whisper-large-v3-turbo"
    assert native_repo("tiny.en", "openai") is None  # openai's checkpoints are not on the hub


def test_download_prefers_the_native_repo_then_the_source() -> None:
    plans = download_plans("base", "ggml")
    assert [plan.repo_id for plan in plans] == ["ggerganov/whisper.cpp", "openai/whisper-base"]
    assert plans[0].allow_patterns == ("ggml-base.bin",)
    assert [p.repo_id for p in download_plans("base", "openai")] == ["openai/whisper-base"]
    assert [p.repo_id for p in download_plans("base", "ctranslate2")] == [
        "Systran/faster-whisper-base"
    ]


def test_repo_of_a_snapshot_path(tmp_path: Path) -> None:
    snapshot = tmp_path / "models--ggerganov--whisper.cpp" / "snapshots" / "abc123"
    assert repo_of(snapshot) == "ggerganov/whisper.cpp"
    assert repo_of(snapshot / "ggml-tiny.en.bin") == "ggerganov/whisper.cpp"
    assert repo_of(tmp_path / "converted" / "ggml" / "models--openai--whisper-tiny.en") is None


def lay_out_snapshot(cache: Path, repo_id: str, files: dict[str, Path]) -> Path:
    """A hub-cache repo as huggingface_hub writes one: blobs named by content, the snapshot's
    files linking to them, and ``refs/main``."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    revision = hashlib.sha1(repo_id.encode()).hexdigest()
    snapshot = repo / "snapshots" / revision
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for name, source in files.items():
        blob = repo / "blobs" / hashlib.sha256(source.read_bytes()).hexdigest()
        shutil.copyfile(source, blob)
        (snapshot / name).symlink_to(blob)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    return snapshot


@pytest.fixture(scope="module")
def native_cache(
    offline_models: dict[tuple[str, str], object], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A cache holding only native repos for tiny.en: whisper.cpp's ggml file and an MLX folder
    with ``weights.safetensors`` (as the newer mlx-community repos hold it), no transformers
    snapshot to convert from."""
    pytest.importorskip("mlx.core", reason="mlx is not installed")
    import mlx.core as mx

    from whisperbench.weights.convert.hf_to_ggml import write_ggml_model
    from whisperbench.weights.convert.hf_to_mlx import write_mlx_model

    source = offline_models[("tiny.en", "transformers")].snapshot_path  # type: ignore[attr-defined]
    work = tmp_path_factory.mktemp("native-sources")
    write_ggml_model(source, work / "ggml")
    write_mlx_model(source, work / "mlx")
    arrays = mx.load(str(work / "mlx" / "weights.npz"))
    mx.save_safetensors(str(work / "weights.safetensors"), arrays)  # type: ignore[arg-type]
    cache = tmp_path_factory.mktemp("native-cache")
    lay_out_snapshot(
        cache, "ggerganov/whisper.cpp", {"ggml-tiny.en.bin": work / "ggml" / "ggml-model.bin"}
    )
    lay_out_snapshot(
        cache,
        "mlx-community/whisper-tiny.en-mlx",
        {
            "config.json": work / "mlx" / "config.json",
            "weights.safetensors": work / "weights.safetensors",
        },
    )
    return cache


@pytest.mark.slow
def test_a_cached_native_repo_is_used_as_it_is(native_cache: Path) -> None:
    ggml = inspect("tiny.en", "ggml", cache_dir=native_cache)
    assert ggml.ready and ggml.repo_id == "ggerganov/whisper.cpp", ggml.reason
    assert "native repo" in ggml.reason
    path = provide("tiny.en", "ggml", cache_dir=native_cache)
    assert path.name == "ggml-tiny.en.bin" and path.is_file()
    mlx = provide("tiny.en", "mlx", cache_dir=native_cache)
    assert repo_of(mlx) == "mlx-community/whisper-tiny.en-mlx"
    assert not inspect("tiny.en", "openai", cache_dir=native_cache).ready  # no native: convert


@pytest.mark.slow
def test_whisper_cpp_runs_whisper_cpps_own_file(native_cache: Path) -> None:
    pytest.importorskip("pywhispercpp", reason="pywhispercpp is not installed")
    from helpers.engine_helpers import clip_wer, loaded

    impl = loaded("whisper.cpp", native_cache)
    assert clip_wer(impl, "short")[0] == 0.0
    params = impl.get_params()
    assert params["repo_id"] == "ggerganov/whisper.cpp"
    assert params["weights_path"].endswith("ggml-tiny.en.bin")
    impl.cleanup()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mlx-whisper", "lightning-whisper-mlx"])
def test_the_mlx_engines_load_an_mlx_community_folder(name: str, native_cache: Path) -> None:
    from helpers.engine_helpers import clip_wer, loaded

    from whisperbench.implementations import get_implementation

    reason = get_implementation(name).unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    impl = loaded(name, native_cache)
    params = impl.get_params()
    assert params["repo_id"] == "mlx-community/whisper-tiny.en-mlx"
    assert params["dtype"] == "float32"
    if name == "lightning-whisper-mlx":  # its own loader reads npz only: ours builds the model
        assert clip_wer(impl, "short")[0] == 0.0
    impl.cleanup()
