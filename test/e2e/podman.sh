#!/usr/bin/env bash
# Starts (if none answers) the Podman API service the Podman end-to-end test
# (podman.test.ts) runs against, and imports the busybox test image into
# Podman's storage. Safe to run again and again.
#   podman.sh [ensure]   make containers.conf fit, start the service if
#                        needed, import the test image
#   podman.sh stop       stop the service this script started
set -euo pipefail

SOCK=${SIDEKICK_PODMAN_SOCK:-/run/podman/podman.sock}
IMAGE=${SIDEKICK_PODMAN_IMAGE:-localhost/sidekick-test/busybox:latest}
LOG=${SIDEKICK_PODMAN_LOG:-/var/log/sidekick-podman.log}
PIDFILE=$(dirname "$SOCK")/sidekick-podman.pid
# The file Podman reads, as Podman itself takes it (CONTAINERS_CONF).
CONF=${CONTAINERS_CONF:-/etc/containers/containers.conf}

# Root Podman as engine.sh runs dockerd: vfs storage, which works on any
# filesystem (overlay does not inside a container). cgroupfs and the file
# events backend are what Podman picks by itself without systemd as PID 1, as
# here; they are named so that a machine with systemd runs the same service
# (no systemd scopes, no journal needed).
PODMAN=(podman --storage-driver=vfs --cgroup-manager=cgroupfs --events-backend=file)

need() {
  command -v "$1" >/dev/null 2>&1 || {
    echo "podman.sh: '$1' not found; install Debian's $2 (apt-get install $2), or run .ci/run" >&2
    exit 1
  }
}

# curl is quick; `podman --url` takes 2 s to say the same.
answers() {
  if command -v curl >/dev/null 2>&1; then
    curl -sf --max-time 10 --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1
  else
    podman --url "unix://$SOCK" version >/dev/null 2>&1
  fi
}

# Podman gives every container of root nofile=1048576 (and nproc) rlimits;
# where the runtime may not raise them (a sandbox, this machine), runc fails
# with "error setting rlimit type 7: operation not permitted". An empty
# default_ulimits leaves the containers the service's own limits. Added under
# [containers], the rest of the file kept as it is; CONF_CHANGED=1 if it was.
CONF_CHANGED=0
ensure_conf() {
  local state=none
  if [ -f "$CONF" ]; then
    state=$(awk '
      /^[[:space:]]*\[/ {
        section = $0; gsub(/^[[:space:]]*\[+[[:space:]]*|[[:space:]]*\]+.*$/, "", section)
        if (section == "containers") seen = 1
        next
      }
      section == "containers" && /^[[:space:]]*default_ulimits[[:space:]]*=/ {
        line = $0; sub(/#.*/, "", line); gsub(/[[:space:]]/, "", line)
        print (line == "default_ulimits=[]" ? "set" : "other"); found = 1; exit
      }
      END { if (!found) print (seen ? "section" : "none") }
    ' "$CONF")
  fi
  case "$state" in
    set) return 0 ;;
    other)
      echo "podman.sh: $CONF sets default_ulimits under [containers] to something else; left as it is." >&2
      echo "podman.sh: if containers fail with 'error setting rlimit', make it: default_ulimits = []" >&2
      return 0
      ;;
  esac
  mkdir -p "$(dirname "$CONF")"
  local comment='# test/e2e/podman.sh (sidekick): containers get no rlimits from Podman; runc may not be allowed to set its defaults'
  if [ "$state" = section ]; then
    local tmp
    tmp=$(mktemp "$CONF.XXXXXX")
    awk -v comment="$comment" '
      { print }
      !done && /^[[:space:]]*\[[[:space:]]*containers[[:space:]]*\][[:space:]]*(#.*)?$/ { print comment; print "default_ulimits = []"; done = 1 }
    ' "$CONF" > "$tmp"
    chmod --reference="$CONF" "$tmp"
    mv "$tmp" "$CONF"
  else
    { [ -s "$CONF" ] && echo; echo '[containers]'; echo "$comment"; echo 'default_ulimits = []'; } >> "$CONF"
  fi
  CONF_CHANGED=1
  echo "podman.sh: $CONF: default_ulimits = [] under [containers]" >&2
}

stop_service() {
  local pid
  pid=$(cat "$PIDFILE" 2>/dev/null || true)
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "podman.sh: podman service $pid did not stop in 20 s; killing it" >&2
      kill -KILL "$pid" || true
    fi
  fi
  rm -f "$PIDFILE"
}

start_service() {
  mkdir -p "$(dirname "$SOCK")"
  # Nothing answers on it: a socket left by a service that is gone.
  rm -f "$SOCK"
  # From /: the service outlives the checkout it was started from, and its
  # conmons inherit its directory; one that was deleted fails every container
  # ("Failed to get working directory", "write child: broken pipe").
  (cd / && exec setsid "${PODMAN[@]}" system service --time=0 "unix://$SOCK" >>"$LOG" 2>&1 < /dev/null) &
  echo $! > "$PIDFILE"
  local end=$((SECONDS + 30))
  while [ "$SECONDS" -lt "$end" ]; do
    answers && return 0
    sleep 0.2
  done
  echo "podman.sh: podman system service did not answer on $SOCK within 30 s; last lines of $LOG:" >&2
  tail -n 30 "$LOG" >&2
  exit 1
}

ensure_image() {
  "${PODMAN[@]}" image exists "$IMAGE" && return 0
  need busybox busybox-static
  local root
  root=$(mktemp -d)
  mkdir -p "$root/bin" "$root/tmp" "$root/etc"
  cp "$(command -v busybox)" "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
  tar -C "$root" -c . | "${PODMAN[@]}" import -q -c 'ENV PATH=/bin' - "$IMAGE" >/dev/null
  rm -rf "$root"
  echo "podman.sh: imported $IMAGE" >&2
}

need podman podman
case "${1:-ensure}" in
  ensure)
    ensure_conf
    if [ "$CONF_CHANGED" = 1 ] && answers; then
      # A service reads containers.conf when it starts.
      if [ -s "$PIDFILE" ]; then
        stop_service
      else
        echo "podman.sh: a Podman service already answers on $SOCK; restart it so that it reads $CONF" >&2
      fi
    fi
    answers || start_service
    ensure_image
    ;;
  stop)
    stop_service
    ;;
  *)
    echo "usage: podman.sh [ensure|stop]" >&2
    exit 2
    ;;
esac
