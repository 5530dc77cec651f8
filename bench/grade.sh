#!/usr/bin/env bash
# Grading benchmark: `lab grade --jobs 2` over a generated class of 30 workspaces (a third
# solved, a third half-solved, a third with a broken Apache configuration), against what an
# instructor does without it: `lab check` in each workspace, one after the other (no
# isolation, no parallelism). Prints both times and the ratio. Goal: grade under 60 s.
#
#   bench/grade.sh
#   STUDENTS=60 JOBS=4 EXERCISES=apache-sitio,wsgi-hola bench/grade.sh
#   PROFILE=debug bench/grade.sh     # the debug build (default: release)
#
# The venv cache (~/.cache/lab) is warmed by a first run of the exercises that need one.
# Needs: cargo, python3, python3-venv.
set -euo pipefail

STUDENTS=${STUDENTS:-30}
JOBS=${JOBS:-2}
EXERCISES=${EXERCISES:-apache-sitio,apache-a2,apache-require,apache-configtest,wsgi-hola,memcached-telnet}
PROFILE=${PROFILE:-release}

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

command -v cargo >/dev/null || die "falta cargo"
if [ "$PROFILE" = release ]; then
  (cd "$repo" && cargo build --release --quiet) || die "no compila"
else
  (cd "$repo" && cargo build --quiet) || die "no compila"
fi
lab="$repo/target/$PROFILE/lab"
[ -x "$lab" ] || die "falta $lab"
export LAB_COURSE_DIR="$repo"

tmp=$(mktemp -d /tmp/lab-bench-grade.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
class="$tmp/clase"
mkdir -p "$class"

IFS=, read -r -a ids <<<"$EXERCISES"
half=$(( ${#ids[@]} / 2 ))
echo "Generando $STUDENTS espacios de trabajo (${#ids[@]} ejercicios)..."
for i in $(seq 1 "$STUDENTS"); do
  s=$(printf 'alumno%02d' "$i")
  "$lab" init "$class/$s" --student "$s" >/dev/null
  case $((i % 3)) in
    0) todo=("${ids[@]}") ;;                 # solved
    1) todo=("${ids[@]:0:$half}") ;;        # half-solved
    2) todo=("${ids[@]}") ;;                 # solved, then broken below
  esac
  for id in "${todo[@]}"; do
    "$lab" --workspace "$class/$s" dev solve "$id" >/dev/null
  done
  if [ $((i % 3)) = 2 ]; then
    printf '<VirtualHost *:80>\n' >"$class/$s/etc/apache2/sites-enabled/roto.conf"
  fi
done

echo "lab grade --jobs $JOBS..."
start=$(date +%s.%N)
"$lab" grade "$class" --exercises "$EXERCISES" --jobs "$JOBS" \
  --csv "$tmp/informes/notas.csv" --html "$tmp/informes/notas.html" >"$tmp/grade.out" 2>"$tmp/grade.err" \
  || { cat "$tmp/grade.err"; die "lab grade falló"; }
end=$(date +%s.%N)
grade_s=$(awk "BEGIN{print $end - $start}")
rows=$(($(wc -l <"$tmp/informes/notas.csv") - 1))
[ "$rows" = "$STUDENTS" ] || die "el CSV tiene $rows filas, no $STUDENTS"

echo "lab check en cada espacio de trabajo, uno tras otro..."
start=$(date +%s.%N)
for d in "$class"/*/; do
  for id in "${ids[@]}"; do
    "$lab" --workspace "$d" check "$id" >/dev/null 2>&1 || true
  done
done
end=$(date +%s.%N)
seq_s=$(awk "BEGIN{print $end - $start}")

printf '\n%-44s %10s\n' "Corrección de $STUDENTS espacios de trabajo" "segundos"
printf '%-44s %10.1f\n' "lab grade --jobs $JOBS (aislado)" "$grade_s"
printf '%-44s %10.1f\n' "lab check uno tras otro (sin aislar)" "$seq_s"
printf '%-44s %10.2f\n' "razón grade/check" "$(awk "BEGIN{print $grade_s / $seq_s}")"
ok=$(awk "BEGIN{print ($grade_s < 60) ? 1 : 0}")
if [ "$ok" = 1 ]; then
  echo "Objetivo (< 60 s): cumplido"
else
  echo "Objetivo (< 60 s): NO cumplido"
fi
