#!/usr/bin/env bash
# FastCGI benchmark: hello.php through the lab (Debian's php8.2-fpm.conf: SetHandler to the
# php8.2-fpm service over its unix socket), nginx (fastcgi_pass to an upstream with
# keepalive and fastcgi_keep_conn) and Apache 2.4 (mod_proxy_fcgi, the same SetHandler,
# mpm_event). Each has its own php-fpm 8.2 master with the same pool: pm = static,
# 4 children, unix socket. Same load for all: wrk, 32 connections, loopback only.
# All three write an access log line per request in Apache's combined format (the lab's
# Debian 000-default.conf does, so the others do too), and the script checks that OPcache
# is in the same state in the three php-fpm pools before measuring.
# nginx runs one worker, so its kept connections (keepalive = children) never outnumber the
# php-fpm children: a kept idle connection holds a child, and more of them than children
# would leave new connections waiting in php-fpm's queue.
#
#   bench/fastcgi.sh                      # 2 rounds of 10 s per server, after a warm-up
#   DURATION=20s ROUNDS=3 CONNECTIONS=64 bench/fastcgi.sh
#
# Rounds rotate which server goes first, so that other load on the machine falls on all
# alike; the table shows the mean of the rounds and the ratios of the lab to the others.
#
# Needs: cargo, wrk, php8.2-fpm, nginx-light, apache2 (apt-get install -y wrk php8.2-fpm
# nginx-light apache2).
set -euo pipefail

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-2}
WARMUP=${WARMUP:-2s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
CHILDREN=${CHILDREN:-4}
FPM_BIN=${FPM_BIN:-/usr/sbin/php-fpm8.2}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
APACHE_BIN=${APACHE_BIN:-/usr/sbin/apache2}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

command -v cargo >/dev/null || die "falta cargo"
command -v wrk >/dev/null || die "falta wrk (apt-get install -y wrk)"
[ -x "$FPM_BIN" ] || die "falta $FPM_BIN (apt-get install -y php8.2-fpm)"
[ -x "$NGINX_BIN" ] || die "falta $NGINX_BIN (apt-get install -y nginx-light)"
[ -x "$APACHE_BIN" ] || die "falta $APACHE_BIN (apt-get install -y apache2)"

tmp=$(mktemp -d /tmp/lab-bench-fcgi.XXXXXX)
chmod 755 "$tmp"
pids=()
apache_started=
cleanup() {
  if [ -n "$apache_started" ]; then
    "$APACHE_BIN" -d /etc/apache2 -f "$tmp/apache/apache2.conf" -k stop 2>/dev/null || true
  fi
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

root_opts=()
[ "$(id -u)" = 0 ] && root_opts=(--allow-to-run-as-root)
run_user=$(id -un)
run_group=$(id -gn)

# A php-fpm master of its own for a reference server: pool www, pm static, $CHILDREN.
start_fpm() {
  local name=$1 dir="$tmp/$1"
  mkdir -p "$dir"
  cat > "$dir/php-fpm.conf" <<CONF
[global]
pid = $dir/php-fpm.pid
error_log = $dir/php-fpm.log
daemonize = no
[www]
listen = $dir/php-fpm.sock
listen.mode = 0666
pm = static
pm.max_children = $CHILDREN
CONF
  "$FPM_BIN" "${root_opts[@]}" --nodaemonize --fpm-config "$dir/php-fpm.conf" \
    -c /etc/php/8.2/fpm/php.ini > "$dir/php-fpm.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do [ -S "$dir/php-fpm.sock" ] && return 0; sleep 0.1; done
  die "php-fpm de $name no abrió su socket"
}

mkdir -p "$tmp/www"
printf '<?php\necho "Hola desde PHP\\n";\n' > "$tmp/www/hello.php"
printf '<?php\necho json_encode(opcache_get_status(false)["opcache_enabled"] ?? false);\n' > "$tmp/www/opcache.php"
chmod -R a+rX "$tmp/www"

echo "Compilando el laboratorio (release)…"
(cd "$repo" && cargo build --release --quiet --bin lab)
lab="$repo/target/release/lab"

lab_port=$(free_port)
nginx_port=$(free_port)
apache_port=$(free_port)

# The lab: Debian's layout, php8.2-fpm service with the same static pool.
ws="$tmp/ws"
"$lab" init "$ws" >/dev/null
"$lab" --workspace "$ws" service php8.2-fpm enable >/dev/null
"$lab" --workspace "$ws" a2enmod proxy_fcgi setenvif >/dev/null
"$lab" --workspace "$ws" a2enconf php8.2-fpm >/dev/null
sed -i "s/^Listen 80$/Listen $lab_port/" "$ws/etc/apache2/ports.conf"
sed -i "s/<VirtualHost \*:80>/<VirtualHost *:$lab_port>/" "$ws/etc/apache2/sites-available/000-default.conf"
sed -i 's/^console_port = .*/console_port = 0/' "$ws/lab.toml"
sed -i -e 's/^pm = dynamic/pm = static/' -e "s/^pm.max_children = .*/pm.max_children = $CHILDREN/" \
  "$ws/etc/php/8.2/fpm/pool.d/www.conf"
cp "$tmp/www/hello.php" "$tmp/www/opcache.php" "$ws/var/www/html/"
"$lab" --workspace "$ws" configtest >/dev/null || die "configuración del laboratorio no válida"
"$lab" start --workspace "$ws" > "$tmp/lab.log" 2>&1 &
pids+=($!)
wait_http "http://127.0.0.1:$lab_port/hello.php" 20 || { cat "$tmp/lab.log"; die "el laboratorio no sirve hello.php"; }

# nginx with keepalive connections to its php-fpm.
start_fpm nginx
mkdir -p "$tmp/nginx"
cat > "$tmp/nginx/nginx.conf" <<CONF
worker_processes 1;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
$( [ "$(id -u)" = 0 ] && echo "user $run_user $run_group;" )
events { worker_connections 1024; }
http {
  log_format combined_apache '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent"';
  access_log $tmp/nginx/access.log combined_apache;
  client_body_temp_path $tmp/nginx/body;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  proxy_temp_path $tmp/nginx/proxy;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  upstream php { server unix:$tmp/nginx/php-fpm.sock; keepalive $CHILDREN; }
  server {
    listen 127.0.0.1:$nginx_port;
    root $tmp/www;
    location ~ \.php\$ {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_keep_conn on;
      fastcgi_pass php;
    }
  }
}
CONF
"$NGINX_BIN" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx/stderr" &
pids+=($!)
wait_http "http://127.0.0.1:$nginx_port/hello.php" 10 || { cat "$tmp/nginx/stderr" "$tmp/nginx/error.log"; die "nginx no sirve hello.php"; }

# Apache with mod_proxy_fcgi (mpm_event, Debian's modules).
start_fpm apache
cat > "$tmp/apache/apache2.conf" <<CONF
ServerRoot /etc/apache2
DefaultRuntimeDir $tmp/apache
PidFile $tmp/apache/apache2.pid
ErrorLog $tmp/apache/error.log
ServerName localhost
Include mods-available/mpm_event.load
Include mods-available/mpm_event.conf
Include mods-available/authz_core.load
Include mods-available/mime.load
Include mods-available/dir.load
Include mods-available/proxy.load
Include mods-available/proxy_fcgi.load
Include mods-available/setenvif.load
TypesConfig /etc/mime.types
LogFormat "%h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" combined
CustomLog $tmp/apache/access.log combined
Listen 127.0.0.1:$apache_port
DocumentRoot $tmp/www
<Directory $tmp/www>
  Require all granted
</Directory>
SetEnvIfNoCase ^Authorization\$ "(.+)" HTTP_AUTHORIZATION=\$1
<FilesMatch ".+\.php\$">
  SetHandler "proxy:unix:$tmp/apache/php-fpm.sock|fcgi://localhost"
</FilesMatch>
CONF
APACHE_RUN_USER=$run_user APACHE_RUN_GROUP=$run_group APACHE_RUN_DIR=$tmp/apache \
  APACHE_LOCK_DIR=$tmp/apache APACHE_LOG_DIR=$tmp/apache APACHE_PID_FILE=$tmp/apache/apache2.pid \
  "$APACHE_BIN" -d /etc/apache2 -f "$tmp/apache/apache2.conf" -k start
apache_started=1
wait_http "http://127.0.0.1:$apache_port/hello.php" 10 || { cat "$tmp/apache/error.log"; die "Apache no sirve hello.php"; }

for url in "http://127.0.0.1:$lab_port/hello.php" "http://127.0.0.1:$nginx_port/hello.php" "http://127.0.0.1:$apache_port/hello.php"; do
  body=$(curl -s "$url")
  [ "$body" = "Hola desde PHP" ] || die "$url respondió «$body»"
done

# The same OPcache state in the three pools (Debian's conf.d loads it in each).
opcache_states=""
for port in "$lab_port" "$nginx_port" "$apache_port"; do
  opcache_states="$opcache_states $(curl -s "http://127.0.0.1:$port/opcache.php")"
done
case "$opcache_states" in
  " true true true" | " false false false") echo "OPcache activo en los tres pools:$opcache_states" ;;
  *) die "OPcache no está igual en los tres pools:$opcache_states" ;;
