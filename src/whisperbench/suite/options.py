"""The suite's command-line options, declared once for pytest (``add_options``), and the
session's settings read from them (``suite_config``): values checked, repeats and options
that others make moot said in a line each. ``--models`` is also spelled ``--model``, as the
``whisperbench`` commands spell it."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from whisperbench import devices, weights
from whisperbench.datasets import DatasetSpec, parse_dataset
from whisperbench.implementations import (
    ImplementationOptions,
    default_names,
    parse_implementation_list,
)
from whisperbench.implementations.synthetic import DEFAULT_SYNTHETIC_TOKENS
from whisperbench.models import DEFAULT_MODEL, parse_model_list
from whisperbench.resources.sampler import DEFAULT_INTERVAL_S
from whisperbench.results.records import ACROSS_UTTERANCES, ONE_BY_ONE
from whisperbench.suite import progress
from whisperbench.suite.batch_sweep import SWEEP_EXAMPLE, parse_batch_sweep, unswept_engines
from whisperbench.suite.cases import (
    CORPUS_BUDGET_S,
    STREAM_BUFFER_S,
    STREAM_CHUNK_S,
    SuiteConfig,
)
from whisperbench.suite.input_checks import (
    ignored_benchmark_options,
    once_each,
    repeated_options,
    required,
    unused_options,
)
from whisperbench.suite.inputs import (
    CLIP_SETS,
    CLIPS,
    DEFAULT_CLIPS,
    audio_inputs,
    fixture_inputs,
)
from whisperbench.suite.shard_checks import shard_problem

CORPUS_BATCHINGS = {"across": ACROSS_UTTERANCES, "one-by-one": ONE_BY_ONE}
"""``--corpus-batching`` values and what they run."""
VALUED_OPTIONS: list[str] = []
"""The suite's options that take a value (filled as they are added): one given twice is
said (pytest keeps the last)."""


def add_options(parser: pytest.Parser) -> None:
    """The suite's options, in pytest's ``whisperbench`` group."""
    group = parser.getgroup("whisperbench", "whisperbench benchmark suite")
    group.addoption(
        "--models",
        "--model",
        default=DEFAULT_MODEL,
        help=f"comma-separated model sizes, or 'all' (default: {DEFAULT_MODEL})",
    )
    group.addoption(
        "--implementations",
        default="available",
        help="comma-separated implementations, 'all', or 'available' (default: every one that "
        "can run here, but the transformers-reference yardstick, which runs when named)",
    )
    group.addoption(
        "--device",
        default="auto",
        choices=devices.DEVICE_CHOICES,
        help="auto (cuda, mps, cpu), or one of them",
    )
    group.addoption(
        "--audio",
        default=None,
        help="an audio file or a folder of them; a .txt beside a file is its reference transcript",
    )
    group.addoption(
        "--clips",
        default=None,
        help="reference clips to use when --audio is not given; 'real' adds the 37 shipped "
        "real recordings (whisperbench/data/realspeech) and 'corpus' the espeak-ng corpus, each "
        f"as a corpus case (default: {','.join(DEFAULT_CLIPS)}, or none when --dataset is given)",
    )
    group.addoption(
        "--dataset",
        action="append",
        default=[],
        metavar="PATH_OR_HF",
        help="a corpus, timed as a whole with corpus WER (repeatable): a LibriSpeech-style "
        "folder, a JSONL or CSV manifest (audio, text, id), a folder of audio files with .txt "
        "beside them, a folder saved by datasets' save_to_disk, or hf://NAME[:CONFIG]:SPLIT",
    )
    group.addoption(
        "--dataset-limit",
        type=int,
        default=None,
        metavar="N",
        help="read only the first N utterances of each --dataset (IDs get -firstN)",
    )
    group.addoption(
        "--corpus-batching",
        default="across",
        help="how corpus cases run, comma-separated: 'across' (utterances batched together "
        "where the engine can) and/or 'one-by-one' (IDs end in -one-by-one) (default: across)",
    )
    group.addoption(
        "--corpus-budget",
        type=float,
        default=CORPUS_BUDGET_S,
        metavar="SECONDS",
        help="a corpus case runs its warm-up and timed rounds over the whole corpus only when "
        "they are estimated to take at most this long; otherwise it is timed once "
        f"(default {CORPUS_BUDGET_S:.0f})",
    )
    group.addoption(
        "--shards",
        type=int,
        default=1,
        metavar="N",
        help="split each corpus case into N shards, shard k holding every N-th utterance by "
        "id from the k-th (IDs end in -shardKofN); with pytest-xdist's -n N each worker runs "
        "one shard on a device of its own, else they run in turn; the report joins them into "
        "one corpus result (default 1: whole)",
    )
    group.addoption(
        "--stream-chunk-s",
        type=float,
        default=STREAM_CHUNK_S,
        metavar="SECONDS",
        help="latency track (-m stream): seconds of audio that arrive between the stream's "
        f"updates (default {STREAM_CHUNK_S:g})",
    )
    group.addoption(
        "--stream-buffer-s",
        type=float,
        default=STREAM_BUFFER_S,
        metavar="SECONDS",
        help="latency track: the stream's buffer is trimmed at a committed word once it holds "
        f"more than this (default {STREAM_BUFFER_S:g}; at most one 30 s window)",
    )
    group.addoption(
        "--progress",
        default="auto",
        choices=progress.SETTINGS,
        help="progress of long cases (utterances or windows done, elapsed, ETA): auto (on a "
        "terminal, not with -q), always, never (default: auto)",
    )
    group.addoption(
        "--batch-size", type=int, default=None, help="batch size (default: from free memory)"
    )
    group.addoption(
        "--batch-sweep",
        default=None,
        metavar="N,N,...",
        help="memory and speed against batch size: each engine that takes a batch size runs "
        "each clip at each of these increasing sizes (IDs end in -batchN), up to the first that "
        f"does not fit (example: {SWEEP_EXAMPLE})",
    )
    group.addoption(
        "--beam-size",
        type=int,
        default=1,
        help="beam size for every implementation (default 1: greedy)",
    )
    group.addoption(
        "--dtype", default=None, help="override the dtype / compute type (default: per device)"
    )
    group.addoption(
        "--quantization",
        default="none",
        help="none, 4bit (CUDA + bitsandbytes) or int8 (dynamic, CPU); what really ran is reported",
    )
    group.addoption(
        "--no-cuda-graphs",
        action="store_true",
        default=False,
        help="decode step by step without replaying CUDA graphs (to measure what they bring)",
    )
    group.addoption(
        "--no-compile-step",
        action="store_true",
        default=False,
        help="ours on CUDA: run the decoding step and the encoder as written, not compiled",
    )
    group.addoption(
        "--vad", action="store_true", default=False, help="voice-activity filtering where supported"
    )
    group.addoption("--rounds", type=int, default=3, help="timed rounds per case (default 3)")
    group.addoption(
        "--resource-interval",
        type=float,
        default=DEFAULT_INTERVAL_S,
        metavar="SECONDS",
        help="seconds between samples of power, device memory, host RSS, temperature and SM "
        f"clock in each case's resource timeline (default {DEFAULT_INTERVAL_S:g})",
    )
    group.addoption(
        "--warmup-rounds",
        type=int,
        default=1,
        help="untimed runs on the same input before timing; "
        "the first is recorded as cold time (default 1)",
    )
    group.addoption(
        "--synthetic",
        action="store_true",
        default=False,
        help="speed only: random weights of each size's real architecture "
        "(IDs end in -synthetic; no WER)",
    )
    group.addoption(
        "--synthetic-tokens",
        type=int,
        default=DEFAULT_SYNTHETIC_TOKENS,
        help=f"tokens decoded per window with --synthetic (default {DEFAULT_SYNTHETIC_TOKENS})",
    )
    group.addoption(
        "--offline",
        action="store_true",
        default=False,
        help="no Hugging Face Hub request at all (sets HF_HUB_OFFLINE for the session)",
    )
    group.addoption(
        "--cache-dir", default=None, help="Hugging Face cache folder (default: HF_HUB_CACHE)"
    )
    VALUED_OPTIONS[:] = [
        name for option in group.options if _one_value(option) for name in option.names()
    ]


def _one_value(option: Any) -> bool:
    """Whether ``option`` keeps one value, so that a second one overrides the first (not a
    flag, nor a repeatable option such as ``--dataset``)."""
    action = getattr(option, "_action", None)  # pytest 8.4+: the argparse action itself
    if action is not None:
        return type(action) is argparse._StoreAction
    attrs = option.attrs()
    return attrs.get("action") in (None, "store") and attrs.get("nargs") != 0


def suite_config(config: pytest.Config) -> SuiteConfig:
    """The session's settings from its command line (``ValueError`` and whisperbench's errors
    for options that cannot run)."""
    get = config.getoption
    args = config.invocation_params.args
    warnings = repeated_options(args, VALUED_OPTIONS)
    implementations, repeats = once_each(
        "--implementations",
        default_names(get("device"))
        if get("implementations") == "available"
        else parse_implementation_list(get("implementations")),
    )
    required(
        "--implementations",
        implementations,
        "an implementation name, 'all', or 'available' where one can run here",
    )
    models, more = once_each("--models", parse_model_list(get("models")))
    warnings += repeats + more
    sweep = parse_batch_sweep(get("batch_sweep"))
    warnings += unswept_engines(implementations, sweep)
    limit = get("dataset_limit")
    datasets = [parse_dataset(text, limit) for text in get("dataset")]
    shards = get("shards")
    names, repeats = once_each(
        "--clips", _clip_names(get("clips"), bool(datasets), sharded=shards > 1)
    )
    warnings += repeats
    sets = [name for name in names if name in CLIP_SETS]
    names = [name for name in names if name not in CLIP_SETS]
    if not get("audio"):
        datasets[:0] = [parse_dataset(str(CLIP_SETS[name]), limit) for name in sets]
    datasets, repeats = _unique(datasets)
    warnings += repeats
    if get("audio") is not None and not get("audio").strip():
        raise ValueError("--audio names no file; give an audio file or a folder of them")
    if not (get("audio") or names or datasets):
        required(
            "--clips",
            names,
            f"one of {', '.join((*CLIPS, *CLIP_SETS))}, or pass --audio",
        )
    inputs = audio_inputs(get("audio")) if get("audio") else fixture_inputs(names)
    problem = shard_problem(shards, datasets, inputs.clips, audio=bool(get("audio")))
    if problem is not None:
        raise ValueError(problem)
    warnings += unused_options(args, _moot_options(bool(get("audio")), bool(datasets), get))
    warnings += ignored_benchmark_options(args)
    batchings, repeats = _batchings(get("corpus_batching"))
    warnings += repeats
    devices.resolve_device(get("device"))  # an absent device is one usage error, not N errors
    cache_dir = get("cache_dir")
    if cache_dir is not None and not cache_dir.strip():  # an unset variable: not the default
        raise ValueError(
            "--cache-dir names no folder (an empty value); leave it out for the default"
        )
    if cache_dir:  # a cache that holds no model yet must take the bundled import
        folder = weights.resolve_cache_dir(cache_dir)
        weights.check_cache_dir(folder, write=not weights.holds_models(folder))
    options = ImplementationOptions(
        device=get("device"),
        dtype=get("dtype"),
        batch_size=get("batch_size"),
        beam_size=get("beam_size"),
        quantization=get("quantization"),
        vad=get("vad"),
        cuda_graphs=not get("no_cuda_graphs"),
        compile_step=not get("no_compile_step"),
        synthetic_tokens=get("synthetic_tokens") if get("synthetic") else None,
    )
    return SuiteConfig(
        models=tuple(models),
        implementations=tuple(implementations),
        clips=inputs.clips,
        options=options,
        rounds=get("rounds"),
        warmup_rounds=get("warmup_rounds"),
        cache_dir=Path(cache_dir) if cache_dir else None,
        rejected_inputs=inputs.rejected,
        input_warnings=(*warnings, *inputs.warnings),
        datasets=tuple(datasets),
        corpus_batching=batchings,
        corpus_budget_s=get("corpus_budget"),
        shards=shards,
        stream_chunk_s=get("stream_chunk_s"),
        stream_buffer_s=get("stream_buffer_s"),
        resource_interval_s=get("resource_interval"),
        batch_sweep=sweep,
    )


def _moot_options(audio: bool, corpora: bool, get: Any) -> dict[str, str]:
    """The options that others make moot in this session, each with why."""
    moot = {}
    if audio:
        moot["--clips"] = "--audio gives the clips (and --dataset the corpora)"
    if not corpora:
        why = "no corpus is given (--dataset, or --clips corpus)"
        moot.update({"--dataset-limit": why, "--corpus-batching": why, "--corpus-budget": why})
    if not get("synthetic"):
        moot["--synthetic-tokens"] = "it counts only with --synthetic"
    return moot


def _clip_names(given: str | None, have_datasets: bool, *, sharded: bool = False) -> list[str]:
    """The clips named by ``--clips``; by default the default clips (only its corpus sets in a
    sharded session, which runs corpus cases alone), or none beside a corpus."""
    if given is None:
        if have_datasets:
            return []
        return [name for name in DEFAULT_CLIPS if name in CLIP_SETS or not sharded]
    return [name for name in given.split(",") if name]


def _unique(datasets: list[DatasetSpec]) -> tuple[list[DatasetSpec], list[str]]:
    """The corpora, each once (a line per one given again: the same folder, manifest or Hub
    split), or ValueError for two different corpora of the same name."""
    kept: dict[str, DatasetSpec] = {}
    lines = []
    for spec in datasets:
        first = kept.get(spec.name)
        if first is None:
            kept[spec.name] = spec
        elif _same_corpus(first, spec):
            lines.append(f"--dataset {spec.given} is given more than once; it runs once")
        else:
            raise ValueError(
                f"--dataset {first.given} and --dataset {spec.given} are both named "
                f"{spec.name!r}; case IDs need distinct names: rename a folder or manifest"
            )
    return list(kept.values()), list(dict.fromkeys(lines))


def _same_corpus(a: DatasetSpec, b: DatasetSpec) -> bool:
    if a.path is not None and b.path is not None:
        try:
            return a.path.resolve() == b.path.resolve()
        except OSError:
            return a.path == b.path
    hub = (a.format, a.hub_name, a.hub_config, a.split)
    return (
        a.path is None and b.path is None and hub == (b.format, b.hub_name, b.hub_config, b.split)
    )


def _batchings(text: str) -> tuple[tuple[str, ...], list[str]]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [part for part in chosen if part not in CORPUS_BATCHINGS]
    if unknown or not chosen:
        raise ValueError(
            f"--corpus-batching {text!r}: choose from {', '.join(CORPUS_BATCHINGS)} "
            "(comma-separated)"
        )
    kept, repeats = once_each("--corpus-batching", chosen)
    return tuple(CORPUS_BATCHINGS[part] for part in kept), repeats
