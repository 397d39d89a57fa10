#!/bin/bash
# Berth micro-benchmark: start-up latency, idle memory and request rate of
# berthd over its unix socket.  Run from the repo root as root:
#
#   bench/run.sh                 # uses build/berthd
#   BERTHD=build/asan/berthd bench/run.sh
#
# The daemon runs in a network namespace of its own with its own data-root,
# exec-root and socket under a temporary directory; nothing touches the
# host's /var/run/docker.sock.  Everything is removed on exit.
#
# Knobs (environment): BERTHD, FIXTURE (default build/fixtures/busybox.tar),
# BENCH_STARTS (5), BENCH_SECONDS (5 per endpoint), BENCH_CONC (parallel
# client processes, default: number of CPUs, at most 4), BENCH_STRICT=1
# (exit 1 when a target is missed).
#
# The request-rate client is a small Python program (keep-alive HTTP/1.1 over
# AF_UNIX); wrk cannot talk to unix sockets.  On small machines the client
# shares the CPUs with the daemon, so the numbers are a lower bound.

set -euo pipefail

BERTHD=${BERTHD:-build/berthd}
FIXTURE=${FIXTURE:-build/fixtures/busybox.tar}
STARTS=${BENCH_STARTS:-5}
SECONDS_PER=${BENCH_SECONDS:-5}
NCPU=$(nproc 2>/dev/null || echo 1)
CONC=${BENCH_CONC:-$(( NCPU < 4 ? NCPU : 4 ))}
PY=/usr/bin/python3

TARGET_READY_MS=100
TARGET_RSS_MB=10

