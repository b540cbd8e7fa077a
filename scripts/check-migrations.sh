#!/bin/sh
# check-migrations.sh: every migration folder numbers its files once. goose orders by the
# number; two branches that each added "00005_…" merge without a conflict and then one of them
# is silently skipped or applied in the wrong order.
set -eu
status=0
for dir in $(git ls-files '*migrations/*.sql' | sed 's#/[^/]*$##' | sort -u); do
	dups=$(ls "$dir" | sed -n 's/^\([0-9]\{1,\}\)_.*\.sql$/\1/p' | sort | uniq -d)
	if [ -n "$dups" ]; then
		for n in $dups; do
			echo "migration number $n used twice in $dir:" $(ls "$dir" | grep "^${n}_")
		done
		status=1
	fi
done
exit $status
