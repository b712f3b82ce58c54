#!/usr/bin/env bash
# The detection benchmark of docs/detection.md: per seed the three collapse ablations from step ONSET (--ablate-from)
# and from the start, and the four healthy methods; then prints ./monitor detection's tables. Sets:
#   tuning      MNIST, seeds 42 and 7 (the thresholds of the first releases were fixed on these alone)
#   evaluation  seeds 123, 1001, 2026 on MNIST and Fashion-MNIST: the first releases' held-out set. Once reported on,
#               it was used for tuning too, so the tables count it with the tuning set
#   heldout     seeds 11, 2718, 31337 on MNIST and Fashion-MNIST: trained after this release's thresholds were fixed
# Usage: src/main/sh/detection-bench.sh OUT_DIR [tuning|evaluation|heldout|all]   (env: STEPS, EVERY, ONSET, TRAINER,
# MONITOR)
set -euo pipefail
out="${1:?usage: detection-bench.sh OUT_DIR [tuning|evaluation|heldout|all]}"
which="${2:-all}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
steps="${STEPS:-500}"
every="${EVERY:-50}"
onset="${ONSET:-250}"
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
# interleaved so that an interrupted benchmark still has runs of every set
tuning=("mnist 42" "mnist 7")
evaluation=("mnist 123" "fashion-mnist 123" "mnist 1001" "fashion-mnist 1001" "mnist 2026" "fashion-mnist 2026")
heldout=("mnist 11" "fashion-mnist 11" "mnist 2718" "fashion-mnist 2718" "mnist 31337" "fashion-mnist 31337")
for i in 0 1 2 3 4 5; do
  if [ "$i" -lt 2 ] && { [ "$which" = tuning ] || [ "$which" = all ]; }; then
    # shellcheck disable=SC2086
    set_of tuning ${tuning[$i]}
  fi
  if [ "$which" = evaluation ] || [ "$which" = all ]; then
    # shellcheck disable=SC2086
    set_of evaluation ${evaluation[$i]}
  fi
  if [ "$which" = heldout ] || [ "$which" = all ]; then
    # shellcheck disable=SC2086
    set_of heldout ${heldout[$i]}
  fi
done
# shellcheck disable=SC2046
$monitor detection --tuning-seeds 42,7,123,1001,2026 --tuning-datasets mnist,fashion-mnist \
  $(find "$out" -mindepth 1 -maxdepth 1 -type d -name '[teh]*-*' | sort)
