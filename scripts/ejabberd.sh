#!/usr/bin/env bash
# A real ejabberd (Debian's package) for the XMPP client layer and its tests, with chatsim's own
# configuration, Erlang node name and spool directory, on loopback ports. See docs/drivers.md.
#
#   bash scripts/ejabberd.sh install  apt-get install ejabberd where missing (as root), then stop
#                                     and disable Debian's own service (we never rely on it)
#   bash scripts/ejabberd.sh start    install where missing, start the node in the background and
#                                     wait until XMPP and the HTTP API answer (exit 1 if not); a
#                                     node that already answers on the ports (another checkout's)
#                                     is used as it is, and 'stop' leaves it alone
#   bash scripts/ejabberd.sh stop     ejabberdctl stop, wait for the node to exit
#   bash scripts/ejabberd.sh restart [down-seconds]
#                                     stop the node this script started, leave it down that long
#                                     (default 0), start it and wait until it answers (chatsim's
#                                     restart-target fault); exit 1 for a node it did not start
#   bash scripts/ejabberd.sh status   running or not, pid, resident memory (exit 3 when nothing answers)
#   bash scripts/ejabberd.sh env      the ports and domain as KEY=value lines (for tests)
#
# Environment:
#   EJABBERD_DIR            scratch root (default: <repo>/.ejabberd, git-ignored; must be reachable
#                           by the 'ejabberd' user, else a directory under /tmp is used and named)
#   EJABBERD_C2S_PORT       XMPP client port on 127.0.0.1 (default 25222)
#   EJABBERD_HTTP_PORT      HTTP API port on 127.0.0.1 (default 25280)
#   EJABBERD_DIST_PORT      Erlang distribution port on 127.0.0.1 (default 25290; no epmd used)
#   EJABBERD_DOMAIN         the XMPP domain served (default localhost)
#   EJABBERD_NODE           Erlang node name (default chatsim-ejabberd@localhost)
#   EJABBERD_LOGLEVEL       ejabberd's log level (default warning)
#   EJABBERD_START_TIMEOUT  seconds to wait for readiness (default 90)
#   EJABBERD_FRESH=1        wipe the spool (users, rosters, rooms, archives) before start
#
# Ports: the defaults avoid the services these machines run (Redis 6379, RabbitMQ 5672/15672/25672,
# epmd 4369, NATS 4222, Mosquitto 1883, PostgreSQL 5432, MariaDB 3306, Cassandra 9042/7000) and the
# XMPP defaults 5222/5280 of a Debian ejabberd. epmd on 4369 belongs to RabbitMQ's Erlang; the node
# must not start, stop or depend on it: ERL_DIST_PORT makes ejabberdctl pass -erl_epmd_port and
# -start_epmd false, so the node listens on EJABBERD_DIST_PORT (127.0.0.1 only) and ejabberdctl's
# control clients connect there directly, and ejabberdctl skips its 'epmd -kill' on stop. (Where an
# epmd runs, the node still registers its name there, beside 'rabbit'; the names differ.)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
conf_src="$repo/.ci/ejabberd/ejabberd.yml"
host=127.0.0.1
c2s_port="${EJABBERD_C2S_PORT:-25222}"
http_port="${EJABBERD_HTTP_PORT:-25280}"
dist_port="${EJABBERD_DIST_PORT:-25290}"
domain="${EJABBERD_DOMAIN:-localhost}"
node="${EJABBERD_NODE:-chatsim-ejabberd@localhost}"
loglevel="${EJABBERD_LOGLEVEL:-warning}"
timeout_s="${EJABBERD_START_TIMEOUT:-90}"
ctl=/usr/sbin/ejabberdctl
user=ejabberd

say() { echo "ejabberd.sh: $*"; }
die() { echo "ejabberd.sh: $*" >&2; exit 1; }

# The scratch root. The node runs as the 'ejabberd' user (Debian's ejabberdctl insists), which
# must be able to reach it; a checkout under a private home cannot be, so fall back to /tmp.
pick_root() {
  local want="${EJABBERD_DIR:-$repo/.ejabberd}"
  if ! id "$user" >/dev/null 2>&1; then echo "$want"; return; fi
  mkdir -p "$want"
  if runuser -u "$user" -- test -x "$want" 2>/dev/null; then echo "$want"; return; fi
  local alt
  alt="/tmp/chatsim-ejabberd-$(printf '%s' "$want" | cksum | cut -d' ' -f1)"
  # /tmp is shared: refuse a path someone else made (a symlink, or not owned by root/ejabberd).
  if [ -L "$alt" ] || { [ -e "$alt" ] && ! stat -c %U "$alt" | grep -qx -e root -e "$user"; }; then
    die "$alt exists and was not made by this script; remove it or set EJABBERD_DIR"
  fi
  echo "ejabberd.sh: user $user cannot reach $want; using $alt" >&2
  echo "$alt"
}

