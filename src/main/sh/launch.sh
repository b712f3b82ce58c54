# Shared by ./trainer and ./monitor: builds the jar on first use and whenever sources or pom.xml changed, pins
# native thread pools (two cores: the trainer's BLAS gets one thread, analyzers the other), then runs the command.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
jar="$root/target/splinewatch.jar"
if [ ! -f "$jar" ] || [ ! -d "$root/target/lib" ] || [ -n "$(find "$root/src/main" "$root/pom.xml" -newer "$jar" -print -quit)" ]; then
  command -v mvn >/dev/null || { echo "error: Maven (mvn) is needed to build splinewatch; install it (e.g. apt-get install maven)" >&2; exit 1; }
  echo "Building splinewatch (first use or sources changed)..." >&2
  (cd "$root" && mvn -B -q -DskipTests package ${SPLINEWATCH_MAVEN_ARGS:-}) >&2
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
# shellcheck disable=SC2086
exec java ${JAVA_OPTS:-} -jar "$jar" "$@"
