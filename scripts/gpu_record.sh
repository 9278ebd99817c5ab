#!/usr/bin/env bash
# Record the CUDA runs kept under reports/gpu/ (run on a GPU machine from the repo root).
#
# Needs: tiny.en in the HF cache at $HF_HUB_CACHE (whisperbench import-model), the project
# installed (its pytest plugin and engines register through entry points: on a machine without
# internet, `pip install --no-deps --no-build-isolation -e .`), and $OUT, a folder that receives
# gpu-results.tgz (the pytest-benchmark JSON, the logs and commands.txt), packed again after
# each run, so that a machine taken back mid-way still returns the runs that ended. Which runs: $RUNS, a space-separated list
# of the names below (default: all of them but latency, cost, batch-sweep and batch-sweep-large, which run when named).
#   OUT=/tmp/gpu-out HF_HUB_CACHE=/tmp/hub WHISPERBENCH_COMMIT=abc1234 bash scripts/gpu_record.sh
#   RUNS="cost batch-sweep" OUT=... bash scripts/gpu_record.sh
#   RUNS=batch-sweep-large SWEEP_LARGE=1,4,16,32 SWEEP_IMPLEMENTATIONS=transformers-reference OUT=... bash scripts/gpu_record.sh
# faster-whisper (the cost run) needs CTranslate2's CUDA 12 cuBLAS: on a CUDA 13 machine the
# run goes through the library-name shim of README "faster-whisper on CUDA" (cuda12_shim), and
# commands.txt says so. Wheels the GPU machine lacks: scripts/gpu_wheels.sh.
set -uo pipefail
OUT=${OUT:?set OUT to a folder for the results}
RESULTS=$(mktemp -d)
pack() { tar -C "$RESULTS" -czf "$OUT/gpu-results.tgz.part" . && mv "$OUT/gpu-results.tgz.part" "$OUT/gpu-results.tgz"; }
RUNS=${RUNS:-"real-long clips long-tiny long-tiny-b24 long-large-v3 engines four-bit corpus-tiny corpus-tiny-b24 corpus-tiny-one-by-one"}
case " $RUNS " in *" cost "*) RUNS="$RUNS cost-fast cost-slow" ;; esac  # cost: both halves
CLIPS=/tmp/whisperbench-clips
CORPUS=/tmp/whisperbench-corpus528
REAL_LONG=/tmp/whisperbench-real-long
COST_CLIPS=/tmp/whisperbench-cost-clips  # long-x2 and four of the real long readings, one --audio folder
SWEEP_TINY=${SWEEP_TINY:-1,2,4,8,16,32,64,128}  # batch sizes of the sweeps (run 9)
SWEEP_LARGE=${SWEEP_LARGE:-1,2,4,8,16,32,64,128}
SWEEP_IMPLEMENTATIONS=${SWEEP_IMPLEMENTATIONS:-transformers,transformers-reference}  # engines of both sweeps
# LARGE_IMPLEMENTATIONS: the engines of long-large-v3 (default ours and the plain recipe)
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python3 -c "import importlib.metadata as m; m.distribution('whisperbench')" 2>/dev/null || {
  echo "gpu_record.sh: whisperbench is not installed, so pytest has not its plugin: pip install --no-deps --no-build-isolation -e ." >&2
  exit 2
}
python3 scripts/repeat_clip.py long 2 "$CLIPS" || exit 1
mkdir -p "$REAL_LONG"  # the real long-form readings of fixtures/realspeech (over 60 s), with their transcripts
python3 -c "
import shutil, sys, soundfile
from pathlib import Path
for flac in sorted(Path('fixtures/realspeech').glob('*.flac')):
    if soundfile.info(flac).duration > 60:
        for path in (flac, flac.with_suffix('.txt')):
            shutil.copy(path, sys.argv[1])
" "$REAL_LONG" || exit 1
case " $RUNS " in *" corpus-"*) python3 scripts/grow_corpus.py "$CORPUS" || exit 1 ;; esac
STREAM_CLIPS=/tmp/whisperbench-stream-clips  # two short real clips and one long reading, with references
mkdir -p "$STREAM_CLIPS"
for name in fleurs_en-000 lsdev_1272-141231-0002 ljspeech_LJ001-0008to0019; do
  cp "fixtures/realspeech/$name.flac" "fixtures/realspeech/$name.txt" "$STREAM_CLIPS/" || exit 1