port_open() { (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; }

installed() { [ -x "$ctl" ] && id "$user" >/dev/null 2>&1; }

# Debian's own ejabberd service (node ejabberd@localhost, /etc/ejabberd/ejabberd.yml) is never
# what we use: after an install it is stopped if it started, and disabled at boot.
quiet_debian_service() {
  if [ -f /run/ejabberd/ejabberd.pid ] && kill -0 "$(cat /run/ejabberd/ejabberd.pid)" 2>/dev/null; then
    say "stopping Debian's default ejabberd service (pid $(cat /run/ejabberd/ejabberd.pid))"
    if command -v service >/dev/null; then service ejabberd stop >/dev/null 2>&1 || true; fi
    "$ctl" stop >/dev/null 2>&1 || true
  fi
  if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
    systemctl disable --now ejabberd >/dev/null 2>&1 || true
  else
    rm -f /etc/systemd/system/multi-user.target.wants/ejabberd.service
  fi
  if command -v update-rc.d >/dev/null && [ -f /etc/init.d/ejabberd ]; then
    update-rc.d ejabberd disable >/dev/null 2>&1 || true
  fi
}

cmd_install() {
  if installed; then quiet_debian_service; return 0; fi
  [ "$(id -u)" = 0 ] || die "ejabberd is not installed and this is not root: apt-get install ejabberd"
  command -v apt-get >/dev/null || die "ejabberd is not installed and there is no apt-get"
  say "installing Debian's ejabberd (apt-get)"
  local t0=$SECONDS
  # Debian's postinst starts its service where policy-rc.d allows; it is stopped right after.
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ejabberd; } > "${TMPDIR:-/tmp}/chatsim-ejabberd-apt.log" 2>&1 \
    || { tail -n 20 "${TMPDIR:-/tmp}/chatsim-ejabberd-apt.log" >&2; die "apt-get install ejabberd failed"; }
  installed || die "ejabberdctl missing after apt-get install ejabberd"
  quiet_debian_service
  say "installed ejabberd $(dpkg-query -W -f '${Version}' ejabberd 2>/dev/null) in $((SECONDS - t0)) s"
}

set_paths() {
  root="$(pick_root)"
  run="$root/run"
  spool="$run/spool"
  logs="$run/logs"
  pid_file="$run/ejabberd.pid"
  ctl_cfg="$run/ejabberdctl.cfg"
  yml="$run/ejabberd.yml"
  log_file="$logs/ejabberd.log"
  out_file="$logs/start.out"
}
set_paths

ctlx() { XDG_CONFIG_HOME="$run" "$ctl" --ctl-config "$ctl_cfg" --spool "$spool" --logs "$logs" "$@"; }

running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid="$(cat "$pid_file" 2>/dev/null)"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  # A recycled pid would not be our node.
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$node" || return 1
  echo "$pid"
}

rss_mib() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo "?"; }

# The HTTP API answers 'status' once the node has started its applications.
api_ready() {
  command -v curl >/dev/null || { port_open "$http_port"; return; }
  curl -fsS -m 3 -X POST -H 'Content-Type: application/json' -d '{}' "http://$host:$http_port/api/status" >/dev/null 2>&1
}

