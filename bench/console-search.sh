#!/usr/bin/env bash
# The console's search and reports over a year of items: N items (default 1,000,000) generated
# straight into the server's database (1,000 gateways, N/20 committed batches of 20 items over
# 2026, 5,000 officers and cameras, 30 units, a case number on one item in ten, a flag on one in
# fifty). The reports' counts of those items are then made by the server itself: the tables its
# migration v12 (PostgreSQL: 12) made are dropped with the migration's record, so the next start
# counts every committed batch as it would an older build's store (timed: counted_s). A
# signed-in console session (an auditor) then times each kind of search the bureau runs (first
# page, 50 results), the monthly report (page and CSV) and reconciliation with curl, 30 times
# each, reporting p50/p95, and a month's ledger CSV 3 times. Baseline in the same run: the same
# session fetching the console's home page, which reads no items (the floor of a page's cost).
#
#   sqlite:     the embedded default (SQLite in the data folder).
#   postgresql: a private PostgreSQL cluster (bench/lib/services.sh).
#
# Usage: bash bench/console-search.sh [items] [work-dir] [sqlite|postgresql]
# (results in bench/out/console-search.jsonl). Needs about 0.5 GB free per million items.
set -euo pipefail
cd "$(dirname "$0")/.."
items=${1:-1000000}
work=${2:-/var/tmp/fieldgate-console-search-bench}
backend=${3:-sqlite}
repeats=30
source bench/lib/release.sh
release_build fieldgate-server
rm -rf "$work"; mkdir -p "$work"
mkdir -p bench/out; out=$PWD/bench/out/console-search.jsonl
source bench/lib/services.sh
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; stop_services' EXIT
batches=$(( items / 20 ))

storage=()
if [ "$backend" = postgresql ]; then
  start_postgres "$work/postgres"
  storage=(--database "$pg_url" --database-password-file "$pg_password_file")
fi
# The schema, made by the server itself; the console's user, made by its command.
echo "bench console passphrase" | "$bin/fieldgate-server" users add bench.auditor --role auditor --data "$work/server" "${storage[@]}" > /dev/null

echo "generating $items items ($backend)…" >&2
gen_start=$(date +%s)
if [ "$backend" = postgresql ]; then
  psql_evidence -v ON_ERROR_STOP=1 <<SQL
INSERT INTO gateway (id, name, state, token_hash, created_at)
SELECT 'gen-' || lpad(g::text, 4, '0'), 'generated-' || g, 'active', md5('token' || g), now() - interval '1 year' FROM generate_series(1, 1000) g;
INSERT INTO batch (id, gateway_id, batch_key, state, envelope, created_at, received_at, committed_at, receipt)
SELECT md5('batch' || b), 'gen-' || lpad((b % 1000 + 1)::text, 4, '0'), 'key-' || b, 'committed', '{}',
       to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), t, t + interval '2 seconds', '{}'
