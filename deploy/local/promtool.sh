#!/usr/bin/env bash
# promtool (Prometheus' rule checker and rule unit-test runner) for development, tests
# and CI. It comes out of Debian's `prometheus` package, which is downloaded and
# unpacked but never installed: no service, no user, nothing outside this checkout.
#
#   deploy/local/promtool.sh fetch       download and unpack once into .local/tools/prometheus
#   deploy/local/promtool.sh path        fetch if needed, then print the promtool binary's path
#   deploy/local/promtool.sh ARGS...     fetch if needed, then run promtool ARGS...
#                                        e.g. test rules deploy/prometheus/alerts.test.yaml
#
# Fetching needs apt-get and dpkg-deb (Debian or Ubuntu); `apt-get update` is run only when
# the download fails (package lists missing or stale), which needs root. Once unpacked,
# every call is a file check and an exec. Progress goes to stderr, so `path` prints
# nothing but the path on stdout.
#
# Everything lives under <repo>/.local/ (git-ignored); the repo root is derived from
# this file's location so any clone works.
set -euo pipefail

PACKAGE=prometheus

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCAL="$ROOT/.local"
TOOLS="$LOCAL/tools"
HOME_DIR="$TOOLS/prometheus"
PROMTOOL="$HOME_DIR/usr/bin/promtool"
MARKER="$HOME_DIR/.fetched"
RUN_DIR="$LOCAL/run"

log() { echo "promtool: $*" >&2; }
die() { echo "promtool: ERROR: $*" >&2; exit 1; }

usage() {
    cat >&2 <<EOF
usage: $0 fetch              download Debian's $PACKAGE package and unpack it under .local/tools/
       $0 path               print the path of the promtool binary (fetching it first if needed)
       $0 PROMTOOL-ARGS...   run promtool, e.g. '$0 check rules deploy/prometheus/alerts.yaml'
EOF
    exit 2
}

fetched() {
    [[ -f "$MARKER" && -x "$PROMTOOL" ]]
}

# Runs `apt-get download` in the current directory; refreshes the package lists once
# if the first attempt fails.
download_deb() {
    local out="$1"
    if apt-get download -q "$PACKAGE" >"$out" 2>&1; then
        return 0
    fi
    [[ $EUID -eq 0 ]] || {
        cat "$out" >&2
        die "apt-get download $PACKAGE failed and refreshing the package lists needs root (sudo apt-get update)"
    }
    log "apt-get download failed; refreshing the package lists (apt-get update) and trying again"
    apt-get update -q >>"$out" 2>&1 || {
        tail -n 20 "$out" >&2
        die "apt-get update failed"
    }
    apt-get download -q "$PACKAGE" >>"$out" 2>&1 || {
        tail -n 20 "$out" >&2
        die "apt-get download $PACKAGE failed after apt-get update"
    }
}

cmd_fetch() {
    if fetched; then
        return 0
    fi
    command -v apt-get >/dev/null || die "apt-get not found: promtool is fetched from Debian's '$PACKAGE' package"
    command -v dpkg-deb >/dev/null || die "dpkg-deb not found"
    local t0=$SECONDS tmp deb
    mkdir -p "$TOOLS"
    tmp="$(mktemp -d "$TOOLS/prometheus.tmp.XXXXXX")"
    # shellcheck disable=SC2064  # expand $tmp now: it is local
    trap "rm -rf '$tmp'" EXIT
    # apt drops privileges to _apt for downloads: let it write here.
    chmod 0755 "$tmp"
    log "downloading Debian's $PACKAGE package (not installing it)"
    (cd "$tmp" && download_deb "$tmp/apt.log")
    deb="$(compgen -G "$tmp/${PACKAGE}_*.deb" | head -n 1 || true)"
    [[ -n "$deb" ]] || die "apt-get download reported success but left no ${PACKAGE}_*.deb"
    dpkg-deb -x "$deb" "$tmp/root" || die "dpkg-deb -x $deb failed"
    [[ -x "$tmp/root/usr/bin/promtool" ]] || die "the package $(basename "$deb") has no usr/bin/promtool"
    "$tmp/root/usr/bin/promtool" --version >/dev/null 2>&1 ||
        die "the unpacked promtool does not run on this machine ($tmp/root/usr/bin/promtool --version)"
    dpkg-deb -f "$deb" Package Version >"$tmp/root/.fetched"
    # Swap the finished tree in at the end, so an interrupted fetch never leaves a
    # half-unpacked directory that looks complete.
    rm -rf "$HOME_DIR"
    mv "$tmp/root" "$HOME_DIR"
    rm -rf "$tmp"
    trap - EXIT
    log "unpacked $(basename "$deb") into $HOME_DIR in $((SECONDS - t0)) s"
}

# Serialises fetches of this checkout (parallel test runs, two terminals).
take_lock() {
    mkdir -p "$RUN_DIR"
    exec 9>"$RUN_DIR/promtool.lock"
    flock -w 300 9 || die "timed out waiting for another promtool.sh of this checkout"
}

ensure_fetched() {
    fetched && return 0
    take_lock
    cmd_fetch
    exec 9>&-
}

case "${1:-}" in
"" | -h | --help | help) usage ;;
fetch) ensure_fetched ;;
path)
    ensure_fetched
    echo "$PROMTOOL"
    ;;
*)
    ensure_fetched
    exec "$PROMTOOL" "$@"
    ;;
esac