write_config() {
  mkdir -p "$run" "$spool" "$logs"
  sed -e "s:@C2S_PORT@:$c2s_port:g" -e "s:@HTTP_PORT@:$http_port:g" \
      -e "s:@DOMAIN@:$domain:g" -e "s:@LOGLEVEL@:$loglevel:g" "$conf_src" > "$yml"
  # The Erlang cookie is the only secret: made here on first start, readable by the node's user
  # only. Erlang reads it from $XDG_CONFIG_HOME/erlang/.erlang.cookie (su keeps that variable; it
  # is not on any command line that ps shows). A ~/.erlang.cookie of the ejabberd user, if one
  # exists, is read first, by the node and by ejabberdctl alike.
  mkdir -p "$run/erlang"
  if [ ! -s "$run/erlang/.erlang.cookie" ]; then
    (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$run/erlang/.erlang.cookie")
  fi
  # Sourced by ejabberdctl after its defaults, so these override Debian's /etc/ejabberd/ejabberdctl.cfg
  # (which sets EJABBERD_CONFIG_PATH and would win over --config).
  cat > "$ctl_cfg" <<EOF
# Written by scripts/ejabberd.sh; sourced by ejabberdctl --ctl-config.
ERLANG_NODE=$node
EJABBERD_CONFIG_PATH=$yml
EJABBERD_PID_PATH=$pid_file
ERL_DIST_PORT=$dist_port
INET_DIST_INTERFACE=$host
ERL_EPMD_ADDRESS=$host
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"
EJABBERD_BYPASS_WARNINGS=true
CONTRIB_MODULES_PATH=$run/contrib
CONTRIB_MODULES_CONF_DIR=$run/contrib-conf
EOF
  chown -R "$user:$user" "$run"
  chmod 700 "$run" "$run/erlang"
  chmod 400 "$run/erlang/.erlang.cookie"
}

cmd_start() {
  cmd_install
  set_paths
  local pid
  if pid="$(running_pid)"; then
    if api_ready && port_open "$c2s_port"; then say "already running (pid $pid), XMPP on $host:$c2s_port, API on $host:$http_port"; return 0; fi
    say "pid $pid is starting; waiting"
    wait_ready "$pid" "$SECONDS"
    return
  fi
  if port_open "$c2s_port" && api_ready; then
    # Another checkout's node (or one started by hand): use it rather than fail; stop leaves it alone.
    say "$host:$c2s_port and the API on $host:$http_port already answer (not started from $root); using that node"
    return 0
  fi
  local p
  for p in "$c2s_port" "$http_port" "$dist_port"; do
    port_open "$p" && die "$host:$p is taken by another process (set EJABBERD_C2S_PORT / EJABBERD_HTTP_PORT / EJABBERD_DIST_PORT)"
  done
  if [ "${EJABBERD_FRESH:-0}" = 1 ]; then rm -rf "$spool"; fi
  write_config
  rm -f "$pid_file"
  say "starting ejabberd (node $node, domain $domain), spool $spool, log $log_file"
  local t0=$SECONDS
  # 'start' detaches the node (-detached); it outlives this shell. stdin closed.
  ctlx start > "$out_file" 2>&1 < /dev/null || { cat "$out_file" >&2; die "ejabberdctl start failed"; }
  local waited=0
  while ! pid="$(running_pid)"; do
    if [ "$waited" -ge 30 ]; then
      show_logs
      die "no ejabberd pid in $pid_file 15 s after ejabberdctl start"
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  wait_ready "$pid" "$t0"
}

show_logs() {
  echo "--- last lines of $log_file ---" >&2
  tail -n 30 "$log_file" >&2 2>/dev/null || true
  local f
  for f in "$out_file" "$logs/error.log"; do
    if [ -s "$f" ]; then echo "--- $f ---" >&2; tail -n 20 "$f" >&2; fi
  done
}

wait_ready() {
  local pid="$1" t0="$2"
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_logs
      rm -f "$pid_file"
      die "ejabberd (pid $pid) exited during start-up"
    fi
    if port_open "$c2s_port" && api_ready; then
      say "ready after $((SECONDS - t0)) s (pid $pid, RSS $(rss_mib "$pid") MiB): XMPP $host:$c2s_port, API http://$host:$http_port/api, domain $domain"
      return 0
    fi
    if [ $((SECONDS - t0)) -ge "$timeout_s" ]; then
      show_logs
      die "ejabberd (pid $pid) not ready on $host:$c2s_port and $host:$http_port within $timeout_s s (still running; 'bash scripts/ejabberd.sh stop' to end it)"
    fi
    sleep 0.5
  done
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pid_file"
    say "not running"
    return 0
  fi
  say "stopping pid $pid (ejabberdctl stop)"
  ctlx stop >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null || true
  local waited=0
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -eq 60 ]; then say "still running 30 s after stop; SIGTERM"; kill -TERM "$pid" 2>/dev/null || true; fi
    if [ "$waited" -ge 120 ]; then die "pid $pid still running 60 s after stop"; fi
    sleep 0.5
    waited=$((waited + 1))
  done
  rm -f "$pid_file"
  say "stopped"
}

# Sessions (and their XEP-0198 resumption state) are lost; the spool (users, rosters, archives)
# stays: EJABBERD_FRESH is ignored here.
cmd_restart() {
  local down="${1:-0}" pid
  [[ "$down" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "restart: down-seconds must be a number, not '$down'"
  pid="$(running_pid)" || die "restart: no node started from $root (EJABBERD_DIR) runs here; a node of another checkout is not restarted"
  local t0=$SECONDS
  cmd_stop
  sleep "$down"
  EJABBERD_FRESH=0 cmd_start
  say "restarted in $((SECONDS - t0)) s (down at least $down s)"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    if port_open "$c2s_port" && api_ready; then
      say "running, pid $pid, RSS $(rss_mib "$pid") MiB, XMPP on $host:$c2s_port, API on $host:$http_port, spool in $spool"
      return 0
    fi
    say "starting (pid $pid, not answering yet)"
    return 3
  fi
  if port_open "$c2s_port" && api_ready; then say "not started by this script, but $host:$c2s_port and the API on $host:$http_port answer"; return 0; fi
  say "not running"
  return 3
}

cmd_env() {
  echo "EJABBERD_C2S_PORT=$c2s_port"
  echo "EJABBERD_HTTP_PORT=$http_port"
  echo "EJABBERD_DOMAIN=$domain"
  echo "EJABBERD_MUC_DOMAIN=conference.$domain"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  restart) cmd_restart "${2:-0}" ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) echo "usage: bash scripts/ejabberd.sh install|start|stop|restart [down-seconds]|status|env" >&2; exit 64 ;;
esac
