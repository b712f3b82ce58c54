#!/usr/bin/env bash
# Entrypoint of the Docker image (docker/Dockerfile): Java with the memory budget of memory.sh, derived from the
# container's memory limit (or the host's memory), then the jar. SPLINEWATCH_HEAP, SPLINEWATCH_OFF_HEAP and JAVA_OPTS
# override it as they do for ./trainer and ./monitor (docs/memory.md).
set -euo pipefail
# A signal before java starts (a build, the memory budget, the Vector API probe): one line and 128 + its number.
# Without it SIGINT during vector.sh's `java --list-modules` was lost (that java exits 130 itself, so bash went on) and
# the run started without the Vector API; at the other steps the launcher ended without a word. exec gives java the
# default handling back, and the run its own (a checkpoint after the current step).
trap 'echo "interrupted by SIGINT before training started: nothing was written" >&2; exit 130' INT
trap 'echo "interrupted by SIGTERM before training started: nothing was written" >&2; exit 143' TERM
trap 'echo "interrupted by SIGHUP before training started: nothing was written" >&2; exit 129' HUP
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/memory.sh"
# the settings of a --config file are read from the jar's classes
SPLINEWATCH_PROBE_CLASS_PATH="$here/splinewatch.jar"
splinewatch_memory_opts "$@" || exit 2
source "$here/vector.sh"
splinewatch_vector_opts || exit 2
# 32 MB G1 regions, no profiled loop predicates and a 128 MB metaspace threshold, as the launchers use
# (src/main/sh/launch.sh; README, monitoring overhead)
# shellcheck disable=SC2086
exec java "${SPLINEWATCH_VECTOR_OPTS[@]}" -XX:G1HeapRegionSize=32m -XX:-UseProfiledLoopPredicate -XX:MetaspaceSize=128m "${SPLINEWATCH_MEMORY_OPTS[@]}" ${JAVA_OPTS:-} -jar "$here/splinewatch.jar" "$@"
