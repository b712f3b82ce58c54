#!/usr/bin/env bash
# Entrypoint of the Docker image (docker/Dockerfile): Java with the memory budget of memory.sh, derived from the
# container's memory limit (or the host's memory), then the jar. SPLINEWATCH_HEAP, SPLINEWATCH_OFF_HEAP and JAVA_OPTS
# override it as they do for ./trainer and ./monitor (docs/memory.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/memory.sh"
splinewatch_memory_opts "$@" || exit 2
source "$here/vector.sh"
splinewatch_vector_opts || exit 2
# 32 MB G1 regions and no profiled loop predicates, as the launchers use (src/main/sh/launch.sh; README, monitoring
# overhead)
# shellcheck disable=SC2086
exec java "${SPLINEWATCH_VECTOR_OPTS[@]}" -XX:G1HeapRegionSize=32m -XX:-UseProfiledLoopPredicate "${SPLINEWATCH_MEMORY_OPTS[@]}" ${JAVA_OPTS:-} -jar "$here/splinewatch.jar" "$@"
