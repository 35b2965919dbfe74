#!/bin/sh
# Run test programs one after another; each prints its own checks.
# Exit code 77 means "skipped" (printed loudly); anything else non-zero fails.
# Prints a final "N passed, N failed, N skipped" over the suites.
passed=0 failed=0 skipped=0 failed_names=""
for t in "$@"; do
	echo "== $t"
	sh -c "$t"
	rc=$?
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
	elif [ $rc -eq 77 ]; then
		skipped=$((skipped + 1))
		echo "SKIPPED: $t"
	else
		failed=$((failed + 1))
		failed_names="$failed_names $t"
		echo "FAILED ($rc): $t"
	fi
done
echo "suites: $passed passed, $failed failed, $skipped skipped"
[ -n "$failed_names" ] && echo "failed:$failed_names"
[ $failed -eq 0 ]