FROM (SELECT b, timestamptz '2026-01-01' + (b::double precision / $batches) * interval '365 days' AS t FROM generate_series(1, $batches) b) s;
INSERT INTO batch_item (batch_id, position, sha256, size, kind, metadata, custody, withdrawn)
SELECT md5('batch' || b), p, encode(sha256(('item-' || ((b - 1) * 20 + p))::bytea), 'hex'), 1000000 + p,
       CASE WHEN p = 19 THEN 'printout' ELSE 'recording' END,
       jsonb_build_object('officer', 'A-' || lpad((((b - 1) * 20 + p) % 5000)::text, 4, '0'),
                          'camera', 'CAM-' || lpad((((b - 1) * 20 + p) % 5000)::text, 5, '0'),
                          'startedAt', to_char((timestamptz '2026-01-01' + (b::double precision / $batches) * interval '365 days') AT TIME ZONE 'UTC',
                                               'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                          'mediaType', 'video', 'container', 'mp4',
                          'unit', '中队-' || lpad(((b - 1) % 30)::text, 2, '0'), 'durationSeconds', (30 + ((b - 1) * 20 + p) % 600)::text || '.000')
         || CASE WHEN p = 19 THEN jsonb_build_object('template', (ARRAY['现场检查笔录', '责令改正通知书', '询问笔录'])[b % 3 + 1]) ELSE '{}' END
         || CASE WHEN ((b - 1) * 20 + p) % 50 = 7 THEN jsonb_build_object('flags', 'marked') ELSE '{}' END
         || CASE WHEN ((b - 1) * 20 + p) % 10 = 2 THEN jsonb_build_object('case', 'CASE-' || lpad((((b - 1) * 20 + p) % 100000)::text, 6, '0')) ELSE '{}' END,
       '[]', false
FROM generate_series(1, $batches) b, generate_series(0, 19) p;
DROP TABLE report_tally, camera_sighting, late_item, gateway_backlog; DROP INDEX batch_item_by_unit, batch_by_gateway_state_and_commit;
DELETE FROM schema_migrations WHERE version = 12;
VACUUM ANALYZE;
SQL
else
  sqlite3 "$work/server/server.sqlite" <<SQL
PRAGMA synchronous = OFF;
BEGIN;
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 1000)
INSERT INTO gateway (id, name, state, tokenHash, createdAt) SELECT printf('gen-%04d', i), 'generated-' || i, 'active', 'token-' || i, '2025-12-01 00:00:00.000' FROM g;
WITH RECURSIVE b(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM b WHERE i < $batches)
INSERT INTO batch (id, gatewayId, batchKey, state, envelope, createdAt, receivedAt, committedAt, receipt)
SELECT printf('%032x', i), printf('gen-%04d', i % 1000 + 1), 'key-' || i, 'committed', '{}', '2026-01-01T00:00:00.000Z',
       strftime('%Y-%m-%d %H:%M:%f', '2026-01-01', '+' || (i * 31536000 / $batches) || ' seconds'),
       strftime('%Y-%m-%d %H:%M:%f', '2026-01-01', '+' || (i * 31536000 / $batches + 2) || ' seconds'), '{}' FROM b;
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < $items - 1)
INSERT INTO batchItem (batchId, position, sha256, size, kind, metadata, custody, withdrawn)
SELECT printf('%032x', i / 20 + 1), i % 20, printf('%064x', i), 1000000 + i % 20, CASE WHEN i % 20 = 19 THEN 'printout' ELSE 'recording' END,
       json_object('officer', printf('A-%04d', i % 5000), 'camera', printf('CAM-%05d', i % 5000),
                   'startedAt', strftime('%Y-%m-%dT%H:%M:%fZ', '2026-01-01', '+' || ((i / 20 + 1) * 31536000 / $batches) || ' seconds'),
                   'mediaType', 'video', 'container', 'mp4', 'unit', printf('中队-%02d', (i / 20) % 30),
                   'durationSeconds', printf('%d.000', 30 + i % 600))
       || '' , '[]', 0 FROM n;
UPDATE batchItem SET metadata = json_set(metadata, '$.case', printf('CASE-%06d', (rowid - 1) % 100000)) WHERE (rowid - 1) % 10 = 2;
UPDATE batchItem SET metadata = json_set(metadata, '$.template', CASE (rowid / 20) % 3 WHEN 0 THEN '现场检查笔录' WHEN 1 THEN '责令改正通知书' ELSE '询问笔录' END)
  WHERE kind = 'printout';
UPDATE batchItem SET metadata = json_set(metadata, '$.flags', 'marked') WHERE (rowid - 1) % 50 = 7;
DROP TABLE reportTally; DROP TABLE cameraSighting; DROP TABLE lateItem; DROP TABLE gatewayBacklog; DROP INDEX batchItem_by_unit;
DROP INDEX batch_by_gateway_state_and_commit;
DELETE FROM grdb_migrations WHERE identifier LIKE 'v12:%';
COMMIT;
ANALYZE;
SQL
fi
gen_seconds=$(( $(date +%s) - gen_start ))

