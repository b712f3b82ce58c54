#!/usr/bin/env bash
# The detection benchmark of docs/detection.md: trains the tuning set (MNIST, seeds 42 and 7) and the evaluation set
# (seeds 123, 1001, 2026 on MNIST and Fashion-MNIST): per seed the three collapse ablations from step ONSET
# (--ablate-from) and from the start, and the four healthy methods; then prints ./monitor detection's tables.
# Usage: src/main/sh/detection-bench.sh OUT_DIR [tuning|evaluation|all]   (env: STEPS, EVERY, ONSET, TRAINER, MONITOR)
set -euo pipefail
out="${1:?usage: detection-bench.sh OUT_DIR [tuning|evaluation|all]}"
which="${2:-all}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
steps="${STEPS:-600}"
every="${EVERY:-50}"
onset="${ONSET:-300}"
trainer="${TRAINER:-$root/trainer}"
monitor="${MONITOR:-$root/monitor}"
ablations=("simsiam --no-stop-gradient" "byol --no-predictor" "vicreg --vicreg-std-coeff 0")
healthy=(simclr simsiam byol vicreg)
run() { # run-id dataset seed method-and-options...
  local id="$1" dataset="$2" seed="$3"
  shift 3
  if [ -f "$out/$id/events.jsonl" ] && grep -q run_finished "$out/$id/events.jsonl"; then
    return 0 # finished before: keep it
  fi
  rm -rf "${out:?}/$id"
  # shellcheck disable=SC2086
  $trainer --method "$@" --dataset "$dataset" --seed "$seed" --max-steps "$steps" --snapshot-every "$every" \
    --analyzers embedding --metrics-port 0 --out "$out" --run-id "$id" >"$out/$id.log" 2>&1 || true
}
set_of() { # name dataset seeds...
  local name="$1" dataset="$2"
  shift 2
  for seed in "$@"; do
    for a in "${ablations[@]}"; do
      # shellcheck disable=SC2086
      run "$name-$dataset-$seed-${a// /}-from$onset" "$dataset" "$seed" $a --ablate-from "$onset"
    done
    for a in "${ablations[@]}"; do
      # shellcheck disable=SC2086
      run "$name-$dataset-$seed-${a// /}" "$dataset" "$seed" $a
    done
    for m in "${healthy[@]}"; do
      run "$name-$dataset-$seed-$m" "$dataset" "$seed" "$m"
    done
  done
}
mkdir -p "$out"
if [ "$which" = tuning ] || [ "$which" = all ]; then
  set_of tuning mnist 42 7
fi
if [ "$which" = evaluation ] || [ "$which" = all ]; then
  for seed in 123 1001 2026; do
    set_of evaluation mnist "$seed"
    set_of evaluation fashion-mnist "$seed"
  done
fi
# shellcheck disable=SC2046
$monitor detection --tuning-seeds 42,7 $(find "$out" -mindepth 1 -maxdepth 1 -type d -name '[te]*-*' | sort)
