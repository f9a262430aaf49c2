#!/usr/bin/env bash
# First start of the compose stack's PostgreSQL (docker-entrypoint-initdb.d): the two roles of
# the hub and its database (README: the audit log and its database roles). `hub_owner` owns the
# schema and applies the migrations; `hub` is what the hub runs as, and `hub migrate` grants it
# the hub's tables but only reading and appending on the audit log.
set -euo pipefail
psql -v ON_ERROR_STOP=1 -U postgres -d postgres \
    -v owner_password="$HUB_DB_OWNER_PASSWORD" -v runtime_password="$HUB_DB_PASSWORD" <<'SQL'
CREATE ROLE hub_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE hub LOGIN PASSWORD :'runtime_password';
CREATE DATABASE hub OWNER hub_owner ENCODING 'UTF8';
SQL