done
echo "commit ${WHISPERBENCH_COMMIT:-unknown}" | tee "$RESULTS/commands.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$RESULTS/gpu.txt"
cuda12_shim() {  # CTranslate2's wheels load libcublas.so.12: on CUDA 13 only, link that name to the 13 one
  python3 -c "import ctypes; ctypes.CDLL('libcublas.so.12')" 2>/dev/null && return 0
  local lib=/usr/local/cuda-13.0/targets/x86_64-linux/lib shim=/tmp/whisperbench-cuda12-shim
  [ -e "$lib/libcublas.so.13" ] || { echo "no libcublas.so.12 nor $lib/libcublas.so.13" >&2; return 0; }
  mkdir -p "$shim"
  ln -sf "$lib/libcublas.so.13" "$shim/libcublas.so.12"
  ln -sf "$lib/libcublasLt.so.13" "$shim/libcublasLt.so.12"
  export LD_LIBRARY_PATH="$shim:$lib:/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "   (CTranslate2 through the CUDA 13 shim: LD_LIBRARY_PATH=$LD_LIBRARY_PATH)" | tee -a "$RESULTS/commands.txt"
}
wanted() { case " $RUNS " in *" $1 "*) return 0 ;; esac; return 1; }  # a run named in $RUNS
bench() {  # name, then pytest arguments
  local name=$1; shift
  wanted "$name" || return 0
  echo "== $name: pytest $*" | tee -a "$RESULTS/commands.txt"
  local start=$SECONDS
  python3 -m pytest -p no:cacheprovider -q --device cuda --cache-dir "$HF_HUB_CACHE" \
    --benchmark-storage "file://$RESULTS/bench" --benchmark-autosave --benchmark-name short \
    --benchmark-columns median,min,max,rounds "$@" >> "$RESULTS/$name.log" 2>&1
  echo "   ($((SECONDS - start)) s)" | tee -a "$RESULTS/commands.txt"
  sed -n '/whisperbench results/,$p' "$RESULTS/$name.log" | grep -E "^│|whisperbench: corpus|passed|failed|error" | tail -n 16
  pack
}
# 0. real tiny.en on the real long-form readings (12 clips of 66-104 s, people reading): ours
#    against the plain recipe, WER with its interval, insertions and repeats beside RTFx
bench real-long benchmarks/test_transcribe.py --models tiny.en --audio "$REAL_LONG" \
  --implementations transformers,transformers-reference
# 1. real tiny.en on every reference clip: ours against the plain recipe, WER and repeats beside RTFx
bench clips benchmarks/ --models tiny.en --implementations transformers,transformers-reference \
  --clips short,medium,long,seams,spontaneous
# 2. long-form (658 s), real tiny.en; ours at its own batch and at the recipe's batch 24
bench long-tiny benchmarks/test_transcribe.py --models tiny.en --audio "$CLIPS/long-x2.flac" \
  --implementations transformers,transformers-reference
bench long-tiny-b24 benchmarks/test_transcribe.py --models tiny.en --audio "$CLIPS/long-x2.flac" \
  --implementations transformers --batch-size 24
# 3. long-form, synthetic large-v3 (random weights, 96 tokens per window): speed only; it reads
#    tiny.en's tokenizer, so tiny.en must be in the cache here too
bench long-large-v3 benchmarks/test_transcribe.py --models large-v3 --synthetic \
  --audio "$CLIPS/long-x2.flac" --implementations "${LARGE_IMPLEMENTATIONS:-transformers,transformers-reference}"
# 4. the other engines that run on CUDA from the same tiny.en weights: the seed's recipe
#    (insanely-fast-whisper, 4-bit where bitsandbytes is installed) and openai-whisper (converted
#    from the transformers snapshot); ours and the plain recipe beside them
bench engines benchmarks/test_transcribe.py --models tiny.en --clips short,long,spontaneous \
  --implementations transformers,transformers-reference,insanely-fast-whisper,openai-whisper
