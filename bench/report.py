"""make bench: every benchmark, then one table.

Runs the admission benchmark (bench/run.py), the weigher benchmark
(bench/weigh_bench.c), the drain benchmark (bench/drain_bench.py),
the feedback intake benchmark (bench/feedback_bench.py), the
unsubscribe page benchmark (bench/page_bench.py) and the reputation
benchmark (bench/reputation_bench.py: provider groups, quotas and
shaping rules against a plain drain, and per-group limits),
each of which prints its own details, then prints one summary table:
admission rate and its ratio to the raw ceiling, weigh time vs a bare
parse, drain rate vs raw libcurl, and cadence error.  Figures only: the
tests, not this, check behaviour.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def run_py(script, summary):
    env = dict(os.environ, BENCH_SUMMARY=summary)
    p = subprocess.run(["/usr/bin/python3", os.path.join(HERE, script)],
                       env=env)
    try:
        with open(summary) as f:
            return json.load(f)
    except (OSError, ValueError):
        print("bench: %s gave no summary (exit %d)" % (script, p.returncode))
        return None


def weigh():
    out = os.path.join(ROOT, "build", "bench", "weigh_bench")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    cflags = subprocess.run(["pkg-config", "--cflags", "--libs",
                             "libxml-2.0", "jansson"], capture_output=True,
                            text=True, check=True).stdout.split()
    subprocess.run(["cc", "-std=gnu11", "-O2", "-D_GNU_SOURCE", "-I",
                    os.path.join(ROOT, "lib"), "-o", out,
                    os.path.join(HERE, "weigh_bench.c"),
                    os.path.join(ROOT, "lib/weigh.c"),
                    os.path.join(ROOT, "lib/hashtab.c"),
                    os.path.join(ROOT, "lib/util.c"),
                    os.path.join(ROOT, "lib/log.c")] + cflags, check=True)
    p = subprocess.run([out], capture_output=True, text=True)
    print(p.stdout, end="")
    bare = re.search(r'bare parse \(htmlReadMemory\+xmlFreeDoc, "UTF-8"\):'
                     r'\s+([\d.]+) ms', p.stdout)
    full = re.search(r"weigh_html\+weigh_free:\s+([\d.]+) ms", p.stdout)
    if not bare or not full:
        return None
    return {"bare_ms": float(bare.group(1)), "weigh_ms": float(full.group(1))}


def row(rows, metric, value, target, ok):
    rows.append((metric, value, target, "" if ok is None else
                 ("yes" if ok else "NO")))


def main():
    tmp = tempfile.mkdtemp(prefix="manners-report-")
    adm = run_py("run.py", os.path.join(tmp, "admission.json"))
    wg = weigh()
    dr = run_py("drain_bench.py", os.path.join(tmp, "drain.json"))
    fb = run_py("feedback_bench.py", os.path.join(tmp, "feedback.json"))
    pg = run_py("page_bench.py", os.path.join(tmp, "page.json"))
    rep = run_py("reputation_bench.py", os.path.join(tmp, "reputation.json"))
    rows = []
    if adm:
        row(rows, "admission: %d recipients, request to response" %
            adm["recipients"], "%.2f s" % adm["seconds"],
            "<= %.2g s" % (3.0 * adm["recipients"] / 1e6),
            adm["seconds"] <= 3.0 * adm["recipients"] / 1e6)
        if adm.get("zones_seconds"):
            row(rows, "admission: same recipients, 50 zones, quiet hours on",
                "%.2f s" % adm["zones_seconds"], "<= %.2g s" % (
                    3.0 * adm["recipients"] / 1e6), adm["zones_seconds"] <=
                3.0 * adm["recipients"] / 1e6)
        row(rows, "  recipients with their own choices (prefs)",
            "{:,}".format(adm.get("prefs", 0)), "10 %",
            adm.get("prefs", 0) * 10 >= adm["recipients"])
        row(rows, "admission rate", "{:,.0f} rcpt/s".format(adm["rate"]),
            ">= 330,000 rcpt/s", adm["rate"] >= 330000)
        row(rows, "  raw ceiling (reader + one mdb_put each)",
            "{:,.0f} rcpt/s".format(adm["raw_rate"]), "", None)
        row(rows, "  admission / raw ceiling", "%.2f" % (
            adm["rate"] / adm["raw_rate"]), "", None)
        row(rows, "  health p99 during admission", "%.1f ms" % adm["p99_ms"],
            "<= 50 ms", adm["p99_ms"] <= 50)
        row(rows, "  daemon private memory (RssAnon) peak",
            "%.0f MB" % (adm["anon"] / 1e6), "<= doc + 64 MB",
            adm["anon"] <= adm["doc"] + 64e6)
    if wg:
        row(rows, "weigh 100 KB, 30 images vs bare libxml2 parse",
            "%.3f / %.3f ms = %.2fx" % (wg["weigh_ms"], wg["bare_ms"],
                                         wg["weigh_ms"] / wg["bare_ms"]),
            "<= 1.25x", wg["weigh_ms"] / wg["bare_ms"] <= 1.25)
    if dr:
        keep = ("2k: manners/raw, median round", "2k: raw rate, best",
                "2k: manners rate, best", "100k: manners/raw, median round",
                "rate: achieved rate", "rate: largest gap",
                "domain: max per domain", "morning:")
        for m, v, t, ok in dr.get("rows", []):
            if m.startswith(keep):
                rows.append(("drain " + m, v, t, ok.strip()))
    if fb:
        row(rows, "feedback intake (DSN/ARF/mailto mix, 1 in 4 applied)",
            "{:,.0f} msg/s".format(fb["feedback_msgs_per_s"]),
            ">= 2,000 msg/s", fb["feedback_msgs_per_s"] >= 2000 and
            fb["errors"] == 0)
    if pg:
        for kind in ("get", "post"):
            x = pg[kind]
            row(rows, "page %s p99, %d clients at %d/s" % (
                kind.upper(), pg["clients"], pg[kind + "_rate"]),
                "%.2f ms" % x["p99"], "<= 5 ms", x["p99"] <= 5.0)
            y = pg[kind + "_sat"]
            row(rows, "  page %s saturated: rate, p99" % kind.upper(),
                "{:,.0f}/s, {:.1f} ms".format(y["rate"], y["p99"]), "",
                None)
    for m, v, t, ok in (rep or {}).get("rows", []):
        rows.append(("reputation " + m, v, t, ok.strip()))
    load = os.getloadavg()[0]
    row(rows, "machine", "%d CPUs, load average %.2f at the end" % (
        os.cpu_count(), load), "", None)
    head = ("metric", "value", "target", "met")
    cells = [head] + rows
    w = [max(len(r[i]) for r in cells) for i in range(4)]
    line = "+-" + "-+-".join("-" * x for x in w) + "-+"
    print("\nmanners benchmark report")
    print(line)
    for i, r in enumerate(cells):
        print("| " + " | ".join(c.ljust(w[j]) for j, c in enumerate(r)) + " |")
        if i == 0:
            print(line)
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
