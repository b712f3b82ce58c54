# Memory budget of a splinewatch JVM, shared by src/main/sh/launch.sh and the Docker image (docs/memory.md).
# Defines splinewatch_memory_opts SUBCOMMAND [ARGS...], which sets the array SPLINEWATCH_MEMORY_OPTS:
#   -Xmx HEAP                                   the Java heap
#   -Dorg.bytedeco.javacpp.maxbytes=OFF         native memory JavaCPP tracks; SameDiff sizes its array cache to a
#                                               quarter of it (with the JVM's default, a quarter of the heap)
#   -Dorg.bytedeco.javacpp.maxphysicalbytes=HEAP+OFF   resident-memory limit: JavaCPP refuses allocations above it
#                                               and the run's memory watch stops the run with an error (exit 1)
# HEAP: SPLINEWATCH_HEAP, else -Xmx in JAVA_OPTS, else 640m (the default run's heap, with exact planes, peaks near
# 500 MiB in it; 1024m for train --method supervised (or method = supervised in its --config file), whose planes need
# more; the same for monitor experiment when its plan has supervised runs (--methods, by default), which it trains in
# its own JVM; 1536m for monitor serve, which holds several runs; 640m per analyzer node for monitor bench-cluster), at
# most a quarter of the machine's (or the container's) memory and at least 256m.
# OFF: SPLINEWATCH_OFF_HEAP, else 1024m (1536m for train --encoder cnn, or encoder = cnn in --config), at most an
# eighth of the machine's memory and at least 128m (a default run measured 0.43-0.57 GiB resident beyond its 640 MiB
# heap: JIT, metaspace, GC structures, ND4J's native arrays).
# MALLOC_ARENA_MAX=2 (unless set): fewer glibc malloc arenas, less native memory held by freed blocks.
# MALLOC_MMAP_THRESHOLD_=33554432 (unless set): a fixed 32 MiB threshold, so ND4J's arrays stay in malloc's arenas.
# A 128 KiB threshold (each array mapped on its own and returned when freed) trained 10-15 % slower (fresh pages
# faulted in for every array) and, with a 768 MiB heap, held no less resident memory (docs/memory.md).
# SPLINEWATCH_HEAP=jvm leaves everything to the JVM (a quarter of the machine's memory for the heap, no limits).

# Memory of this machine or, inside a container with a limit, of the container, in MiB.
splinewatch_machine_mib() {
  local limit=""
  if [ -r /sys/fs/cgroup/memory.max ]; then
    limit="$(cat /sys/fs/cgroup/memory.max)"
  elif [ -r /sys/fs/cgroup/memory/memory.limit_in_bytes ]; then
    limit="$(cat /sys/fs/cgroup/memory/memory.limit_in_bytes)"
  fi
  local total_kib
  total_kib="$(awk '/^MemTotal:/ {print $2}' /proc/meminfo 2>/dev/null || true)"
  local mib=$(( ${total_kib:-4194304} / 1024 ))
  # cgroup v1 reports "no limit" as a huge number, v2 as "max"
  if [[ "$limit" =~ ^[0-9]+$ ]] && [ "$limit" -lt $(( mib * 1048576 )) ]; then
    mib=$(( limit / 1048576 ))
  fi
  echo "$mib"
}

# A JVM size (512m, 2g, 1048576k, bytes) in MiB; empty and exit 1 when it is not one.
splinewatch_size_mib() {
  local s="${1,,}"
  if [[ "$s" =~ ^([0-9]+)([kmgt]?)$ ]]; then
    local n="${BASH_REMATCH[1]}"
    case "${BASH_REMATCH[2]}" in
      k) echo $(( n / 1024 )) ;;
      m) echo "$n" ;;
      g) echo $(( n * 1024 )) ;;
      t) echo $(( n * 1048576 )) ;;
      *) echo $(( n / 1048576 )) ;;
    esac
  else
    return 1
  fi
}

# Whether the arguments give OPTION the value VALUE (--option value or --option=value): splinewatch_has OPTION VALUE ARGS...
splinewatch_has() {
  local option="$1" value="$2" prev=""
  shift 2
  for a in "$@"; do
    if [ "$a" = "$option=$value" ] || { [ "$prev" = "$option" ] && [ "$a" = "$value" ]; }; then
      return 0
    fi
    prev="$a"
  done
  return 1
}

# The value the arguments give OPTION (--option value or --option=value, the last one), when it is a whole number
# from 1 to 99; else DEFAULT (the command itself refuses a bad value): splinewatch_count OPTION DEFAULT ARGS...
splinewatch_count() {
  local option="$1" value="$2" prev=""
  shift 2
  for a in "$@"; do
    if [[ "$a" =~ ^"$option"=([1-9][0-9]?)$ ]] || { [ "$prev" = "$option" ] && [[ "$a" =~ ^([1-9][0-9]?)$ ]]; }; then
      value="${BASH_REMATCH[1]}"
    fi
    prev="$a"
  done
  echo "$value"
}

