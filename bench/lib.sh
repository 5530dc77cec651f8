# Helpers shared by the bench/*.sh scripts (sourced, not run).

die() { echo "bench: $*" >&2; exit 1; }

# A loopback port nobody listens on, for a server this script starts. It is taken below the
# kernel's range for outgoing connections (ip_local_port_range): a port in that range could
# become the local end of some client's connection before the server binds it.
free_port() {
  local p low=32768
  read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [ "$low" -gt 11000 ] || low=32768
  for _ in $(seq 1 200); do
    p=$((10000 + RANDOM % (low - 10000)))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "$p"
      return 0
    fi
  done
  die "no encuentro un puerto libre"
}

# Puts a lab workspace's varnish role in front of its Apache role:
# `lab_varnish_front DIR APACHE_PORT VARNISH_PORT STORAGE`. Apache's role moves from port 80
# (`ports.conf` and the default site) to APACHE_PORT, varnishd listens on VARNISH_PORT with
# STORAGE (say, malloc,64m) through a systemd override, as on Debian, and the VCL's backend
# points at Apache's new port. The caller turns the role on in lab.toml.
lab_varnish_front() {
  local dir=$1 apache_port=$2 varnish_port=$3 storage=$4
  sed -i "s/^Listen 80$/Listen $apache_port/" "$dir/etc/apache2/ports.conf"
  sed -i "s/<VirtualHost \*:80>/<VirtualHost *:$apache_port>/" \
    "$dir/etc/apache2/sites-available/000-default.conf"
  mkdir -p "$dir/etc/systemd/system/varnish.service.d"
  cat >"$dir/etc/systemd/system/varnish.service.d/override.conf" <<EOF
[Service]
ExecStart=
ExecStart=/usr/sbin/varnishd -a 127.0.0.1:$varnish_port -f /etc/varnish/default.vcl -s $storage
EOF
  sed -i "s/\"8080\"/\"$apache_port\"/" "$dir/etc/varnish/default.vcl"
}

# Waits until URL answers 200, at most $2 seconds.
wait_http() {
  local url=$1 limit=$2 i
  for i in $(seq 1 $((limit * 10))); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" = 200 ]; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Waits until something accepts connections on 127.0.0.1:$1, at most 10 seconds.
wait_port() {
  local port=$1 i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# A private Apache instance's directory (logs/, run/) and the head of its apache2.conf:
# `apache_head DIR PORT` prints ServerRoot, Listen, pid, runtime dir, mutex, user and group
# (www-data when run as root, which Apache needs to drop to), for the caller to append its
# modules and the rest.
apache_head() {
  local dir=$1 port=$2 user group
  mkdir -p "$dir/logs" "$dir/run"
  chmod 755 "$dir"
  if [ "$(id -u)" = 0 ]; then
    user=www-data group=www-data
    chown www-data "$dir/run"
  else
    user=$(id -un) group=$(id -gn)
  fi
  cat <<HEAD
ServerRoot "$dir"
ServerName localhost
Listen 127.0.0.1:$port
PidFile $dir/run/apache2.pid
DefaultRuntimeDir $dir/run
Mutex file:$dir/run default
User $user
Group $group
HEAD
}

# mpm_event as Debian ships it (mods-available/mpm_event.conf), for a private Apache's
# apache2.conf: `apache_event_mpm` prints the LoadModule line and the pool's sizes.
apache_event_mpm() {
  cat <<MPM
LoadModule mpm_event_module ${APACHE_MODULES:-/usr/lib/apache2/modules}/mod_mpm_event.so
StartServers            2
MinSpareThreads         25
MaxSpareThreads         75
ThreadLimit             64
ThreadsPerChild         25
MaxRequestWorkers       150
MaxConnectionsPerChild  0
MPM
}

# CPU time (user + system, in clock ticks) used so far by process $1 and every process
# below it, read from /proc/PID/stat: the processes a server forks or spawns (workers,
# daemon processes) count towards it. Processes that already exited are not counted, so
# read it before and after a run while the server is up.
cpu_ticks() {
  local root=$1
  # cat, not awk on the files: mawk stops at a file that vanished between the glob and the
  # read (a process that exited meanwhile), cat goes on with the others.
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$root" '
    {
      # Field 2 (comm) may hold spaces: parse from the last ")".
      pid = $1
      line = $0
      sub(/^.*\) /, "", line)
      n = split(line, f, " ")
      parent[pid] = f[2]
      ticks[pid] = f[12] + f[13]
    }
    END {
      total = 0
      for (p in ticks) {
        q = p
        for (depth = 0; depth < 64 && q != "" && q != 0; depth++) {
          if (q == root) { total += ticks[p]; break }
          q = parent[q]
        }
      }
      print total
    }' || true  # cat's status when a file vanished: not an error
}

# Microseconds of CPU per request: `cpu_us_per_request TICKS REQUESTS`.
cpu_us_per_request() {
  awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN {
    if (n > 0) printf "%.0f", t * 1000000 / hz / n; else print "?"
  }'
}

# A scratch directory in $tmp (readable by Apache's workers, which run as www-data under
# root) and a `pids` list for the servers the bench starts: on exit, each is sent SIGTERM and
# waited for, then the directory goes.
bench_scratch() {
  tmp=$(mktemp -d "/tmp/lab-$1-bench.XXXXXX")
  chmod 755 "$tmp"
  pids=()
  trap bench_cleanup EXIT INT TERM
}

bench_cleanup() {
  for p in "${pids[@]}"; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in "${pids[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  rm -rf "$tmp"
}

# The lab to measure in $lab: $LAB_BIN when set (another build, say the one before a change,
# in the same run as the reference), else this tree built as the README installs it
# (scripts/build-pgo.sh: a release build with the profile of a training run), or a plain
# release build with LAB_PGO=0.
lab_binary() {
  if [ -n "${LAB_BIN:-}" ]; then
    lab=$LAB_BIN
  elif [ "${LAB_PGO:-1}" = 0 ]; then
    echo "== compilando (release, sin PGO)"
    cargo build --release --quiet --manifest-path "$repo/Cargo.toml" --bin lab
    lab="$repo/target/release/lab"
  else
    echo "== compilando (release con PGO, como la instalación del README)"
    "$repo/scripts/build-pgo.sh" >/dev/null
    lab="$repo/target/pgo/use/release/lab"
  fi
}

# The venv with Flask and Granian shared by bench/wsgi.sh and bench/proxy_http.sh, made once in
# $BENCH_VENV (default /tmp/lab-bench-venv) with $PYTHON and kept for the next runs.
bench_venv() {
  BENCH_VENV=${BENCH_VENV:-/tmp/lab-bench-venv}
  echo "== venv con flask y granian ($BENCH_VENV)"
  if [ ! -f "$BENCH_VENV/.ready" ]; then
    rm -rf "$BENCH_VENV"
    "${PYTHON:-/usr/bin/python3}" -m venv "$BENCH_VENV"
    "$BENCH_VENV/bin/pip" install --quiet --disable-pip-version-check flask granian
    touch "$BENCH_VENV/.ready"
  fi
  chmod -R a+rX "$BENCH_VENV"
}
