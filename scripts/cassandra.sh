#!/usr/bin/env bash
# A single-node Apache Cassandra 5.0 for local runs and CI, from Maven Central jars on JDK 17
# (no tarball, no Docker). See docs/architecture.md, "Cassandra".
#
#   bash scripts/cassandra.sh fetch    gather the server jars (mvn; skipped when already there)
#   bash scripts/cassandra.sh start    start the node in the background on 127.0.0.1:9042 and
#                                      wait until it accepts CQL (exit 1 if it cannot)
#   bash scripts/cassandra.sh stop     SIGTERM, wait for the JVM to exit
#   bash scripts/cassandra.sh status   running or not, pid, resident memory (exit 3 when stopped)
#
# Environment:
#   CASSANDRA_DIR            cache and scratch root (default: <repo>/.cassandra, git-ignored)
#   CASSANDRA_HEAP           JVM heap, -Xms and -Xmx (default 1G)
#   CASSANDRA_START_TIMEOUT  seconds to wait for CQL (default 180)
#   CASSANDRA_FRESH=1        wipe the data directories before start
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
conf_src="$repo/.ci/cassandra"
version="$(sed -n 's:.*<cassandra.version>\(.*\)</cassandra.version>.*:\1:p' "$conf_src/pom.xml")"
root="${CASSANDRA_DIR:-$repo/.cassandra}"
lib="$root/$version/lib"
run="$root/run"
pid_file="$run/cassandra.pid"
log_file="$run/cassandra.log"
host=127.0.0.1
port=9042
heap="${CASSANDRA_HEAP:-1G}"
timeout_s="${CASSANDRA_START_TIMEOUT:-180}"

say() { echo "cassandra.sh: $*"; }
die() { echo "cassandra.sh: $*" >&2; exit 1; }