# The last value the arguments give OPTION (--option value or --option=value); empty when none: splinewatch_arg OPTION ARGS...
splinewatch_arg() {
  local option="$1" value="" prev=""
  shift
  for a in "$@"; do
    if [[ "$a" == "$option="* ]]; then
      value="${a#"$option="}"
    elif [ "$prev" = "$option" ]; then
      value="$a"
    fi
    prev="$a"
  done
  printf '%s' "$value"
}

# The settings splinewatch.run.KEY... that the train arguments' --config FILE sets, or -Dconfig.file=FILE or
# -Dsplinewatch.run.KEY=VALUE in JAVA_OPTS, or a CONFIG_FORCE_ variable with -Dconfig.override_with_env_vars=true, as
# KEY=VALUE lines, each over the ones before it as for the command; empty without any of them. The JVM reads them (the
# class path in SPLINEWATCH_PROBE_CLASS_PATH, from the launcher; no probe without it), as the command does: a HOCON
# file has includes, quoted and dotted keys, nested sections and substitutions, which no shell parsing follows. It
# costs one small JVM start (0.9-1.3 s on a shared 2-core machine at a load average above 20), only when one of them is
# given. A file the JVM cannot read gives nothing here: the command refuses it in its own words.
# splinewatch_config_settings KEYS -- ARGS...
splinewatch_config_settings() {
  local keys=() opts=() words w file
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do
    keys+=("splinewatch.run.$1")
    shift
  done
  shift || true
  file="$(splinewatch_arg --config "$@")"
  read -ra words <<<"${JAVA_OPTS:-}"
  for w in "${words[@]}"; do
    case "$w" in
      -Dconfig.file=* | -Dconfig.resource=* | -Dconfig.url=* | -Dsplinewatch.run.* | -Dconfig.override_with_env_vars=*)
        opts+=("$w") ;;
    esac
  done
  if [ -z "${SPLINEWATCH_PROBE_CLASS_PATH:-}" ] || { [ -z "$file" ] && [ "${#opts[@]}" -eq 0 ]; }; then
    return 0
  fi
  java -Xshare:auto -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmx64m "${opts[@]}" \
    -cp "$SPLINEWATCH_PROBE_CLASS_PATH" org.splinewatch.cli.LauncherSettings "$file" "${keys[@]}" 2>/dev/null \
    | sed 's/^splinewatch\.run\.//' || true
}

# Whether the train arguments ask for OPTION VALUE: given; or, without OPTION, set as splinewatch.run.KEY by their
# --config file (or JAVA_OPTS), in splinewatch_configured (splinewatch_config_settings' lines); or, without either, with
# --resume CHECKPOINT of a run started so, as the trainer resumes it with the options the run was started with (the
# checkpoint's meta.json, the run's config.json, a --monitor run's checkpoints/run-options.json):
# splinewatch_train_asks OPTION VALUE KEY ARGS...
splinewatch_train_asks() {
  local option="$1" value="$2" key="$3" resume f line
  shift 3
  if [ -n "$(splinewatch_arg "$option" "$@")" ]; then
    splinewatch_has "$option" "$value" "$@"
    return
  fi
  while IFS= read -r line; do
    if [ "${line%%=*}" = "$key" ]; then
      [ "${line#*=}" = "$value" ]
      return
    fi
  done <<<"${splinewatch_configured:-}"
  resume="$(splinewatch_arg --resume "$@")"
  [ -n "$resume" ] || return 1
  for f in "$resume/meta.json" "$resume/../run-options.json" "$resume/../../config.json"; do
    if [ -f "$f" ] && grep -qE "\"(splinewatch\.run\.)?$key\" *: *\"$value\"" "$f" 2>/dev/null; then
      return 0
    fi
  done
  return 1
}

# Whether the train arguments ask for the supervised method (--method supervised or --method=supervised, method =
# supervised in their --config file, or a --resume of a supervised run).
splinewatch_is_supervised() {
  splinewatch_train_asks --method supervised method "$@"
}

# Whether monitor experiment's arguments plan supervised runs: --methods naming supervised, or no --methods (the
# default plan has them). Its runs are trained in its own JVM, sized here as ./trainer sizes each.
splinewatch_experiment_supervised() {
  local methods
  methods="$(splinewatch_arg --methods "$@")"
  [ -z "$methods" ] || [[ ",$methods," == *,supervised,* ]]
}

