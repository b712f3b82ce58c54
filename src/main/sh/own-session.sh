# Defines splinewatch_own_session COMMAND [ARGS...]: runs COMMAND in a session of its own and exits with its status,
# forwarding SIGINT (Ctrl-C in the terminal), SIGTERM and SIGHUP to it; where setsid, the kernel's autogroups or
# env --default-signal (coreutils 8.31 or later) are missing it just execs COMMAND.
# Why: a Linux kernel with autogroups shares the CPU fairly between sessions and SCHED_IDLE yields only within one,
# so the idle-priority analyzers of a `monitor serve` started in one terminal took as much CPU as the training
# started in another. In a session of its own the monitor lowers its group to nice 19 (SchedulingGroup.java,
# docs/performance.md "Threads"). SPLINEWATCH_OWN_SESSION=no keeps the caller's session.
splinewatch_own_session() {
  if [ "${SPLINEWATCH_OWN_SESSION:-yes}" = no ] || [ ! -e /proc/self/autogroup ] || ! command -v setsid >/dev/null \
      || ! env --default-signal=INT true 2>/dev/null; then
    exec "$@"
  fi
  # A background command of a script starts with SIGINT and SIGQUIT ignored, and a JVM then installs no handler for
  # them (Ctrl-C forwarded would do nothing, nor kill -QUIT's thread dump): env gives them their default back. Its
  # stdin stays the terminal's (a background command's would be /dev/null); --wait in case setsid has to fork.
  setsid --wait env --default-signal=INT,QUIT "$@" <&0 &
  local child=$!
  trap 'kill -INT "$child" 2>/dev/null || true' INT
  trap 'kill -TERM "$child" 2>/dev/null || true' TERM
  trap 'kill -HUP "$child" 2>/dev/null || true' HUP
  local status
  while :; do
    status=0
    wait "$child" || status=$?
    # a forwarded signal ends wait early (above 128) while the command is still finishing: wait for it again
    if [ "$status" -gt 128 ] && kill -0 "$child" 2>/dev/null; then
      continue
    fi
    break
  done
  exit "$status"
}