# Whether something accepts TCP connections on host:port (bash's /dev/tcp, no extra tools).
port_open() { (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; }

running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid="$(cat "$pid_file")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # A recycled pid would not be our JVM.
  grep -q CassandraDaemon "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

rss_mib() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

cmd_fetch() {
  if [ -f "$lib/.complete" ] && [ -f "$lib/cassandra-all-$version.jar" ]; then
    say "jars for Cassandra $version already in $lib ($(ls "$lib" | wc -l) files)"
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (apt-get install maven)"
  mkdir -p "$lib"
  say "fetching Cassandra $version jars from Maven Central into $lib"
  local t0=$SECONDS
  mvn -B -q -f "$conf_src/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$lib" || die "mvn dependency:copy-dependencies failed"
  [ -f "$lib/cassandra-all-$version.jar" ] || die "cassandra-all-$version.jar missing after fetch"
  touch "$lib/.complete"
  say "fetched $(ls "$lib" | grep -c '\.jar$') jars, $(du -sh "$lib" | cut -f1), in $((SECONDS - t0)) s"
}

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    if port_open; then say "already running (pid $pid) on $host:$port"; return 0; fi
    say "pid $pid is starting; waiting for CQL"
    wait_ready "$pid" "$SECONDS"
    return
  fi
  if port_open; then
    # Another checkout's node (or one started by hand): use it rather than fail; stop leaves it alone.
    say "$host:$port already accepts connections (not started from $root); using that node"
    return 0
  fi
  [ -f "$lib/.complete" ] || die "no jars in $lib: run 'bash scripts/cassandra.sh fetch' first"
  command -v java >/dev/null || die "java not found (JDK 17 needed)"
  local java_major
  java_major="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')"
  [ "${java_major:-0}" -ge 17 ] || die "Cassandra 5.0 needs JDK 17 (found java ${java_major:-unknown})"

  if [ "${CASSANDRA_FRESH:-0}" = 1 ]; then rm -rf "$run"; fi
  mkdir -p "$run/conf" "$run/logs" "$run/triggers" "$run"/{data,commitlog,hints,saved_caches,cdc_raw}
  sed "s:@DIR@:$run:g" "$conf_src/cassandra.yaml" > "$run/conf/cassandra.yaml"
  cp "$conf_src/logback.xml" "$run/conf/logback.xml"

  local jamm
  jamm="$(ls "$lib"/jamm-*.jar 2>/dev/null | head -n 1)"
  [ -n "$jamm" ] || die "jamm jar not found in $lib"

  # JVM flags: conf/jvm17-server.options of Cassandra 5.0 (G1, JPMS exports/opens, Netty),
  # then the single-node fast-start properties Testcontainers and others use.
  local jvm=(
    -Xms"$heap" -Xmx"$heap"
    -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1
    -XX:G1RSetUpdatingPauseTimePercent=5 -XX:MaxGCPauseMillis=300 -XX:InitiatingHeapOccupancyPercent=70
    -ea -da:net.openhft...
    -XX:+ExitOnOutOfMemoryError -XX:+UseThreadPriorities -XX:+UseTLAB -XX:+ResizeTLAB -XX:+PerfDisableSharedMem
    -Djava.net.preferIPv4Stack=true
    -Djdk.attach.allowAttachSelf=true
    --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
    --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
    --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
    --add-exports java.sql/java.sql=ALL-UNNAMED
    --add-exports java.base/java.lang.ref=ALL-UNNAMED
    --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
    --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
    --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
    --add-opens java.base/java.lang.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
    --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
    --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
    --add-opens java.base/jdk.internal.math=ALL-UNNAMED
    --add-opens java.base/jdk.internal.module=ALL-UNNAMED
    --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
    --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
    --add-opens java.base/sun.nio.ch=ALL-UNNAMED
    --add-opens java.base/java.io=ALL-UNNAMED
    --add-opens java.base/java.lang.reflect=ALL-UNNAMED
    --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
    --add-opens java.base/java.lang=ALL-UNNAMED
    --add-opens java.base/java.util=ALL-UNNAMED
    -Dio.netty.tryReflectionSetAccessible=true
    -Dio.netty.allocator.useCacheForAllThreads=true
    -Dio.netty.allocator.maxOrder=11
    -javaagent:"$jamm"
    -Dcassandra-foreground=yes
    -Dcassandra.config="file://$run/conf/cassandra.yaml"
    -Dlogback.configurationFile="$run/conf/logback.xml"
    -Dcassandra.storagedir="$run"
    -Dcassandra.logdir="$run/logs"
    -Dcassandra.triggers_dir="$run/triggers"
    -Dcassandra.skip_wait_for_gossip_to_settle=0
    -Dcassandra.ring_delay_ms=1000
    -Dcassandra.initial_token=0
    -Dcassandra.superuser_setup_delay_ms=0
    -Dcassandra.unsafesystem=true
  )
  say "starting Cassandra $version (heap $heap), data in $run, log $log_file"
  local t0=$SECONDS
  # setsid: the node outlives this shell and CI's process group; stdin closed.
  setsid java "${jvm[@]}" -cp "$run/conf:$lib/*" org.apache.cassandra.service.CassandraDaemon \
    > "$log_file" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$pid_file"
  wait_ready "$pid" "$t0"
}

wait_ready() {
  local pid="$1" t0="$2"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "--- last lines of $log_file ---" >&2
      tail -n 40 "$log_file" >&2 || true
      rm -f "$pid_file"
      die "Cassandra (pid $pid) exited during start-up"
    fi
    if grep -q 'Starting listening for CQL clients' "$log_file" 2>/dev/null && port_open; then
      say "ready on $host:$port after $((SECONDS - t0)) s (pid $pid, RSS $(rss_mib "$pid") MiB)"
      return 0
    fi
    if [ $((SECONDS - t0)) -ge "$timeout_s" ]; then
      echo "--- last lines of $log_file ---" >&2
      tail -n 40 "$log_file" >&2 || true
      die "Cassandra (pid $pid) did not accept CQL on $host:$port within $timeout_s s (still running; 'bash scripts/cassandra.sh stop' to end it)"
    fi
    sleep 1
  done
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pid_file"
    say "not running"
    return 0
  fi
  say "stopping pid $pid (SIGTERM)"
  kill -TERM "$pid"
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge 60 ]; then die "pid $pid still running 60 s after SIGTERM"; fi
    sleep 1
    waited=$((waited + 1))
  done
  rm -f "$pid_file"
  say "stopped after $waited s"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    if port_open; then
      say "running, pid $pid, RSS $(rss_mib "$pid") MiB, CQL on $host:$port, data in $run"
      return 0
    fi
    say "starting (pid $pid, not accepting CQL yet)"
    return 3
  fi
  if port_open; then say "not started by this script, but $host:$port accepts connections"; return 0; fi
  say "not running"
  return 3
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: bash scripts/cassandra.sh fetch|start|stop|status" >&2; exit 64 ;;
esac
