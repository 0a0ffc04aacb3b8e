/*
 * test_probe.c: the remote-image probe without a network: what it says
 * when nothing answers.  (test_weight.py measures real images through
 * the daemon, and test_mannersctl.py through `mannersctl weigh`.)
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "probe.h"
#include "util.h"

Test(probe, gives_no_size_and_a_reason_when_nothing_listens)
{
	char		*why = NULL;
	long long	 n;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	/* Port 1 on the loopback: refused at once. */
	n = probe_perform("http://127.0.0.1:1/a.png", 2, &why);
	cr_expect_eq(n, -1);
	cr_assert_not_null(why);
	cr_expect(strlen(why) > 0);
	free(why);
	curl_global_cleanup();
}

Test(probe, keeps_the_caller_argument_and_its_handle)
{
	struct probe	*pr;
	int		 x;

	pr = probe_new("http://127.0.0.1:1/", 1, &x);
	cr_expect_eq(probe_arg(pr), &x);
	cr_assert_not_null(probe_easy(pr));
	cr_expect_eq(probe_of(probe_easy(pr)), pr);
	cr_expect_eq(probe_size(pr), -1);
	probe_free(pr);
}
