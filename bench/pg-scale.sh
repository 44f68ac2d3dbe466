#!/usr/bin/env bash
# A prefecture's year in PostgreSQL: commit latency and the bureau's typical queries on an empty
# database and again with N items (default 10,000,000) already in it, same run, same server.
#
# The items are generated in SQL (1,000 gateways, N/20 committed batches of 20 items over a
# year, 5,000 officers, 5,000 cameras, a case number on one item in ten; each item's blob held
# and its possession recorded), with the indexes the migrations made dropped during the load and
# made again after it, exactly as they were. Commit latency is `fieldgate sync`'s own figure
# (request to verified receipt) over rounds of 20 new items from a real gateway; each query's
# time is PostgreSQL's execution time (EXPLAIN ANALYZE), median of 15. The queries compared
# ask for the probe gateway's own items (by camera, by gateway and period, by blob), which are
# the same rows in both phases, so the ratio is the cost of the year around them; the
# generated year's officers and cases are asked too, on the full database (absolute times).
#
# Usage: bash bench/pg-scale.sh [items] [work-dir]   (results in bench/out/pg-scale.jsonl)
# Needs about 0.6 GB free in work-dir per million items.
set -euo pipefail
cd "$(dirname "$0")/.."
items=${1:-10000000}
work=${2:-/var/tmp/fieldgate-pg-scale-bench}
rounds=15
source bench/lib/release.sh
release_build fieldgate fieldgate-server
rm -rf "$work"; mkdir -p "$work"
mkdir -p bench/out; out=$PWD/bench/out/pg-scale.jsonl
source bench/lib/services.sh
server=
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; stop_services' EXIT

start_postgres "$work/postgres"
storage=(--database "$pg_url" --database-password-file "$pg_password_file")
"$bin/fieldgate-server" serve --data "$work/server" --port 0 "${storage[@]}" > "$work/server.out" 2> "$work/server.err" &
server=$!
for _ in $(seq 200); do grep -q "listening on" "$work/server.out" 2>/dev/null && break; sleep 0.05; done
url=$(grep -o 'http://[^ ]*' "$work/server.out" | head -1)
token=$("$bin/fieldgate-server" gateways add probe --data "$work/server" "${storage[@]}" | tail -1)
export FIELDGATE_HOME=$work/gateway
"$bin/fieldgate" enroll --server "$url" --token "$token" > /dev/null

round=0
# commit_rounds: `rounds` syncs of 20 new items; prints their commit seconds, one per line.
commit_rounds() {
  local r
  for r in $(seq "$rounds"); do
    round=$((round + 1))
    local serial; serial=$(printf 'P%06d' "$round")
    local volume="$work/volume-$round/DCIM"; mkdir -p "$volume"
    python3 - "$volume" "$serial" <<'PY'
import os, sys
for i in range(20):
    with open(os.path.join(sys.argv[1], f"{sys.argv[2]}_100001_20261125{i:06d}_{i:04d}.JPG"), "wb") as f:
        f.write(os.urandom(8192))
PY
    "$bin/fieldgate" collect --from "$work/volume-$round" --camera "$serial" --json > /dev/null
    "$bin/fieldgate" sync --json | python3 -c 'import json,sys; [print(s) for s in json.load(sys.stdin)["commitSeconds"]]'
  done
}

# query_times QUERY...: "name median_ms" for each "name|SQL".
query_times() {
  local entry
  for entry in "$@"; do
    local name=${entry%%|*} sql=${entry#*|}
    for _ in $(seq 15); do
      psql_evidence -tA -c "EXPLAIN (ANALYZE, FORMAT JSON) $sql" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Execution Time"])'
    done | sort -n | awk -v name="$name" '{v[NR]=$1} END {print name, v[int((NR+1)/2)]}'
  done
}

echo "empty database: $rounds commit rounds and the queries…" >&2
commit_rounds > "$work/commit-empty"
probe=$(psql_evidence -tA -c "SELECT id FROM gateway WHERE name = 'probe'")
cutoff=$(psql_evidence -tA -c "SELECT now()")
probe_blob=$(psql_evidence -tA -c "SELECT sha256 FROM batch_item ORDER BY batch_id, position LIMIT 1")
# The bureau's questions about the probe's items: the same rows before and after the year.
compared=(
  "by-camera|SELECT i.batch_id, i.sha256, i.size FROM batch_item i WHERE i.metadata ->> 'camera' = 'P000001'"
  "by-gateway-and-period|SELECT b.id, b.committed_at FROM batch b WHERE b.gateway_id = '$probe' AND b.committed_at >= '$cutoff'::timestamptz - interval '1 day' AND b.committed_at < '$cutoff'"
  "by-blob|SELECT batch_id, position FROM batch_item WHERE sha256 = '$probe_blob'"
  "items-of-gateway-and-period|SELECT i.sha256, i.metadata FROM batch b JOIN batch_item i ON i.batch_id = b.id WHERE b.gateway_id = '$probe' AND b.committed_at >= '$cutoff'::timestamptz - interval '1 day' AND b.committed_at < '$cutoff'"
)
# And the year's own: an officer's 1 in 5,000 items, a case's items, one gateway's day, a day.
absolute=(
  "officer-items|SELECT b.id, i.position, i.sha256 FROM batch_item i JOIN batch b ON b.id = i.batch_id WHERE i.metadata ->> 'officer' = 'A-0042' AND NOT i.withdrawn"
  "case-items|SELECT i.batch_id, i.sha256 FROM batch_item i WHERE i.metadata ->> 'case' = 'CASE-000042'"
  "gateway-day|SELECT count(*) FROM batch WHERE gateway_id = 'gen-0042' AND committed_at >= '2026-06-01' AND committed_at < '2026-06-02'"
  "day|SELECT count(*) FROM batch WHERE committed_at >= '2026-06-01' AND committed_at < '2026-06-02'"
)
query_times "${compared[@]}" > "$work/queries-empty"

echo "generating $items items…" >&2
batches=$((items / 20))
psql_evidence -tA -c "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'" > "$work/indexes.sql"
gen_start=$(date +%s)
psql_evidence -v ON_ERROR_STOP=1 <<SQL
SELECT format('DROP INDEX %I', indexname) FROM pg_indexes
 WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key' \gexec
ALTER TABLE batch_item DROP CONSTRAINT batch_item_pkey;
ALTER TABLE blob DROP CONSTRAINT blob_pkey;
ALTER TABLE possession DROP CONSTRAINT possession_pkey;
INSERT INTO gateway (id, name, state, token_hash, token_used_at, public_key, secret_hash, created_at, enrolled_at)
SELECT 'gen-' || lpad(g::text, 4, '0'), 'generated-' || g, 'active', md5('token' || g), now(), md5('key' || g), md5('secret' || g),
       now() - interval '1 year', now() - interval '1 year'
FROM generate_series(1, 1000) g;
INSERT INTO batch (id, gateway_id, batch_key, state, envelope, created_at, received_at, committed_at, receipt)
SELECT md5('batch' || b), 'gen-' || lpad((b % 1000 + 1)::text, 4, '0'), 'key-' || b, 'committed', repeat('e', 1200),
       to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), t, t + interval '2 seconds', repeat('r', 600)
