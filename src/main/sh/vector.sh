# Sourced by the launchers (launch.sh, container-entrypoint.sh). The region engine's dense product uses the Java Vector
# API, an incubator module in Java 17: splinewatch_vector_opts sets SPLINEWATCH_VECTOR_OPTS to
# --add-modules=jdk.incubator.vector where this java has the module (the JVM then prints "WARNING: Using incubator
# modules: jdk.incubator.vector" once at start). SPLINEWATCH_VECTOR=off leaves it out: the plain Java loop, the same
# values bit for bit, about 3x slower on that product (docs/regions-engine.md).
splinewatch_vector_opts() {
  SPLINEWATCH_VECTOR_OPTS=()
  case "${SPLINEWATCH_VECTOR:-on}" in
    on)
      # grep reads the whole list (no -q), so java never dies of SIGPIPE under pipefail
      if java --list-modules 2>/dev/null | grep '^jdk\.incubator\.vector@' >/dev/null; then
        # C2 compiles the kernel at a hundredth of the usual call and loop counts: until it does, every vector
        # operation is an object, and a C2 queue full of the trainer's methods raised those counts (the analysis
        # thread's first snapshot allocated 0.1-1 GB so; docs/performance.md). quiet: the JVM prints no line for it
        SPLINEWATCH_VECTOR_OPTS=(--add-modules=jdk.incubator.vector -XX:CompileCommand=quiet
          "-XX:CompileCommand=CompileThresholdScaling,org.splinewatch.regions.VectorDenseKernel::*,0.01")
      fi
      ;;
    off) ;;
    *)
      echo "error: SPLINEWATCH_VECTOR='${SPLINEWATCH_VECTOR}' is not on or off; expected on (the default) or off" >&2
      return 1
      ;;
  esac
}
