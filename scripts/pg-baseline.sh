#!/usr/bin/env bash
# PostgreSQL double-entry baseline for docs/PERFORMANCE.md.
#
# Starts a throwaway PostgreSQL 15 cluster on a private port, creates a ledger of N accounts, and
# runs pgbench with a transfer per transaction: two balance UPDATEs and one posting INSERT, in one
# transaction, prepared statements, 2 clients (this machine has 2 cores). Prints one JSON object.
#
# Usage: scripts/pg-baseline.sh [seconds=20] [accounts=200000]
# Needs: postgresql-15 (Debian), run as root or as a user that can run initdb.
set -euo pipefail
seconds="${1:-20}"
accounts="${2:-200000}"
bin=/usr/lib/postgresql/15/bin
port="${PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
work="$(mktemp -d)"
chmod 755 "$work"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ "$(id -u)" = 0 ]; then chown postgres "$work"; fi
cleanup() { as_postgres "$bin/pg_ctl" -D "$work/db" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
as_postgres "$bin/initdb" -D "$work/db" -U postgres --auth=trust >/dev/null
if ! as_postgres "$bin/pg_ctl" -D "$work/db" -w -l "$work/log" -o "-p $port -k /tmp -c listen_addresses=127.0.0.1 -c shared_buffers=512MB" start >/dev/null; then
    cat "$work/log" >&2
    exit 1
fi
psql=(psql -h 127.0.0.1 -p "$port" -U postgres -q -v ON_ERROR_STOP=1)
"${psql[@]}" <<SQL
CREATE TABLE accounts (id bigint PRIMARY KEY, balance bigint NOT NULL);
CREATE TABLE postings (id bigserial PRIMARY KEY, debit bigint NOT NULL, credit bigint NOT NULL, amount bigint NOT NULL);
INSERT INTO accounts SELECT g, 0 FROM generate_series(1, $accounts) g;
SQL
cat > "$work/transfer.sql" <<SQL
\set debit random(1, $accounts)
\set credit random(1, $accounts)
\set amount random(1, 10000)
BEGIN;
UPDATE accounts SET balance = balance + :amount WHERE id = :debit;
UPDATE accounts SET balance = balance - :amount WHERE id = :credit;
INSERT INTO postings (debit, credit, amount) VALUES (:debit, :credit, :amount);
END;
SQL
out="$(pgbench -h 127.0.0.1 -p "$port" -U postgres -n -M prepared -c 2 -j 2 -T "$seconds" -f "$work/transfer.sql" postgres 2>&1)"
tps="$(printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)"
"${psql[@]}" -c "SELECT 1" >/dev/null
printf '{"postgres_transfers_per_sec":%s,"clients":2,"seconds":%s,"accounts":%s,"synchronous_commit":"on"}\n' "$tps" "$seconds" "$accounts"
