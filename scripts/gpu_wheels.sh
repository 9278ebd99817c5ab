#!/usr/bin/env bash
# Build the folder of wheels that the GPU machine lacks, for an offline install there
# (Python 3.12, Linux x86-64; it has torch 2.11, transformers 5.x, numpy, numba and pynvml, and
# no internet): whisperbench's runtime and test dependencies besides those, and the engines
# that run on CUDA from the same weights (faster-whisper with CTranslate2, openai-whisper with
# tiktoken). Each wheel is fetched alone (--no-deps: the list below is the closure), for
# cp312 manylinux; openai-whisper, published as an sdist only, is built here into its
# pure-Python wheel.
#
# The wheels are packed into parts of less than $PART_MIB MiB each (the device tool carries
# at most 64 MiB per call): part1/, part2/, ...; a wheel larger than a part is cut with
# split -b into pieces, one part each, that install.sh joins again. On the GPU machine, with
# every part carried into one folder (FOLDER/part1, FOLDER/part2, ...; one device call each):
#   bash FOLDER/part1/install.sh    # gathers the parts, joins any pieces, pip installs offline
#
#   bash scripts/gpu_wheels.sh /tmp/gpu-wheels      (a folder outside the repository)
set -euo pipefail
DEST=${1:?usage: gpu_wheels.sh FOLDER}
PART_MIB=${PART_MIB:-60}
PYTHON=${PYTHON:-python3}
PLATFORMS=(manylinux2014_x86_64 manylinux_2_17_x86_64 manylinux_2_28_x86_64)
# whisperbench's own dependencies (pyproject.toml) that the GPU machine lacks, with theirs
RUNTIME=(
  scipy soundfile cffi pycparser soxr jiwer rapidfuzz click rich markdown-it-py mdurl pygments
  pytest pluggy iniconfig pytest-benchmark py-cpuinfo pytest-timeout psutil
  matplotlib contourpy cycler fonttools kiwisolver pillow pyparsing python-dateutil six
)
# the engines run beside ours on CUDA, and their own dependencies (PyAV: faster-whisper imports
# it, though arrays never reach it; onnxruntime is left out: only --vad needs it)
ENGINES=(faster-whisper "ctranslate2==4.8.5" av tiktoken more-itertools)
SDIST_ONLY=("openai-whisper==20250625")

ALL="$DEST/all"
rm -rf "$DEST" && mkdir -p "$ALL"
platform_args=()
for platform in "${PLATFORMS[@]}"; do platform_args+=(--platform "$platform"); done
"$PYTHON" -m pip download -q --only-binary=:all: --no-deps --python-version 3.12 \
  --implementation cp --abi cp312 --abi abi3 --abi none "${platform_args[@]}" \
  -d "$ALL" "${RUNTIME[@]}" "${ENGINES[@]}"
"$PYTHON" -m pip wheel -q --no-deps -w "$ALL" "${SDIST_ONLY[@]}"

# parts of less than PART_MIB MiB: the largest wheels first, each into the first part with room
limit=$((PART_MIB * 1024 * 1024))
declare -a room=()
part=0
take_room() {  # part= the part (1, 2, ...) with room for $1 bytes, made when none has (no subshell)
  local size=$1 index
  for index in "${!room[@]}"; do
    if ((room[index] >= size)); then room[index]=$((room[index] - size)); part=$((index + 1)); return; fi
  done
  room+=($((limit - size)))
  part=${#room[@]}
}
while read -r size path; do
  name=$(basename "$path")
  if ((size < limit)); then
    take_room "$size"
    mkdir -p "$DEST/part$part" && mv "$path" "$DEST/part$part/"
    continue
  fi
  piece=$((limit - 1024 * 1024))  # a piece alone in its part, with room for the part's install.sh
  split -b "$piece" -d "$path" "$ALL/$name.piece-"
  rm "$path"
  for chunk in "$ALL/$name".piece-*; do
    take_room "$piece"
    mkdir -p "$DEST/part$part" && mv "$chunk" "$DEST/part$part/"
  done
done < <(find "$ALL" -name '*.whl' -printf '%s %p\n' | sort -rn)
rmdir "$ALL"

cat > "$DEST/install.sh" <<'EOF'
#!/usr/bin/env bash
# On the GPU machine, with every part carried beside this one (FOLDER/part1, FOLDER/part2, ...):
# gathers their files into FOLDER/wheels, joins the pieces of any wheel gpu_wheels.sh cut, then
# installs every wheel offline, without their dependencies (the list is the closure; torch,
# transformers, numpy and numba stay as they are).
set -euo pipefail
folder=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$folder/wheels" && cd "$folder/wheels"
for file in "$folder"/part*/*.whl "$folder"/part*/*.piece-*; do
  [ -e "$file" ] && cp -f "$file" .
done
for first in *.piece-00; do
  [ -e "$first" ] || continue
  wheel=${first%.piece-00}
  cat "$wheel".piece-* > "$wheel" && rm "$wheel".piece-*
done
python3 -m pip install --no-deps --no-index ./*.whl
EOF
for part in "$DEST"/part*; do cp "$DEST/install.sh" "$part/"; done
rm "$DEST/install.sh"
find "$DEST" -type f -printf '%P\t%s\n' | sort
du -sh "$DEST"/part* | sed 's/^/total /'
