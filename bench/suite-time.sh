#!/usr/bin/env bash
# How long the README's test command takes, cold (a fresh build directory) or warm (the CI cache),
# over several runs: prints each run and the minimum, median and maximum in seconds.
#
#   bash bench/suite-time.sh [--cold] [--runs N] [--checkout DIR] [--no-warmup]
#
# Warm runs use $CARGO_TARGET_DIR (default ~/.cache/emsg-target, as CI does) after one untimed
# run that brings it up to date (`--no-warmup` when it is known to be); cold runs each start from an empty build directory (the cargo
# registry stays downloaded). Every run must pass: a failed suite is reported, not timed.
set -euo pipefail

cold=false
warmup=true
runs=3
checkout="$(cd "$(dirname "$0")/.." && pwd)"
while [ $# -gt 0 ]; do
  case "$1" in
    --cold) cold=true ;;
    --runs) runs="$2"; shift ;;
    --checkout) checkout="$(cd "$2" && pwd)"; shift ;;
    --no-warmup) warmup=false ;;
    *) echo "usage: bash bench/suite-time.sh [--cold] [--runs N] [--checkout DIR] [--no-warmup]" >&2; exit 2 ;;
  esac
  shift
done

export CI=true
warm_dir="${CARGO_TARGET_DIR:-$HOME/.cache/emsg-target}"
log="$(mktemp -t emsg-suite-XXXX.log)"
times=()

run_once() {
  local target="$1" start end
  start=$(date +%s)
  if ! CARGO_TARGET_DIR="$target" bash "$checkout/.ci/run" >"$log" 2>&1; then
    echo "the suite failed (log: $log)" >&2
    exit 1
  fi
  end=$(date +%s)
  echo $((end - start))
}

if ! $cold && $warmup; then
  echo "bringing $warm_dir up to date (untimed)…" >&2
  run_once "$warm_dir" >/dev/null
fi
for i in $(seq 1 "$runs"); do
  if $cold; then
    target="$(mktemp -d -t emsg-cold-XXXX)"
    t=$(run_once "$target")
    rm -rf "$target"
  else
    t=$(run_once "$warm_dir")
  fi
  echo "run $i: ${t} s" >&2
  times+=("$t")
done

sorted=($(printf '%s\n' "${times[@]}" | sort -n))
n=${#sorted[@]}
printf '| checkout | kind | runs | min s | median s | max s |\n|---|---|---|---|---|---|\n'
printf '| %s | %s | %d | %d | %d | %d |\n' "$(git -C "$checkout" rev-parse --short HEAD)" \
  "$($cold && echo cold || echo warm)" "$n" "${sorted[0]}" "${sorted[$((n / 2))]}" "${sorted[$((n - 1))]}"
rm -f "$log"
