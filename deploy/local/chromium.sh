#!/usr/bin/env bash
# Chromium for the console's real-browser tests (tests/browser/). Playwright drives Debian's own
# `chromium` package (/usr/bin/chromium); no browser is downloaded from anywhere else and
# `playwright install` is never run.
#
#   deploy/local/chromium.sh     install Debian's chromium package if it is missing, print its version
#
# Installing needs root and apt-get; `apt-get update` is run only when the first install fails
# (package lists missing or stale), then the install is tried once more. Without root, the
# script stops and prints the command to run. Once installed, a call is a file check and
# `chromium --version`.
set -euo pipefail

PACKAGE=chromium
CHROMIUM=/usr/bin/chromium

log() { echo "chromium: $*" >&2; }
die() { echo "chromium: ERROR: $*" >&2; exit 1; }

installed() {
    [[ -x "$CHROMIUM" ]]
}

install() {
    command -v apt-get >/dev/null || die "apt-get not found: the browser tests use Debian's '$PACKAGE' package"
    [[ $EUID -eq 0 ]] || die "$CHROMIUM is missing; install it with: sudo apt-get install -y -q $PACKAGE"
    local out t0=$SECONDS
    out="$(mktemp)"
    # shellcheck disable=SC2064  # expand $out now: it is local
    trap "rm -f '$out'" EXIT
    export DEBIAN_FRONTEND=noninteractive
    log "$CHROMIUM is missing, installing Debian's $PACKAGE package"
    if ! apt-get install -y -q "$PACKAGE" >"$out" 2>&1; then
        log "apt-get install failed; refreshing the package lists (apt-get update) and trying again"
        apt-get update -q >>"$out" 2>&1 || {
            tail -n 20 "$out" >&2
            die "apt-get update failed"
        }
        apt-get install -y -q "$PACKAGE" >>"$out" 2>&1 || {
            tail -n 20 "$out" >&2
            die "apt-get install $PACKAGE failed after apt-get update"
        }
    fi
    rm -f "$out"
    trap - EXIT
    installed || die "the $PACKAGE package is installed but $CHROMIUM is not there"
    log "installed $PACKAGE in $((SECONDS - t0)) s"
}

case "${1:-}" in
"") ;;
-h | --help | help)
    echo "usage: $0    install Debian's $PACKAGE package if missing (needs root), then print its version" >&2
    exit 2
    ;;
*) die "unknown argument '$1' (usage: $0)" ;;
esac

installed || install
version="$("$CHROMIUM" --version 2>/dev/null)" || die "$CHROMIUM does not run on this machine ($CHROMIUM --version)"
echo "$version"
