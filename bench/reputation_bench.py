#!/usr/bin/python3
"""manners reputation benchmark (issue 18; called by bench/report.py).

1. Throughput.  Postfix's smtp-sink on a free loopback port; a private
   mannersd drains N recipients (~2 KB messages) spread over 1,000
   domains, in turns: "plain" (no providers, no quotas, no rules) and
   "guarded" (the 1,000 domains in 10 [provider] groups of 100, each
   with a daily_limit that does not bind but is counted in the store,
   and the shipped shaping rules loaded, so every reply is matched).
   Both print their rate; the ratio is best guarded / best plain, with
   the per-round ratios and their median.  bench/drain_bench.py's
   timing (poll GET /v1/campaigns/ID every 50 ms) is reused.
2. Limits.  An in-process SMTP server timestamps each MAIL command with
   the kernel's receive time.  rate = 200/s, 10 groups of 100 domains
   each at rate = 15/s (150/s in all, so the groups bind): the busiest
   1-second window of each group against 15, of everything against 200,
   and the smallest gap within a group against its interval.

It asserts nothing about time; it exits non-zero only when the benchmark
could not run.

Environment:
  MANNERSD               the daemon (default build/default/mannersd)
  BENCH_REP_N            messages for the throughput runs (default 20000)
  BENCH_REP_ROUNDS       rounds (plain, guarded) (default 3)
  BENCH_REP_LIMITS_N     messages for the limits run (default 3000)
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import drain_bench as db  # noqa: E402

ROOT = os.path.dirname(HERE)
N = int(os.environ.get("BENCH_REP_N", "20000"))
ROUNDS = int(os.environ.get("BENCH_REP_ROUNDS", "3"))
LIMITS_N = int(os.environ.get("BENCH_REP_LIMITS_N", "3000"))
NDOM = 1000
NGROUP = 10
GROUP_RATE = 15
BASE_CONF = db.CONF


def groups_conf(rate=None, daily=10000000):
    """[provider gK] for domains d(100K)..d(100K+99).example.org."""
    out = ""
    per = NDOM // NGROUP
    for k in range(NGROUP):
        out += "[provider g%d]\ndomains = %s\ndaily_limit = %d\n" % (
            k, ", ".join("d%d.example.org" % j
                         for j in range(k * per, (k + 1) * per)), daily)
        if rate:
            out += "rate = %s\n" % rate
    return out


def with_conf(extra):
    # drain_bench.Daemon formats its module's CONF when it starts
    db.CONF = BASE_CONF + extra.replace("{", "{{").replace("}", "}}")


def throughput(tmp, results):
    rules = os.path.join(ROOT, "conf", "shaping.rules")
    plain = "[shaping]\nrules = none\n"
    guarded = groups_conf() + "[shaping]\nrules = %s\n" % rules
    port = db.free_port()
    sink = subprocess.Popen([db.SMTP_SINK, "-u", "nobody",
                             "127.0.0.1:%d" % port, "1000"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    db.DOMAINS = NDOM
    p, g = [], []
    try:
        db.wait_until(lambda: db._connectable(port), 10, "smtp-sink")
        db.log("")
        db.log("== reputation throughput: %d messages on %d domains, %d "
               "rounds (plain, guarded: %d groups, quotas, %s)" % (
                   N, NDOM, ROUNDS, NGROUP, rules))
        for r in range(ROUNDS):
            with_conf(plain)
            p.append(db.run_manners(tmp, "plain-%d" % r, port, N,
                                    db.SMALL_PAD)[0])
            with_conf(guarded)
            g.append(db.run_manners(tmp, "guarded-%d" % r, port, N,
                                    db.SMALL_PAD)[0])
    finally:
        with_conf("")
        sink.terminate()
        sink.wait()
    ratio = max(g) / max(p)
    rounds = sorted(g[i] / p[i] for i in range(len(g)))
    med = rounds[len(rounds) // 2]
    db.log("reputation: plain runs %s msg/s; guarded runs %s msg/s" % (
        ", ".join("%.0f" % x for x in p), ", ".join("%.0f" % x for x in g)))
    db.log("ratio guarded/plain: best %.0f / best %.0f = %.3f (per round "
           "%s; median %.3f)" % (max(g), max(p), ratio,
                                 ", ".join("%.3f" % x for x in rounds), med))
    results.append(("plain rate, best (msg/s)", "%.0f" % max(p), "", ""))
    results.append(("guarded rate, best (msg/s)", "%.0f" % max(g), "", ""))
    results.append(("guarded/plain, best/best", "%.3f" % ratio, "~1", ""))
    results.append(("guarded/plain, median round", "%.3f" % med, "~1", ""))


def busiest(ts):
    """The most times in any 1-second window."""
    ts = sorted(ts)
    j, best = 0, 0
    for i in range(len(ts)):
        while j < len(ts) and ts[j] < ts[i] + 1.0:
            j += 1
        best = max(best, j - i)
    return best


def limits(tmp, results):
    sink = db.Sink()
    with_conf(groups_conf(rate="%d/s" % GROUP_RATE) +
              "[shaping]\nrules = none\n")
    n = LIMITS_N
    rcpts = db.spread(n, NDOM, prefix="l")
    d = db.Daemon(tmp, "limits", sink.port, rate="%d/s" % db.RATE)
    try:
        send_after = int(time.time() + 2.5) + 1
        r = d.submit(db.campaign_xml("limits", rcpts, send_after=send_after))
        if r.get("accepted", 0) != n:
            raise RuntimeError("submission: %s" % r)
        db.log("")
        db.log("== reputation limits: %d recipients on %d domains in %d "
               "groups at %d/s each, rate %d/s" % (n, NDOM, NGROUP,
                                                  GROUP_RATE, db.RATE))
        db.wait_until(lambda: sink.count() >= n, n / (NGROUP * GROUP_RATE)
                      * 3 + 30, "%d messages at the sink" % n, d)
        groups = d.request("GET", "/v1/domains")[1]
    finally:
        d.stop()
        with_conf("")
    recs = sink.snapshot()
    sink.close()
    per = NDOM // NGROUP
    by = {}
    for rec in recs:
        dom = int(rec[2].split("@")[1].split(".")[0][1:])
        by.setdefault("g%d" % (dom // per), []).append(rec[0])
    worst = max((busiest(ts), k) for k, ts in by.items())
    gap = min(b - a for ts in by.values()
              for a, b in zip(sorted(ts), sorted(ts)[1:]))
    allw = busiest([rec[0] for rec in recs])
    units = {u["name"]: u for u in groups.get("units", [])}
    db.log("limits: busiest 1 s of one group %d (%s), limit %d; smallest gap "
           "within a group %.2f ms (interval %.1f ms); busiest 1 s of all %d, "
           "limit %d; %d groups listed by /v1/domains" % (
               worst[0], worst[1], GROUP_RATE, gap * 1e3,
               1e3 / GROUP_RATE, allw, db.RATE,
               sum(1 for k in units if k.startswith("g"))))
    results.append(("limits: max per group in 1 s", "%d" % worst[0],
                    "<= %d" % GROUP_RATE,
                    "ok" if worst[0] <= GROUP_RATE else "NOT"))
    results.append(("limits: max of all in 1 s", "%d" % allw,
                    "<= %d" % db.RATE, "ok" if allw <= db.RATE else "NOT"))


def main():
    tmp = tempfile.mkdtemp(prefix="manners-repbench-")
    results = []
    throughput(tmp, results)
    limits(tmp, results)
    for r in results:
        db.log("%-32s %12s %8s %s" % r)
    if os.environ.get("BENCH_SUMMARY"):
        with open(os.environ["BENCH_SUMMARY"], "w") as f:
            json.dump({"rows": [list(map(str, r)) for r in results]}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
