#!/usr/bin/env bash
# Slow clients (slowloris): SLOW (1000) connections send a request head one header line at a
# time, every 5 s, never ending it, while a normal client (wrk, 4 connections) asks for a
# small static file. Side by side:
#   - the lab, with Debian's configuration (mod_reqtimeout: RequestReadTimeout
#     header=20-40,MinRate=500);
#   - Debian's Apache 2.4, mpm_event with Debian's settings (MaxRequestWorkers 150) and the
#     same RequestReadTimeout.
# Prints the normal client's requests, errors and latency (mean, 99th percentile) with the
# slow clients connected, and how many slow connections each server had closed by the end.
#
#   bench/slowloris.sh                    # 1000 slow connections, 30 s
#   SLOW=500 DURATION=20 bench/slowloris.sh
#   LAB_BIN=target/debug/lab bench/slowloris.sh
#
# Needs: cargo, wrk, curl, python3, apache2.
set -euo pipefail

SLOW=${SLOW:-1000}
DURATION=${DURATION:-30}
APACHE_BIN=${APACHE_BIN:-/usr/sbin/apache2}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

for tool in wrk curl cargo python3; do
  command -v "$tool" >/dev/null || die "falta \`$tool\` (apt-get install -y wrk curl python3)"
done
[ -x "$APACHE_BIN" ] || die "falta $APACHE_BIN (apt-get install -y apache2)"

bench_scratch slowloris

lab_binary

# ---- lab --------------------------------------------------------------------------------
lab_port=$(free_port)
ws="$tmp/lab"
"$lab" init "$ws" >/dev/null
sed -i \
  -e "s/^privileged_port_offset = .*/privileged_port_offset = $((lab_port - 80))/" \
  -e 's/^map_privileged_ports = .*/map_privileged_ports = "always"/' \
  -e "s/^console_port = .*/console_port = $(free_port)/" \
  "$ws/lab.toml"
echo 'hola' >"$ws/var/www/html/hola.txt"
"$lab" start --workspace "$ws" >"$tmp/lab.out" 2>&1 &
pids+=($!)
lab_base="http://127.0.0.1:$lab_port"
wait_http "$lab_base/hola.txt" 30 || { cat "$tmp/lab.out" >&2; die "el lab no responde"; }

# ---- Apache 2.4 (mpm_event, mod_reqtimeout as in Debian) --------------------------------
ap_port=$(free_port)
ap="$tmp/apache"
mkdir -p "$ap/htdocs"
echo 'hola' >"$ap/htdocs/hola.txt"
chmod -R a+rX "$ap/htdocs"
{
  apache_head "$ap" "$ap_port"
  apache_event_mpm
  cat <<CONF
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule mime_module $APACHE_MODULES/mod_mime.so
LoadModule reqtimeout_module $APACHE_MODULES/mod_reqtimeout.so
Timeout 300
KeepAlive On
RequestReadTimeout header=20-40,MinRate=500
RequestReadTimeout body=10,MinRate=500
TypesConfig /etc/mime.types
ErrorLog $ap/logs/error.log
LogLevel warn
DocumentRoot $ap/htdocs
<Directory $ap/htdocs>
    Require all granted
</Directory>
CONF
} >"$ap/apache2.conf"
"$APACHE_BIN" -d "$ap" -f "$ap/apache2.conf" -DFOREGROUND >"$tmp/apache.out" 2>&1 &
pids+=($!)
ap_base="http://127.0.0.1:$ap_port"
wait_http "$ap_base/hola.txt" 20 || { cat "$tmp/apache.out" "$ap/logs/error.log" >&2; die "Apache no responde"; }

# ---- the slow clients -------------------------------------------------------------------
cat >"$tmp/slow.py" <<'PY'
import resource, socket, sys, time
port, count, duration = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 100)), hard))
conns, refused = [], 0
for _ in range(count):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
        s.setblocking(False)
        conns.append(s)
    except OSError:
        refused += 1
end = time.time() + duration
n = 0
while time.time() < end:
    time.sleep(5)
    n += 1
    for s in conns:
        try:
            s.send(b"X-Lento-%d: 1\r\n" % n)
        except OSError:
            pass
closed = 0
for s in conns:
    try:
        if s.recv(4096) == b"":
            closed += 1
        else:
            closed += 1  # an answer (408) and then the close
    except BlockingIOError:
        pass
    except OSError:
        closed += 1
print(f"{len(conns)} {refused} {closed}")
PY

# Normal client: wrk for the whole run, after the slow clients connected.
measure() {
  local name=$1 port=$2 base=$3
  python3 "$tmp/slow.py" "$port" "$SLOW" "$DURATION" >"$tmp/$name.slow" 2>&1 &
  local slow=$!
  sleep 3
  wrk -t1 -c4 -d"$((DURATION - 5))s" --timeout 10s --latency "$base/hola.txt" >"$tmp/$name.wrk" 2>&1 || true
  wait "$slow" || true
}

wrk_field() {
  case $2 in
    requests) awk '/requests in/ { print $1 }' "$1" ;;
    errors) awk '/Socket errors/ { gsub(",", ""); s += $4 + $6 + $8 + $10 } /Non-2xx/ { s += $5 } END { print s + 0 }' "$1" ;;
    mean) awk '$1 == "Latency" { print $2; exit }' "$1" ;;
    p99) awk '$1 == "99%" { print $2; exit }' "$1" ;;
  esac
}

echo "== $SLOW conexiones lentas durante ${DURATION} s; un cliente normal (wrk -c4) mientras tanto"
measure lab "$lab_port" "$lab_base"
measure apache "$ap_port" "$ap_base"

printf '%-10s %10s %8s %12s %12s %24s\n' servidor peticiones errores "lat. media" "lat. p99" "lentas cerradas/abiertas"
for name in lab apache; do
  read -r opened refused closed <"$tmp/$name.slow" || true
  printf '%-10s %10s %8s %12s %12s %24s\n' "$name" \
    "$(wrk_field "$tmp/$name.wrk" requests)" "$(wrk_field "$tmp/$name.wrk" errors)" \
    "$(wrk_field "$tmp/$name.wrk" mean)" "$(wrk_field "$tmp/$name.wrk" p99)" \
    "${closed:-?}/${opened:-?} (${refused:-?} rechazadas)"
done