FROM (SELECT b, timestamptz '2026-01-01' + (b::double precision / $batches) * interval '365 days' AS t
      FROM generate_series(1, $batches) b) s;
INSERT INTO batch_item (batch_id, position, sha256, size, kind, metadata, custody, withdrawn)
SELECT md5('batch' || b), p, encode(sha256(('item-' || ((b - 1) * 20 + p))::bytea), 'hex'), 100000000 + p, 'recording',
       jsonb_build_object('officer', 'A-' || lpad((((b - 1) * 20 + p) % 5000)::text, 4, '0'),
                          'camera', 'CAM-' || lpad((((b - 1) * 20 + p) % 5000)::text, 5, '0'))
         || CASE WHEN ((b - 1) * 20 + p) % 10 = 2 THEN jsonb_build_object('case', 'CASE-' || lpad((((b - 1) * 20 + p) % 100000)::text, 6, '0')) ELSE '{}' END,
       repeat('c', 320), false
FROM generate_series(1, $batches) b, generate_series(0, 19) p;
INSERT INTO blob (sha256, size, verified_at)
SELECT i.sha256, i.size, b.committed_at FROM batch_item i JOIN batch b ON b.id = i.batch_id WHERE b.gateway_id LIKE 'gen-%';
INSERT INTO possession (gateway_id, sha256, proven_at)
SELECT b.gateway_id, i.sha256, b.committed_at FROM batch_item i JOIN batch b ON b.id = i.batch_id WHERE b.gateway_id LIKE 'gen-%';
ALTER TABLE batch_item ADD PRIMARY KEY (batch_id, position);
ALTER TABLE blob ADD PRIMARY KEY (sha256);
ALTER TABLE possession ADD PRIMARY KEY (gateway_id, sha256);
SQL
while read -r definition; do [ -n "$definition" ] && psql_evidence -v ON_ERROR_STOP=1 -c "$definition"; done < "$work/indexes.sql"
psql_evidence -c 'VACUUM ANALYZE'
gen_seconds=$(( $(date +%s) - gen_start ))
total=$(psql_evidence -tA -c 'SELECT count(*) FROM batch_item')

echo "$total items: $rounds commit rounds and the queries…" >&2
commit_rounds > "$work/commit-full"
query_times "${compared[@]}" > "$work/queries-full"
query_times "${absolute[@]}" > "$work/queries-year"

python3 - "$work" "$total" "$gen_seconds" "$(psql_evidence -tA -c "SELECT pg_database_size('evidence')")" <<'PY' | tee -a "$out"
import json, statistics, sys
work, total, gen_seconds, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def commits(name):
    values = sorted(float(v) for v in open(f"{work}/commit-{name}") if v.strip())
    return {"p50_ms": round(statistics.median(values) * 1000, 1), "max_ms": round(values[-1] * 1000, 1), "n": len(values)}
def queries(name):
    return {line.split()[0]: float(line.split()[1]) for line in open(f"{work}/queries-{name}") if line.strip()}
empty, full, year = queries("empty"), queries("full"), queries("year")
ce, cf = commits("empty"), commits("full")
print(json.dumps({"case": "pg-scale", "items": total, "generate_s": gen_seconds, "database_GB": round(size / 1e9, 2),
    "commit_empty": ce, "commit_full": cf, "commit_p50_full_vs_empty": round(cf["p50_ms"] / ce["p50_ms"], 2),
    "query_ms_empty": empty, "query_ms_full": full,
    "query_full_vs_empty": {k: round(full[k] / empty[k], 2) if empty[k] else None for k in full},
    "year_query_ms": year}))
PY
