#!/usr/bin/env bash
# Runs every Go fuzz target in the workspace for the given time (default 5s).
set -euo pipefail
fuzztime=${1:-5s}
cd "$(dirname "$0")/.."
for dir in $(go list -m -f '{{.Dir}}'); do
  (cd "$dir" && grep -rl --include='*_test.go' -E '^func Fuzz[A-Za-z0-9_]+\(' . 2>/dev/null || true) | while read -r file; do
    pkgdir=$(dirname "$file")
    for target in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$dir/$file" | sed 's/^func //'); do
      echo "== fuzz $target ($dir/$pkgdir, $fuzztime)"
      (cd "$dir" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "./$pkgdir") || exit 1
    done
  done
done
