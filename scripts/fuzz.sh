#!/usr/bin/env bash
# Runs every Go fuzz target in the workspace for the given time (default 5s).
#
# Each package's test binary is built once, with the fuzzing instrumentation (`go test -c
# -fuzz`), and run once per target: `go test -fuzz` links the binary again for every target,
# about 3 s each, which was a third of this script's time in `make test`. The binary runs in
# its package's folder, so it reads and writes testdata/fuzz/<target> as `go test` does, and it
# keeps the generated corpus where `go test -fuzz` keeps it ($GOCACHE/fuzz/<package>/<target>).
#
# Go's fuzzing coordinator can end a run with "context deadline exceeded" at the -fuzztime
# boundary without having found anything: a race in its shutdown, more likely under load
# (golang/go#75804, fixed in Go 1.27; this repository builds with 1.26). Such a run is retried,
# up to three times; a run that wrote a failing input (testdata/fuzz/<target>/…) fails at once,
# and the input is kept as a regression case. (One retry was not enough: at the rate seen here,
# 3 of some 175 target runs, a target hit twice in a row of the 25 fails about one `make test`
# in 150.)
set -euo pipefail
fuzztime=${1:-5s}
cd "$(dirname "$0")/.."
cache=$(go env GOCACHE)/fuzz
bins=$(mktemp -d)
trap 'rm -rf "$bins"' EXIT
count_inputs() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }
run_target() { # pkgpath bin target
  local pkgpath=$1 bin=$2 target=$3 corpus="testdata/fuzz/$3" before after try
  for try in 1 2 3 4; do
    before=$(count_inputs "$corpus")
    if "$bin" -test.run '^$' -test.fuzz "^${target}\$" -test.fuzztime "$fuzztime" \
      -test.fuzzcachedir "$cache/$pkgpath/$target" -test.timeout 10m -test.paniconexit0; then
      return 0
    fi
    after=$(count_inputs "$corpus")
    if [ "$after" -gt "$before" ]; then
      echo "fuzz: $target found a failing input (kept in $PWD/$corpus)"
      return 1
    fi
    if [ "$try" -lt 4 ]; then
      echo "fuzz: $target stopped without a failing input; retrying ($try of 3)"
    fi
  done
  echo "fuzz: $target stopped without a failing input four times"
  return 1
}
n=0
for dir in $(go list -m -f '{{.Dir}}'); do
  for pkgdir in $(cd "$dir" && grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' . 2>/dev/null | xargs -r -n1 dirname | sort -u); do
    targets=$(cd "$dir/$pkgdir" && grep -ohE '^func Fuzz[A-Za-z0-9_]+' ./*_test.go | sed 's/^func //')
    pkgpath=$(cd "$dir/$pkgdir" && go list .)
    n=$((n + 1))
    bin="$bins/fuzz$n.test"
    (cd "$dir/$pkgdir" && go test -c -fuzz "^($(echo $targets | tr ' ' '|'))\$" -o "$bin" .)
    for target in $targets; do
      echo "== fuzz $target ($pkgpath, $fuzztime)"
      (cd "$dir/$pkgdir" && run_target "$pkgpath" "$bin" "$target")
    done
  done
done
