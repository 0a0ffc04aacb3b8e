#!/bin/sh
# Run every Criterion unit-test binary; fail if any fails.
status=0
for t in "$@"; do
	echo "== $t"
	"$t" --jobs=2 || status=1
done
exit $status