# 5. 4-bit (nf4, bitsandbytes) weights for ours and the plain recipe: speed and WER against fp16
bench four-bit benchmarks/test_transcribe.py --models tiny.en --clips short,long,spontaneous \
  --implementations transformers,transformers-reference --quantization 4bit
# 6. a corpus of 528 short utterances (the espeak-ng corpus grown 11 times at 0.9-1.1x speed),
#    each round the whole corpus with utterances batched together: ours against the recipe (its
#    pipeline's list input), ours at the recipe's batch 24, and ours one utterance at a time
bench corpus-tiny benchmarks/test_corpus.py --models tiny.en --dataset "$CORPUS" \
  --implementations transformers,transformers-reference
bench corpus-tiny-b24 benchmarks/test_corpus.py --models tiny.en --dataset "$CORPUS" \
  --implementations transformers --batch-size 24
bench corpus-tiny-one-by-one benchmarks/test_corpus.py --models tiny.en --dataset "$CORPUS" \
  --implementations transformers --corpus-batching one-by-one
# 7. the latency track (issue 23): first words and simulated live streaming (1 s chunks, a 15 s
#    buffer, LocalAgreement-2, compute-aware clock) on real speech, ours against the plain recipe
#    and faster-whisper; the reference word times come from openai-whisper tiny.en's alignment
#    (installed; it is not timed)
wanted latency && ( cuda12_shim
  bench latency benchmarks/ -m stream --models tiny.en --audio "$STREAM_CLIPS" \
    --implementations transformers,transformers-reference,faster-whisper )
# 8. cost: every engine that runs on CUDA from the same real tiny.en (ours, the plain recipe, the
#    seed's recipe, faster-whisper, openai-whisper), on the 658 s clip and four of the real
#    long-form readings (one --audio folder: a case per file), each case with its RTFx, WER,
#    device memory (NVML's per-process peak for every engine; torch's only for those that
#    allocate through it), energy per audio hour over the timed rounds and the resource
#    timeline; the fast engines at 20 rounds, so that their timed rounds last over a second (the
#    energy counter moves every 0.1 s), the plain recipe and openai-whisper at 2 (seconds a
#    round). Its halves, cost-fast (178 s on an H100) and cost-slow (78 s), may also be
#    named alone: two calls of one lease, each within a call's 10 minutes.
{ wanted cost-fast || wanted cost-slow; } && mkdir -p "$COST_CLIPS" && cp "$CLIPS/long-x2.flac" \
  "$CLIPS/long-x2.txt" "$COST_CLIPS/" && for flac in $(ls "$REAL_LONG"/*.flac | head -n 4); do
    cp "$flac" "${flac%.flac}.txt" "$COST_CLIPS/"; done && ( cuda12_shim
  bench cost-fast benchmarks/test_load.py benchmarks/test_transcribe.py --models tiny.en \
    --audio "$COST_CLIPS" --rounds 20 \
    --implementations transformers,insanely-fast-whisper,faster-whisper
  bench cost-slow benchmarks/test_transcribe.py --models tiny.en --audio "$COST_CLIPS" --rounds 2 \
    --implementations transformers-reference,openai-whisper )
# 9. memory and speed against batch size (issue 24): ours and the plain recipe on the 658 s clip
#    (23 windows: from batch 32 on, a batch holds every window; ours sizes its decoder to the
#    windows there are), real tiny.en and synthetic large-v3, each batch size warmed up (its
#    cold run, untimed) before 2 timed rounds; the first batch that does not fit ends a sweep;
#    ours' step as written (--no-compile-step: compiling costs 20-47 s for each new shape)
bench batch-sweep benchmarks/test_load.py benchmarks/test_batch_sweep.py --models tiny.en \
  --audio "$CLIPS/long-x2.flac" --implementations "$SWEEP_IMPLEMENTATIONS" \
  --batch-sweep "$SWEEP_TINY" --rounds 2 --no-compile-step
bench batch-sweep-large benchmarks/test_load.py benchmarks/test_batch_sweep.py --models large-v3 \
  --synthetic --audio "$CLIPS/long-x2.flac" --implementations "$SWEEP_IMPLEMENTATIONS" \
  --batch-sweep "$SWEEP_LARGE" --rounds 2 --no-compile-step
pack
