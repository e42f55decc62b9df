#!/bin/bash
# Full-size GPT-2-shaped decoder (bench/bench_gpt2.py's model, 12 blocks): one process
# against a local 2-CPU Ray (cold: Ray's start-up inside), both through the CLI, one after
# the other; wall time, CPU and peak RSS of the driver from /usr/bin/time -v.
#   bash bench/gpt2_ray_full.sh [DIR]      (default /tmp/zkvm-gpt2-ray-full; about 15 min)
set -e
cd "$(dirname "$0")/.."
D=${1:-/tmp/zkvm-gpt2-ray-full}
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$D"
uptime
$PY bench/bench_gpt2.py --skip-prove --skip-verify --dir "$D" --out "$D/compile.json" > "$D/compile.log" 2>&1
cat "$D/compile.log"
for mode in one ray; do
  extra=""; [ $mode = ray ] && extra="--cluster auto"
  uptime
  /usr/bin/time -v $PY -m zkvm run "$D/gpt2.zkvm" --input "$D/x.npy" --prove --max-memory 6GiB \
      --proof "$D/$mode.proof" -o "$D/$mode.json" $extra > "$D/$mode.log" 2> "$D/$mode.time"
  echo "$mode:"; grep -E "Elapsed|Maximum resident|User time|System time" "$D/$mode.time"
  grep -E "proved|wrote" "$D/$mode.log"
done
cmp "$D/one.json" "$D/ray.json" && echo "same outputs"
uptime