die() { echo "bench: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
[ -x "$BERTHD" ] || die "$BERTHD not found or not executable (make build/berthd, or set BERTHD)"
command -v ip >/dev/null || die "ip (iproute2) missing"
command -v nsenter >/dev/null || die "nsenter (util-linux) missing"
BERTHD=$(readlink -f "$BERTHD")
BENCH_DIR=$(cd "$(dirname "$0")" && pwd)

TMP=$(mktemp -d /tmp/berth-bench.XXXXXX)
NS=berth-bench-$$
SOCK=$TMP/berth.sock
PIDFILE=$TMP/berthd.pid
LOG=$TMP/berthd.log
DAEMON_PID=

# shellcheck disable=SC2317  # invoked through trap
cleanup() {
    local rc=$? pid=$DAEMON_PID
    trap - EXIT INT TERM
    # The daemon we started in the background, or one left by an interrupted
    # start-up loop (its pid is in our own pidfile).
    if [ -z "$pid" ] && [ -s "$PIDFILE" ]; then
        pid=$(cat "$PIDFILE" 2>/dev/null || true)
    fi
    if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
       tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$TMP"; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do
            [ -d "/proc/$pid" ] || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    ip netns del "$NS" 2>/dev/null || true
    # Anything the daemon left mounted below TMP goes before the files.
    awk -v t="$TMP" '$2 == t || index($2, t "/") == 1 { print $2 }' /proc/self/mounts |
        sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    if [ "$rc" -ne 0 ] && [ -s "$LOG" ]; then
        echo "--- last lines of berthd log:" >&2
        tail -n 20 "$LOG" >&2
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ip netns add "$NS"
ip -n "$NS" link set lo up
mkdir -p "$TMP/data" "$TMP/exec" "$TMP/docker-config"
# An explicit, empty daemon.json so a host /etc/docker/daemon.json is ignored.
echo '{}' >"$TMP/daemon.json"

DAEMON=(nsenter "--net=/run/netns/$NS" "$BERTHD"
        --config-file "$TMP/daemon.json"
        --data-root "$TMP/data" --exec-root "$TMP/exec"
        -H "unix://$SOCK" --pidfile "$PIDFILE")

cat >"$TMP/client.py" <<'PYEOF'
import http.client
import multiprocessing
import os
import statistics
import subprocess
import sys
import time


sys.path.insert(0, os.environ["BENCH_DIR"])
from engines import UnixHTTP  # noqa: E402


def UnixConn(path, timeout=5):
    return UnixHTTP(path, timeout)


def ping_once(path):
    """One GET /_ping on a fresh connection; True on 200."""
    c = UnixConn(path, timeout=1)
    try:
        c.request("GET", "/_ping")
        r = c.getresponse()
        r.read()
        return r.status == 200
    except OSError:
        return False
    finally:
        c.close()


def wait_ready(path, proc_alive, timeout):
    """Seconds until /_ping answers 200, polling every millisecond."""
    t0 = time.monotonic()
    while True:
        if os.path.exists(path) and ping_once(path):
            return time.monotonic() - t0
        if not proc_alive():
            raise SystemExit("berthd exited before answering /_ping")
        if time.monotonic() - t0 > timeout:
            raise SystemExit("berthd did not answer /_ping within %gs" % timeout)
        time.sleep(0.001)


def cmd_startup(argv):
    """startup SOCK PIDFILE LOG N -- CMD...: median exec-to-ready in ms."""
    sock, pidfile, log, n = argv[0], argv[1], argv[2], int(argv[3])
    cmd = argv[5:]
    times = []
    with open(log, "ab") as logf:
        for _ in range(n):
            for stale in (sock, pidfile):
                try:
                    os.unlink(stale)
                except FileNotFoundError:
                    pass
            t0 = time.monotonic()
            p = subprocess.Popen(cmd, stdout=logf, stderr=logf,
                                 stdin=subprocess.DEVNULL)
            try:
                wait_ready(sock, lambda: p.poll() is None, 5.0)
                times.append((time.monotonic() - t0) * 1000.0)
            finally:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    print("%.1f %s" % (statistics.median(times),
                       " ".join("%.1f" % t for t in times)))


def cmd_ready(argv):
    """ready SOCK PID: waits for /_ping (PID must stay alive)."""
    sock, pid = argv[0], int(argv[1])
    ms = wait_ready(sock, lambda: os.path.exists("/proc/%d" % pid), 5.0)
    print("%.1f" % (ms * 1000.0))


def worker(args):
    sock, path, seconds = args
    ok = err = 0
    c = UnixConn(sock)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            if r.status == 200:
                ok += 1
            else:
                err += 1
            if r.will_close:
                c.close()
        except (OSError, http.client.HTTPException):
            err += 1
            c.close()
    c.close()
    return ok, err


def cmd_rps(argv):
    """rps SOCK PATH SECONDS CONC: requests per second (200s only)."""
    sock, path, seconds, conc = argv[0], argv[1], float(argv[2]), int(argv[3])
    t0 = time.monotonic()
    with multiprocessing.Pool(conc) as pool:
        res = pool.map(worker, [(sock, path, seconds)] * conc)
    elapsed = time.monotonic() - t0
    ok = sum(r[0] for r in res)
    err = sum(r[1] for r in res)
    print("%.0f %d" % (ok / elapsed, err))


def cmd_load(argv):
    """load SOCK FILE: POST /images/load (used when the docker CLI is absent)."""
    sock, path = argv[0], argv[1]
    c = UnixConn(sock, timeout=60)
    with open(path, "rb") as f:
        body = f.read()
    c.request("POST", "/images/load?quiet=1", body=body,
              headers={"Content-Type": "application/x-tar"})
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        raise SystemExit("load: HTTP %d %s" % (r.status, data[:200]))
    sys.stdout.write(data.decode(errors="replace") + "\n")


def cmd_get(argv):
    """get SOCK PATH: prints the body, fails unless 200."""
    c = UnixConn(argv[0])
    c.request("GET", argv[1])
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        raise SystemExit("GET %s: HTTP %d" % (argv[1], r.status))
    sys.stdout.write(data.decode(errors="replace") + "\n")


if __name__ == "__main__":
    cmds = {"startup": cmd_startup, "ready": cmd_ready, "rps": cmd_rps,
            "load": cmd_load, "get": cmd_get}
    cmds[sys.argv[1]](sys.argv[2:])
PYEOF

client() { BENCH_DIR=$BENCH_DIR "$PY" "$TMP/client.py" "$@"; }

echo "bench: $BERTHD (netns $NS, $TMP)"

# 1. Start-up: exec to first 200 on /_ping, several fresh starts on the same
#    data-root (the first one also creates it).
OUT=$(client startup "$SOCK" "$PIDFILE" "$LOG" "$STARTS" -- "${DAEMON[@]}")
read -r READY_MS READY_ALL <<<"$OUT"
echo "bench: ready after exec (ms): $READY_ALL"

# 2. One long-lived daemon for memory and request rate.
rm -f "$SOCK" "$PIDFILE"
"${DAEMON[@]}" >>"$LOG" 2>&1 </dev/null &
DAEMON_PID=$!   # nsenter execs berthd, so this is berthd's pid
client ready "$SOCK" "$DAEMON_PID" >/dev/null
sleep 1
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status"; }
IDLE_RSS_KB=$(rss_kb)

# 3. Load the test image, then hammer two cheap endpoints.
if [ ! -f "$FIXTURE" ]; then
    "$PY" tests/fixtures/mkimages.py "$(dirname "$FIXTURE")" >/dev/null
fi
if command -v docker >/dev/null; then
    DOCKER_CONFIG=$TMP/docker-config docker -H "unix://$SOCK" load -q -i "$FIXTURE" >/dev/null
else
    client load "$SOCK" "$FIXTURE" >/dev/null
fi
OUT=$(client get "$SOCK" /images/json)
case $OUT in
    *'"busybox:latest"'*) ;;
    *) die "busybox:latest not listed by GET /images/json after load" ;;
