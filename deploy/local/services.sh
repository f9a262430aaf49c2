#!/usr/bin/env bash
# Brings the local backing services (PostgreSQL + Kafka) up or down together.
#
#   deploy/local/services.sh up       start PostgreSQL and fetch+start Kafka, in parallel
#   deploy/local/services.sh down     stop both
#   deploy/local/services.sh status   show both; exit 0 only when both are running
#
# Ports: HUB_LOCAL_PG_PORT (15432), HUB_LOCAL_KAFKA_PORT (19092),
# HUB_LOCAL_KAFKA_CONTROLLER_PORT (19093); override them to run a second checkout
# side by side. State, data and logs live under <repo>/.local/.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

# Make sure .local/ never ends up in git, also in a fresh checkout without .gitignore.
ensure_gitignore() {
    local gi="$ROOT/.gitignore"
    if [[ ! -f "$gi" ]]; then
        printf '%s\n' .local/ .venv/ __pycache__/ '*.egg-info/' .pytest_cache/ bench-results/ >"$gi"
    elif ! grep -qxE '/?\.local/?' "$gi"; then
        echo .local/ >>"$gi"
    fi
}

# Runs "$@" with every output line prefixed by [name], so parallel output stays readable.
# Returns the command's own exit status.
prefixed() {
    local name="$1"
    shift
    "$@" 2>&1 | sed -u "s/^/[$name] /"
    return "${PIPESTATUS[0]}"
}

cmd_up() {
    ensure_gitignore
    local t0=$SECONDS pg_pid kafka_pid pg_rc=0 kafka_rc=0
    prefixed postgres bash "$HERE/postgres.sh" start &
    pg_pid=$!
    # shellcheck disable=SC2016  # $1 is expanded by the inner bash
    prefixed kafka bash -c 'bash "$1" fetch && bash "$1" start' _ "$HERE/kafka.sh" &
    kafka_pid=$!
    wait "$pg_pid" || pg_rc=$?
    wait "$kafka_pid" || kafka_rc=$?
    if ((pg_rc != 0 || kafka_rc != 0)); then
        echo "services: up FAILED (postgres exit $pg_rc, kafka exit $kafka_rc); logs in $ROOT/.local/log/" >&2
        exit 1
    fi
    echo "services: up in $((SECONDS - t0)) s"
    cmd_status | sed 's/^/  /'
}

cmd_down() {
    local rc=0
    bash "$HERE/kafka.sh" stop || rc=1
    bash "$HERE/postgres.sh" stop || rc=1
    return "$rc"
}

cmd_status() {
    local rc=0
    bash "$HERE/postgres.sh" status || rc=1
    bash "$HERE/kafka.sh" status || rc=1
    return "$rc"
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*)
    echo "usage: $0 {up|down|status}" >&2
    exit 2
    ;;
esac
