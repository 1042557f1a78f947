#!/usr/bin/env bash
# Starts (if none answers) the Docker engine the end-to-end tests run against,
# and imports the busybox test image. Safe to run again and again.
#   engine.sh [ensure]            start dockerd if needed, import the test image
#   engine.sh restart [flags...]  stop the running dockerd and start a new one,
#                                 with extra dockerd flags (--live-restore)
#   engine.sh stop                stop the running dockerd
set -euo pipefail

IMAGE=${SIDEKICK_TEST_IMAGE:-sidekick-test/busybox:latest}
LOG=${SIDEKICK_DOCKERD_LOG:-/var/log/sidekick-dockerd.log}
PIDFILE=/var/run/docker.pid

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "engine.sh: '$1' not found; install Debian's $2 (apt-get install $2), or run .ci/run" >&2
    exit 1
  }
}

answers() { docker info >/dev/null 2>&1; }

stop_engine() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 150); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "engine.sh: dockerd $pid did not stop in 30 s; killing it" >&2
      kill -KILL "$pid" || true
      sleep 1
    fi
  fi
  rm -f "$PIDFILE"
}

start_engine() {
  need dockerd docker.io
  # A daemon killed without cleanup leaves its pid files behind, and the next
  # dockerd (or its managed containerd) refuses to start while they exist.
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
    echo "engine.sh: removing stale $PIDFILE (pid $pid is gone)" >&2
    rm -f "$PIDFILE"
  fi
  rm -f /var/run/docker/containerd/containerd.pid
  # From /: dockerd outlives the checkout it was started from.
  (cd / && exec setsid dockerd --storage-driver=vfs --iptables=false --bridge=none "$@" >>"$LOG" 2>&1 < /dev/null) &
  for _ in $(seq 1 300); do
    answers && return 0
    sleep 0.2
  done
  echo "engine.sh: dockerd did not answer within 60 s; last lines of $LOG:" >&2
  tail -n 30 "$LOG" >&2
  exit 1
}

ensure_image() {
  docker image inspect "$IMAGE" >/dev/null 2>&1 && return 0
  need busybox busybox-static
  local root
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp "$(command -v busybox)" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
  tar -C "$root" -c . | docker import -c 'ENV PATH=/bin' - "$IMAGE" >/dev/null
  rm -rf "$root"
  echo "engine.sh: imported $IMAGE" >&2
}

need docker docker.io
case "${1:-ensure}" in
  ensure)
    answers || start_engine
    ensure_image
    ;;
  restart)
    stop_engine
    start_engine "${@:2}"
    ;;
  stop)
    stop_engine
    ;;
  *)
    echo "usage: engine.sh [ensure|restart [dockerd flags...]|stop]" >&2
    exit 2
    ;;
esac