# The start migrates: it counts every committed batch for the reports before it listens.
count_start=$(date +%s.%N)
"$bin/fieldgate-server" serve --data "$work/server" --port 0 "${storage[@]}" > "$work/server.out" 2> "$work/server.err" &
server=$!
for _ in $(seq 36000); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.05; done
counted_seconds=$(python3 -c "import sys; print(round($(date +%s.%N) - $count_start, 1))")
url=$(grep -o 'http://[^ ]*' "$work/server.out" | head -1)
jar=$work/cookies
# Signing in as a browser does: the form's token from its cookie, then the form.
curl -sS -c "$jar" -b "$jar" "$url/console/sign-in" > /dev/null
csrf=$(awk '$6 == "fieldgate_console_sign_in" { print $7 }' "$jar")
curl -sS -c "$jar" -b "$jar" -o /dev/null -w '%{http_code}\n' --data-urlencode "csrf=$csrf" --data-urlencode name=bench.auditor \
  --data-urlencode "password=bench console passphrase" "$url/console/sign-in" | grep -q 303 || { echo "sign-in failed" >&2; exit 1; }

# time PATH: curl's total time of each of $repeats requests, one per line, after a warm-up.
time_path() {
  curl -sS -b "$jar" -o /dev/null "$url$1"
  for _ in $(seq "$repeats"); do
    curl -sS -b "$jar" -o /dev/null -w '%{http_code} %{time_total}\n' "$url$1"
  done
}
declare -A paths=(
  [home]="/console"
  [latest]="/console/items"
  [officer]="/console/items?officer=A-2042"
  [camera]="/console/items?camera=CAM-01234"
  [by_case]="/console/items?case=CASE-004242"
  [days]="/console/items?from=2026-06-01&until=2026-06-07"
  [kind_printout]="/console/items?kind=printout"
  [officer_and_days]="/console/items?officer=A-2042&from=2026-03-01&until=2026-03-31"
  [page_20]="/console/items?page=20"
  [unit]="/console/items?unit=%E4%B8%AD%E9%98%9F-07"
  [report]="/console/reports?month=2026-06"
  [report_unit]="/console/reports?month=2026-06&unit=%E4%B8%AD%E9%98%9F-07"
  [report_csv]="/console/reports/monthly.csv?month=2026-06"
  [report_print]="/console/reports/print?month=2026-06"
  [reconciliation]="/console/reconciliation?month=2026-06"
)
for name in "${!paths[@]}"; do time_path "${paths[$name]}" > "$work/time-$name"; done
# A month's ledger: every item of June, written while read.
for _ in 1 2 3; do
  curl -sS -b "$jar" -o "$work/ledger.csv" -w '%{http_code} %{time_total} %{size_download}\n' "$url/console/reports/ledger.csv?month=2026-06"
done > "$work/ledger-times"
ledger_rows=$(( $(wc -l < "$work/ledger.csv") - 1 ))
total=$items
python3 - "$work" "$backend" "$total" "$gen_seconds" "$counted_seconds" "$ledger_rows" "${!paths[@]}" <<'PY' | tee -a "$out"
import json, sys
work, backend, total, gen, counted, ledger_rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
row = {"case": "console-search", "backend": backend, "items": total, "generated_s": gen, "counted_s": counted}
ledger = [l.split() for l in open(f"{work}/ledger-times") if l.strip()]
assert all(code == "200" for code, _, _ in ledger), ledger
row["ledger_month"] = {"rows": ledger_rows, "best_s": round(min(float(t) for _, t, _ in ledger), 2),
                       "bytes": int(ledger[-1][2])}
for name in sorted(sys.argv[7:]):
    lines = [l.split() for l in open(f"{work}/time-{name}") if l.strip()]
    assert all(code == "200" for code, _ in lines), f"{name}: {set(code for code, _ in lines)}"
    times = sorted(float(t) * 1000 for _, t in lines)
    row[name] = {"p50_ms": round(times[len(times) // 2], 1), "p95_ms": round(times[int(len(times) * 0.95) - 1], 1)}
print(json.dumps(row, ensure_ascii=False))
PY
