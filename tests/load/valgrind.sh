#!/bin/sh
# `make valgrind`: end-to-end integration tests with mannersd under
# valgrind memcheck (issue 8, item 2), then a summary of every log.
#
# The harness runs mannersd under $MANNERSD_WRAP.  A definite leak or any
# memory error makes valgrind exit 99 when mannersd stops, which the
# harness reports as a failed clean stop, so the test fails; a daemon
# ended with SIGKILL leaves its errors in the log but no leak summary.
#
# Environment: MANNERSD, MANNERSCTL (from make), VALGRIND_TESTS (run.py -k
# patterns, one per word), VALGRIND_OUT (default tests/out/valgrind).
set -u
cd "$(dirname "$0")/../.."
out=${VALGRIND_OUT:-tests/out/valgrind}
tests=${VALGRIND_TESTS:-"
	test_three_recipients_are_delivered_as_mime
	test_jobs_survive_sigkill_while_relay_is_down
	test_temporary_failures_are_retried_and_delivered
	test_permanent_failures_fail_and_bad_mailboxes_are_suppressed
	test_resubmission_adds_only_new_recipients
	test_unsubscribe_drops_queued_jobs_at_once
	test_bad_input_gets_clear_4xx_and_changes_nothing
	test_cancel_drops_queued_jobs_and_releases_reservations
	test_one_click_form_urlencoded
	test_remote_images_are_measured_with_head_and_ranged_get
	test_garbage_on_the_control_socket_and_the_public_listener
	test_map_full_during_an_admission_is_507_and_nothing_partial
"}
command -v valgrind >/dev/null || { echo "valgrind: not installed"; exit 2; }
rm -rf "$out"
mkdir -p "$out"
abs=$(cd "$out" && pwd)
rc=0
for t in $tests; do
	MANNERSD_WRAP="valgrind --error-exitcode=99 --leak-check=full \
--errors-for-leak-kinds=definite --show-leak-kinds=definite \
--num-callers=30 --log-file=$abs/$t.%p.log" \
	TEST_OUT="$abs/tests" \
	    /usr/bin/python3 tests/integration/run.py -k "$t" ||
	    rc=1
done

echo
echo "valgrind summary (logs in $out):"
total_err=0
for f in "$abs"/*.log; do
	[ -e "$f" ] || continue
	name=$(basename "$f" .log)
	errs=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$f" |
	    tail -1)
	def=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$f" |
	    tail -1)
	use=$(sed -n 's/.*in use at exit: \([0-9,]*\) bytes.*/\1/p' "$f" | tail -1)
	inv=$(grep -c "Invalid read\|Invalid write\|uninitialised\|Invalid free\|Mismatched free\|overlap" "$f")
	if [ -z "$errs" ]; then
		# killed with SIGKILL: no summary, but errors so far are logged
		errs="-"
		[ "$inv" -gt 0 ] && rc=1
		printf '  %-66s killed (no leak summary); memory errors %s\n' \
		    "$name" "$inv"
	else
		[ "$errs" -gt 0 ] && rc=1
		total_err=$((total_err + errs))
		printf '  %-66s errors %s, definitely lost %s B, in use at exit %s B, invalid accesses %s\n' \
		    "$name" "$errs" "${def:-0}" "${use:-?}" "$inv"
	fi
done
if [ "$rc" -eq 0 ]; then
	echo "valgrind: PASS (no memory errors, no definite leaks)"
else
	echo "valgrind: FAIL (see the logs above)"
fi
exit $rc
