# Shared by ./trainer and ./monitor: builds the jar on first use, whenever sources or pom.xml changed and when
# SPLINEWATCH_MAVEN_ARGS (e.g. -Pcuda,!cpu) differs from the last build's; pins native thread pools (two cores: the
# trainer's BLAS gets one thread, analyzers the other), then runs the command.
set -euo pipefail
# A signal before java starts (a build, the memory budget, the Vector API probe): one line and 128 + its number.
# Without it SIGINT during vector.sh's `java --list-modules` was lost (that java exits 130 itself, so bash went on) and
# the run started without the Vector API; at the other steps the launcher ended without a word. exec gives java the
# default handling back, and the run its own (a checkpoint after the current step).
# What had not started yet, in that line: training for ./trainer, the subcommand for ./monitor.
splinewatch_starting="training"
if [ "${1:-}" = monitor ]; then
  case "${2:-}" in
    "" | -*) splinewatch_starting="./monitor" ;;
    *) splinewatch_starting="./monitor $2" ;;
  esac
fi
trap 'echo "interrupted by SIGINT before $splinewatch_starting started: nothing was written" >&2; exit 130' INT
trap 'echo "interrupted by SIGTERM before $splinewatch_starting started: nothing was written" >&2; exit 143' TERM
trap 'echo "interrupted by SIGHUP before $splinewatch_starting started: nothing was written" >&2; exit 129' HUP
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
jar="$root/target/splinewatch.jar"
# the Maven arguments of the last build (e.g. -Pcuda,!cpu): a different SPLINEWATCH_MAVEN_ARGS rebuilds
maven_args="${SPLINEWATCH_MAVEN_ARGS:-}"
built_with="$root/target/maven-args"
splinewatch_build_needed() {
  [ ! -f "$jar" ] || [ ! -d "$root/target/lib" ] || [ -n "$(find "$root/src/main" "$root/pom.xml" -newer "$jar" -print -quit)" ] \
    || [ "$(cat "$built_with" 2>/dev/null || true)" != "$maven_args" ]
}
if splinewatch_build_needed; then
  command -v mvn >/dev/null || { echo "error: Maven (mvn) is needed to build splinewatch; install it (e.g. apt-get install maven)" >&2; exit 1; }
  # One build at a time: two launchers started together after a source change both ran mvn in the same target/. The
  # second waits for the first's build (flock, util-linux), then finds the jar current. The lock's descriptor is
  # closed before java starts, so a run does not hold it.
  if command -v flock >/dev/null && mkdir -p "$root/target" && exec 9>"$root/target/.build-lock"; then
    flock -n 9 || { echo "Waiting for the build of splinewatch another ./trainer or ./monitor started..." >&2; flock 9; }
  fi
  if splinewatch_build_needed; then
    echo "Building splinewatch (first use, sources changed or other SPLINEWATCH_MAVEN_ARGS)${maven_args:+ with $maven_args}..." >&2
    # shellcheck disable=SC2086
    # without the colour codes this Maven writes even in batch mode (ESC[0m on the console and in logs)
    (cd "$root" && mvn -B -q -DskipTests package $maven_args 2>&1 | sed -u 's/\x1b\[[0-9;]*m//g') >&2
    printf '%s' "$maven_args" >"$built_with"
  fi
  exec 9>&-
fi
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
# Run from a copy of this build's jar (beside it, so the manifest's lib/ class path still resolves): a rebuild by a
# later ./trainer or ./monitor after a source change rewrites target/splinewatch.jar in place, and a JVM still running
# from that file would fail at its next class load. Older copies are unlinked; a JVM running from one keeps reading it.
# A user who cannot write target/ (a checkout another user built) runs the build's jar itself: it cannot rebuild it
# either (before, cp failed and java was given a jar that did not exist).
run_jar="$root/target/splinewatch-run-$(stat -c %Y "$jar").jar"
if [ ! -f "$run_jar" ] && [ ! -w "$root/target" ]; then
  run_jar="$jar"
elif [ ! -f "$run_jar" ]; then
  cp "$jar" "$run_jar.tmp.$$" && mv -f "$run_jar.tmp.$$" "$run_jar"
  find "$root/target" -maxdepth 1 -name 'splinewatch-run-*.jar' ! -name "$(basename "$run_jar")" -delete
fi
# heap and off-heap budget from the machine and the command (src/main/sh/memory.sh, docs/memory.md)
source "$root/src/main/sh/memory.sh"
# the settings of a --config file are read from this jar's classes
SPLINEWATCH_PROBE_CLASS_PATH="$run_jar"
splinewatch_memory_opts "$@" || exit 2
# the Vector API for the region engine where this java has it (src/main/sh/vector.sh)
source "$root/src/main/sh/vector.sh"
splinewatch_vector_opts || exit 2
# G1 regions of 32 MB: the analyzers' arrays of a few MB (probe activations, region buffers) are then ordinary young
# objects instead of humongous ones, each of which started a concurrent GC cycle and its pauses (README, overhead).
# No profiled loop predicates in C2: SameDiff's session loop (AbstractSession.output, 100 kB of code) is shared by
# training and inference, each breaks the predicates C2 built from the other's profile, and C2 compiled it 6-8 times
# (1-2 s each) in a 900-step run; without them 3 times, and the JIT compilers use 5-6 s less CPU per 900-step run
# (docs/performance.md, monitoring overhead).
# Metaspace may grow to 128 MB before it starts a collection: the default threshold, about 21 MB, was crossed again and
# again as the trainer (about 63 MB of classes) and the analyzers loaded theirs, each time a safepoint and one or two
# young pauses with a concurrent cycle (docs/performance.md, session 60). It reserves nothing.
# JAVA_OPTS come after, so they can override these and the memory options.
run=exec
if [ "${1:-}" = monitor ] && [ "${2:-}" = serve ]; then
  # a monitor serves training that runs in other terminals: in a session (scheduling group) of its own
  source "$root/src/main/sh/own-session.sh"
  trap - INT TERM HUP
  run=splinewatch_own_session
fi
# shellcheck disable=SC2086
$run java "${SPLINEWATCH_VECTOR_OPTS[@]}" -XX:G1HeapRegionSize=32m -XX:-UseProfiledLoopPredicate -XX:MetaspaceSize=128m "${SPLINEWATCH_MEMORY_OPTS[@]}" -Dsplinewatch.root="$root" ${JAVA_OPTS:-} -jar "$run_jar" "$@"
