#!/bin/sh
# Run every Criterion unit-test binary; fail if any fails, or if a
# sanitizer reports anything (Criterion judges tests by what they assert,
# so a leak or an undefined-behaviour report alone would not fail them).
status=0
for t in "$@"; do
	echo "== $t"
	out=$("$t" --jobs=2 2>&1) || status=1
	printf '%s\n' "$out"
	if printf '%s\n' "$out" | grep -q -e 'ERROR: LeakSanitizer' \
	    -e 'ERROR: AddressSanitizer' -e 'runtime error:'; then
		echo "$t: FAIL: a sanitizer report above"
		status=1
	fi
done
exit $status
