# shellcheck shell=bash
# Shared helpers of the benchmark scripts (scripts/bench/*). Sourced, never
# executed. Expects REPO_DIR to be set by the caller.
#
#   bench_init                 stack env, /usr/bin/time (Debian's time package), a work dir in $BENCH_WORK
#   bench_measure NAME CMD...  runs CMD under /usr/bin/time -v; stdout to $BENCH_WORK/NAME.out,
#                              stderr to NAME.err; sets BENCH_SECS (wall) and BENCH_RSS_MB (peak RSS)
#   bench_row NAME EVENTS BYTES SECS RSS_MB NOTE   one line of the result table
#   bench_table_header

: "${REPO_DIR:?REPO_DIR must be set before sourcing lib.sh}"

bench_say() { printf '[bench] %s\n' "$*" >&2; }
bench_die() { printf '[bench] ERROR: %s\n' "$*" >&2; exit 1; }

bench_init() {
  eval "$("$REPO_DIR/scripts/stack" env)"
  if [[ ! -x /usr/bin/time ]]; then
    [[ $EUID -eq 0 ]] || bench_die "/usr/bin/time is missing: apt-get install time"
    bench_say "installing Debian's time package (peak RSS via /usr/bin/time -v)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null || bench_die "apt-get install time failed"
  fi
  BENCH_WORK=$(mktemp -d "${TMPDIR:-/tmp}/sluice-bench.XXXXXX")
  export BENCH_WORK
}

# bench_measure NAME CMD...: wall time and peak RSS of one command.
bench_measure() {
  local name=$1
  shift
  /usr/bin/time -v -o "$BENCH_WORK/$name.time" "$@" >"$BENCH_WORK/$name.out" 2>"$BENCH_WORK/$name.err"
  local rc=$?
  BENCH_SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {
      n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$BENCH_WORK/$name.time")
  # time -v reports KiB; MB here are 10^6 bytes, as in the targets (until
  # session 5 the scripts printed MiB labelled MB: 268 "MB" was 281 MB).
  BENCH_RSS_MB=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 * 1024 / 1e6 }' "$BENCH_WORK/$name.time")
  return $rc
}

bench_table_header() {
  printf '%-34s %12s %10s %10s %10s %9s  %s\n' "what" "events/rows" "seconds" "events/s" "MB/s" "peak RSS" "input"
  printf '%-34s %12s %10s %10s %10s %9s  %s\n' "----" "-----------" "-------" "--------" "----" "--------" "-----"
}

# bench_row NAME COUNT BYTES SECS RSS_MB NOTE
bench_row() {
  awk -v n="$1" -v c="$2" -v b="$3" -v s="$4" -v r="$5" -v note="$6" 'BEGIN {
    if (s <= 0) s = 0.001
    printf "%-34s %12d %10.2f %10.0f %10.1f %7s MB  %s\n", n, c, s, c / s, b / 1e6 / s, r, note }'
}