splinewatch_memory_opts() {
  local cmd="${1:-}"
  local sub="${2:-}"
  SPLINEWATCH_MEMORY_OPTS=()
  if [ "${SPLINEWATCH_HEAP:-}" = jvm ]; then
    return 0
  fi
  local machine heap off explicit="" splinewatch_configured=""
  machine="$(splinewatch_machine_mib)"
  if [ "$cmd" = train ]; then
    splinewatch_configured="$(splinewatch_config_settings method encoder -- "${@:2}")"
  fi
  if [ -n "${SPLINEWATCH_HEAP:-}" ]; then
    heap="$(splinewatch_size_mib "$SPLINEWATCH_HEAP")" || {
      echo "error: SPLINEWATCH_HEAP='$SPLINEWATCH_HEAP' is not a heap size; expected e.g. 1g, 1536m or jvm" >&2
      return 2
    }
  elif [[ " ${JAVA_OPTS:-} " =~ [[:space:]]-Xmx([0-9]+[kKmMgGtT]?)[[:space:]] ]]; then
    heap="$(splinewatch_size_mib "${BASH_REMATCH[1]}")"
    explicit=yes # JAVA_OPTS sets it; only the off-heap limits are added
  else
    # 640 MiB: the region engine's budget is a quarter of the heap per plane in flight
    # (RegionAnalyzer.workspaceBudget), 160 MiB here, and the default network's planes need about 1.2 KB per region
    # at their peak (measured up to 77 thousand regions; about 130 thousand fit). A smaller heap is collected more
    # often, which also frees ND4J's native arrays sooner: the default run's off-heap peak fell from 530-750 MiB with
    # 768 MiB to 430-600 MiB (docs/memory.md).
    # monitor serve holds several runs (about 55-110 MB each registered, docs/memory.md): 1536 MiB.
    # A supervised network keeps its head, so its planes need more per region, and they have more regions: in 640
    # MiB a default supervised run's planes overflowed; in 1024 MiB they were exact, up to 100 thousand regions, at
    # 1.37 GiB peak RSS (its DL4J trainer holds less native memory than SameDiff's). docs/memory.md.
    # monitor bench-cluster runs its analyzer nodes in one JVM: 640 MiB for each of the most it runs at once
    # (--max-nodes, default 2; --compare-tls runs one), as each would have in a JVM of its own. Sharing 640 MiB, two
    # nodes spent about 0.4 of the 2 cores collecting garbage and gained 1.30x over one node (median of four pairs),
    # 1.63x with 1280 MiB (docs/cluster.md).
    heap=640
    if [ "$cmd" = monitor ] && [ "$sub" = serve ]; then
      heap=1536
    elif [ "$cmd" = monitor ] && [ "$sub" = bench-cluster ] && [[ " ${*:3} " != *" --compare-tls "* ]]; then
      heap=$(( 640 * $(splinewatch_count --max-nodes 2 "${@:3}") ))
    elif [ "$cmd" = train ] && splinewatch_is_supervised "${@:2}"; then
      heap=1024
    elif [ "$cmd" = monitor ] && [ "$sub" = experiment ] && splinewatch_experiment_supervised "${@:3}"; then
      # monitor experiment trains its runs in this JVM: its supervised runs need the heap ./trainer gives them
      heap=1024
    fi
    heap=$(( heap < machine / 4 ? heap : machine / 4 ))
    heap=$(( heap > 256 ? heap : 256 ))
  fi
  if [ -n "${SPLINEWATCH_OFF_HEAP:-}" ]; then
    off="$(splinewatch_size_mib "$SPLINEWATCH_OFF_HEAP")" || {
      echo "error: SPLINEWATCH_OFF_HEAP='$SPLINEWATCH_OFF_HEAP' is not a size; expected e.g. 512m or 1g" >&2
      return 2
    }
  else
    # 1536 MiB for --encoder cnn: its SameDiff training holds more native memory, 0.92-1.11 GiB at its peak in
    # 200-step runs, and 1024 MiB stopped two of four such runs at the resident limit (docs/memory.md)
    off=1024
    if [ "$cmd" = train ] && splinewatch_train_asks --encoder cnn encoder "${@:2}"; then
      off=1536
    fi
    off=$(( off < machine / 8 ? off : machine / 8 ))
    off=$(( off > 128 ? off : 128 ))
  fi
  if [ -z "$explicit" ]; then
    SPLINEWATCH_MEMORY_OPTS+=("-Xmx${heap}m")
  fi
  export MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-2}"
  export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-33554432}"
  SPLINEWATCH_MEMORY_OPTS+=("-Dorg.bytedeco.javacpp.maxbytes=${off}m"
    "-Dorg.bytedeco.javacpp.maxphysicalbytes=$(( heap + off ))m")
}