esac

# wrk against URL for DURATION; prints requests/s (integer). Non-2xx answers fail the run.
load() {
  local url=$1 duration=$2 out
  out=$(wrk -t "$THREADS" -c "$CONNECTIONS" -d "$duration" "$url" 2>&1)
  if echo "$out" | grep -q "Non-2xx"; then
    echo "$out" >&2
    die "$url dio respuestas que no son 2xx"
  fi
  echo "$out" | awk '/^Requests\/sec:/ { printf "%d\n", $2 }'
}

names=(lab nginx apache)
urls=("http://127.0.0.1:$lab_port/hello.php" "http://127.0.0.1:$nginx_port/hello.php" "http://127.0.0.1:$apache_port/hello.php")
sums=(0 0 0)

echo "Calentando ($WARMUP cada uno)…"
for u in "${urls[@]}"; do load "$u" "$WARMUP" >/dev/null; done

echo "Midiendo $ROUNDS rondas de $DURATION: wrk -t $THREADS -c $CONNECTIONS, php-fpm pm static $CHILDREN hijos cada uno"
for round in $(seq 1 "$ROUNDS"); do
  line="  ronda $round:"
  for k in 0 1 2; do
    i=$(( (k + round - 1) % 3 ))
    r=$(load "${urls[$i]}" "$DURATION")
    [ -n "$r" ] || die "wrk no dio resultados para ${names[$i]}"
    sums[$i]=$(( sums[i] + r ))
    line="$line ${names[$i]} $r req/s,"
  done
  echo "${line%,}"
done

lab_rps=$(( sums[0] / ROUNDS ))
nginx_rps=$(( sums[1] / ROUNDS ))
apache_rps=$(( sums[2] / ROUNDS ))
printf '\n%-44s %12s\n' "servidor (hello.php, php-fpm 8.2 pm static $CHILDREN)" "req/s (media)"
printf '%-44s %12s\n' "lab (SetHandler proxy:unix, php8.2-fpm)" "$lab_rps"
printf '%-44s %12s\n' "nginx $("$NGINX_BIN" -v 2>&1 | sed 's/.*nginx\///') (fastcgi keepalive)" "$nginx_rps"
printf '%-44s %12s\n' "Apache $("$APACHE_BIN" -v | awk -F/ '/version/ {print $2}' | awk '{print $1}') (mod_proxy_fcgi)" "$apache_rps"
awk -v l="$lab_rps" -v n="$nginx_rps" -v a="$apache_rps" \
  'BEGIN { printf "\nratio lab/nginx: %.2fx\nratio lab/apache: %.2fx\n", l / n, l / a }'
