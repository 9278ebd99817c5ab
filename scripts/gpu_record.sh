#!/usr/bin/env bash
# Record the CUDA runs kept under reports/gpu/ (run on a GPU machine from the repo root).
#
# Needs: tiny.en in the HF cache at $HF_HUB_CACHE (whisperbench import-model), the python
# packages of the project (importable, e.g. PYTHONPATH=src), and $OUT, a folder for the
# pytest-benchmark JSON, the logs and commands.txt. Which runs: $RUNS, a space-separated list
# of the names below (default: all of them).
#   OUT=/tmp/gpu-out HF_HUB_CACHE=/tmp/hub WHISPERBENCH_COMMIT=abc1234 bash scripts/gpu_record.sh
set -uo pipefail
OUT=${OUT:?set OUT to a folder for the results}
RUNS=${RUNS:-"clips long-tiny long-tiny-b24 long-large-v3"}
CLIPS=/tmp/whisperbench-clips
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
python3 scripts/repeat_clip.py long 2 "$CLIPS" || exit 1
echo "commit ${WHISPERBENCH_COMMIT:-unknown}" | tee "$OUT/commands.txt"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
bench() {  # name, then pytest arguments
  local name=$1; shift
  case " $RUNS " in *" $name "*) ;; *) return 0 ;; esac
  echo "== $name: pytest $*" | tee -a "$OUT/commands.txt"
  local start=$SECONDS
  python3 -m pytest -p no:cacheprovider -q --device cuda --cache-dir "$HF_HUB_CACHE" \
    --benchmark-storage "file://$OUT/bench" --benchmark-autosave --benchmark-name short \
    --benchmark-columns median,min,max,rounds "$@" > "$OUT/$name.log" 2>&1
  echo "   ($((SECONDS - start)) s)" | tee -a "$OUT/commands.txt"
  sed -n '/whisperbench results/,$p' "$OUT/$name.log" | grep -E "^│|passed|failed|error" | tail -n 14
}
# 1. real tiny.en on every reference clip: ours against the plain recipe, WER and repeats beside RTFx
bench clips benchmarks/ --models tiny.en --implementations transformers,transformers-reference \
  --clips short,medium,long,seams,spontaneous
# 2. long-form (658 s), real tiny.en; ours at its own batch and at the recipe's batch 24
bench long-tiny benchmarks/test_transcribe.py --models tiny.en --audio "$CLIPS/long-x2.flac" \
  --implementations transformers,transformers-reference
bench long-tiny-b24 benchmarks/test_transcribe.py --models tiny.en --audio "$CLIPS/long-x2.flac" \
  --implementations transformers --batch-size 24
# 3. long-form, synthetic large-v3 (random weights, 96 tokens per window): speed only
bench long-large-v3 benchmarks/test_transcribe.py --models large-v3 --synthetic \
  --audio "$CLIPS/long-x2.flac" --implementations transformers,transformers-reference
tar -C "$OUT" -czf /tmp/gpu-results.tgz . && rm -rf "${OUT:?}"/* && mv /tmp/gpu-results.tgz "$OUT/"