esac

OUT=$(client rps "$SOCK" /_ping "$SECONDS_PER" "$CONC")
read -r PING_RPS PING_ERR <<<"$OUT"
OUT=$(client rps "$SOCK" /images/json "$SECONDS_PER" "$CONC")
read -r IMG_RPS IMG_ERR <<<"$OUT"
BUSY_RSS_KB=$(rss_kb)

# 4. Report.
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v < t) ? "ok" : "MISSED" }'; }
IDLE_RSS_MB=$(awk -v k="$IDLE_RSS_KB" 'BEGIN { printf "%.1f", k / 1024 }')
BUSY_RSS_MB=$(awk -v k="$BUSY_RSS_KB" 'BEGIN { printf "%.1f", k / 1024 }')
R1=$(verdict "$READY_MS" "$TARGET_READY_MS")
R2=$(verdict "$IDLE_RSS_MB" "$TARGET_RSS_MB")

echo
printf '%-40s %10s %8s %7s\n' metric value target result
printf '%-40s %10s %8s %7s\n' "ready after exec, median of $STARTS (ms)" "$READY_MS" "< $TARGET_READY_MS" "$R1"
printf '%-40s %10s %8s %7s\n' "idle RSS (MB)" "$IDLE_RSS_MB" "< $TARGET_RSS_MB" "$R2"
printf '%-40s %10s %8s %7s\n' "GET /_ping (req/s, $CONC conns)" "$PING_RPS" "-" "$([ "$PING_ERR" -eq 0 ] && echo ok || echo "$PING_ERR err")"
printf '%-40s %10s %8s %7s\n' "GET /images/json (req/s, $CONC conns)" "$IMG_RPS" "-" "$([ "$IMG_ERR" -eq 0 ] && echo ok || echo "$IMG_ERR err")"
printf '%-40s %10s %8s %7s\n' "RSS after load + load test (MB)" "$BUSY_RSS_MB" "-" "-"

if [ "${BENCH_STRICT:-0}" = 1 ]; then
    [ "$R1" = ok ] && [ "$R2" = ok ] && [ "$PING_ERR" -eq 0 ] && [ "$IMG_ERR" -eq 0 ] ||
        exit 1
fi
exit 0
