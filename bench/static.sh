#!/usr/bin/env bash
# Static-file benchmark: the lab against Debian's Apache 2.4 (mpm_event), same machine,
# same 1 KiB file, access logging on in both (combined format), loopback only.
#
#   bench/static.sh                  # wrk -t2 -c32 -d10s after a 2 s warm-up
#   DURATION=30s CONNECTIONS=64 bench/static.sh
#
# Needs: cargo, wrk, curl, apache2 (Debian packages `wrk curl apache2`).
set -euo pipefail

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
APACHE_BIN=${APACHE_BIN:-/usr/sbin/apache2}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

for tool in wrk curl cargo; do
  command -v "$tool" >/dev/null || die "falta \`$tool\` (apt-get install -y wrk curl)"
done
[ -x "$APACHE_BIN" ] || die "falta $APACHE_BIN (apt-get install -y apache2)"

tmp=$(mktemp -d /tmp/lab-bench.XXXXXX)
chmod 755 "$tmp" # Apache's workers (www-data when run as root) must reach the docroot
lab_pid=
apache_pid=
cleanup() {
  [ -n "$lab_pid" ] && kill -TERM "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null || true
  [ -n "$apache_pid" ] && kill -TERM "$apache_pid" 2>/dev/null && wait "$apache_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# LAB_BIN: measure another build of the lab (say, the one before a change) in the same run.
if [ -n "${LAB_BIN:-}" ]; then
  lab=$LAB_BIN
else
  echo "== compilando (release)"
  cargo build --release --quiet --manifest-path "$repo/Cargo.toml"
  lab="$repo/target/release/lab"
fi

# The same 1 KiB page for both servers.
page=$(mktemp "$tmp/page.XXXXXX")
{
  printf '<!DOCTYPE html>\n<html lang="es"><head><meta charset="utf-8"><title>bench</title></head><body>\n'
  head -c 2000 /dev/zero | tr '\0' 'x' | fold -w 64 | head -c 900
  printf '\n</body></html>\n'
} | head -c 1024 >"$page"
chmod 644 "$page"

# ---- lab ------------------------------------------------------------------------------
lab_port=$(free_port)
"$lab" init "$tmp/lab" >/dev/null
sed -i \
  -e "s/^privileged_port_offset = .*/privileged_port_offset = $((lab_port - 80))/" \
  -e 's/^map_privileged_ports = .*/map_privileged_ports = "always"/' \
  -e "s/^console_port = .*/console_port = $(free_port)/" \
  "$tmp/lab/lab.toml"
cp "$page" "$tmp/lab/var/www/html/index.html"
"$lab" start --workspace "$tmp/lab" >"$tmp/lab.out" 2>&1 &
lab_pid=$!
for _ in $(seq 1 300); do
  grep -q '^Listo\.' "$tmp/lab.out" 2>/dev/null && break
  kill -0 "$lab_pid" 2>/dev/null || { cat "$tmp/lab.out" >&2; die "lab start terminó"; }
  sleep 0.1
done
lab_url="http://127.0.0.1:$lab_port/index.html"
wait_http "$lab_url" 10 || { cat "$tmp/lab.out" >&2; die "el lab no responde en $lab_url"; }

# ---- Apache 2.4 -------------------------------------------------------------------------
apache_port=$(free_port)
ap="$tmp/apache"
mkdir -p "$ap/htdocs"
cp "$page" "$ap/htdocs/index.html"
chmod 755 "$ap/htdocs"
{
  apache_head "$ap" "$apache_port"
  apache_event_mpm
  cat <<EOF
# Private Apache instance for the benchmark: Debian's defaults for mpm_event and
# keep-alive, combined access log, one static docroot.

LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule mime_module $APACHE_MODULES/mod_mime.so
LoadModule dir_module $APACHE_MODULES/mod_dir.so

Timeout 300
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5
HostnameLookups Off

TypesConfig /etc/mime.types
DirectoryIndex index.html
ErrorLog $ap/logs/error.log
LogLevel warn
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
CustomLog $ap/logs/access.log combined

<Directory />
	Options FollowSymLinks
	AllowOverride None
	Require all denied
</Directory>
DocumentRoot $ap/htdocs
<Directory $ap/htdocs>
	Options FollowSymLinks
	AllowOverride None
	Require all granted
</Directory>
EOF
} >"$ap/apache2.conf"
"$APACHE_BIN" -d "$ap" -f "$ap/apache2.conf" -DFOREGROUND >"$tmp/apache.out" 2>&1 &
apache_pid=$!
apache_url="http://127.0.0.1:$apache_port/index.html"
wait_http "$apache_url" 10 || {
  cat "$tmp/apache.out" "$ap/logs/error.log" >&2 2>/dev/null || true
  die "Apache no responde en $apache_url"
}

lab_len=$(curl -s "$lab_url" | wc -c)
apache_len=$(curl -s "$apache_url" | wc -c)
[ "$lab_len" = "$apache_len" ] || die "cuerpos distintos: lab $lab_len B, apache $apache_len B"

# ---- load -------------------------------------------------------------------------------
# Prints "req/s latency_avg p99" for one URL.
run_wrk() {
  local url=$1 out
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$WARMUP" "$url" >/dev/null
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "$url")
  echo "$out" >>"$tmp/wrk.log"
  if echo "$out" | grep -q 'Non-2xx'; then
    echo "$out" >&2
    die "respuestas no 2xx en $url"
  fi
  local rps avg p99
  rps=$(echo "$out" | awk '/^Requests\/sec:/ {print $2}')
  avg=$(echo "$out" | awk '$1 == "Latency" {print $2; exit}')
  p99=$(echo "$out" | awk '$1 == "99%" {print $2; exit}')
  echo "$rps ${avg:-?} ${p99:-?}"
}

echo "== wrk -t$THREADS -c$CONNECTIONS -d$DURATION (calentamiento $WARMUP), fichero de $lab_len B"
read -r lab_rps lab_avg lab_p99 < <(run_wrk "$lab_url")
read -r ap_rps ap_avg ap_p99 < <(run_wrk "$apache_url")

lab_lines=$(wc -l <"$tmp/lab/var/log/apache2/access.log")
ap_lines=$(wc -l <"$ap/logs/access.log")

printf '\n%-22s %12s %12s %12s %14s\n' servidor 'req/s' 'lat. media' 'p99' 'líneas de log'
printf '%-22s %12s %12s %12s %14s\n' lab "$lab_rps" "$lab_avg" "$lab_p99" "$lab_lines"
printf '%-22s %12s %12s %12s %14s\n' "apache2 $("$APACHE_BIN" -v | sed -n 's/.*Apache\/\([0-9.]*\).*/\1/p') mpm_event" \
  "$ap_rps" "$ap_avg" "$ap_p99" "$ap_lines"
[ "$lab_lines" -gt 0 ] || die "el lab no escribió su access.log"
awk -v a="$lab_rps" -v b="$ap_rps" 'BEGIN { printf "ratio lab/apache: %.2f\n", a / b }'
