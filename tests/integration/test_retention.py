"""Issue 19, point 1: the bounded store's setting and metrics.

The passes themselves run every minute of real time; what they remove
and when is tested with a simulated clock in tests/unit/test_retention.c
and shown over a simulated year by `make soak` (bench/soak.c).
"""
import os
import subprocess

from harness import MANNERSD


def test_campaign_retention_is_checked_and_the_metrics_are_there(env):
    for value, ok in (("180d", True), ("0", True), ("26w", True),
                      ("six months", False), ("-1d", False)):
        path = os.path.join(env.tmp, "r.conf")
        open(path, "w").write("[daemon]\nhostname = m.example.com\n"
                              "campaign_retention = %s\n" % value)
        p = subprocess.run([MANNERSD, "-t", "-c", path], capture_output=True,
                           timeout=20)
        assert (p.returncode == 0) == ok, (value, p.stderr)
        if not ok:
            assert b":3: bad duration" in p.stderr, p.stderr
    env.start_smtp()
    d = env.daemon()
    code, text = d.request("GET", "/metrics")
    for name in ('manners_retention_slice_seconds{quantile="0.99"}',
                 "manners_retention_pruned_total 0",
                 "manners_retention_campaigns_removed_total 0",
                 "manners_retention_quota_pruned_total 0",
                 "manners_retention_mx_removed_total 0"):
        assert name in text, name
