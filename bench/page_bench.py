#!/usr/bin/python3
"""Unsubscribe page benchmark (issue 16): GET and POST latency under 200
concurrent clients.

Starts the real mannersd (private config, state and SMTP sink, the
drain held back), admits a campaign of BENCH_PAGE_RECIPIENTS (default
10,000) so that each has a recipient record, signs one link per recipient
with the daemon's own key, and runs bench/page_load (C, libevent: every
client a keep-alive connection in a closed loop) first with GET, then
with POST choice=weekly (or BENCH_PAGE_CHOICE), which the writer
thread applies (preference, re-timing the recipient's queued job, commit)
before the answer.  Each runs twice: paced, the 200 clients together
offering a fixed rate (an open loop: the latency a reader sees at that
load), and saturated, each client sending as soon as answered (a closed
loop: the most the daemon answers, where latency is clients / rate).
Prints p50/p99/max and the rate; asserts nothing about time.

Environment: MANNERSD, BENCH_PAGE_RECIPIENTS, BENCH_PAGE_CLIENTS (200),
BENCH_PAGE_GETS (40000), BENCH_PAGE_POSTS (10000), BENCH_PAGE_GET_RATE
(2000/s), BENCH_PAGE_POST_RATE (200/s), BENCH_PAGE_CHOICE (weekly),
BENCH_SUMMARY.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gen_campaign  # noqa: E402
import run  # noqa: E402

N = int(os.environ.get("BENCH_PAGE_RECIPIENTS", "10000"))
CLIENTS = int(os.environ.get("BENCH_PAGE_CLIENTS", "200"))
GETS = int(os.environ.get("BENCH_PAGE_GETS", "40000"))
POSTS = int(os.environ.get("BENCH_PAGE_POSTS", "10000"))
GET_RATE = int(os.environ.get("BENCH_PAGE_GET_RATE", "2000"))
POST_RATE = int(os.environ.get("BENCH_PAGE_POST_RATE", "200"))
CHOICE = os.environ.get("BENCH_PAGE_CHOICE", "weekly")
LOAD_SRC = os.path.join(HERE, "page_load.c")
LOAD_BIN = os.path.join(ROOT, "build/bench/page_load")
TARGET_P99_MS = 5.0


def build_load():
    os.makedirs(os.path.dirname(LOAD_BIN), exist_ok=True)
    pc = subprocess.run(["pkg-config", "--cflags", "--libs", "libevent"],
                        capture_output=True, text=True, check=True)
    subprocess.run([os.environ.get("CC", "cc"), "-std=gnu11", "-O2",
                    "-D_GNU_SOURCE", "-Wall", "-o", LOAD_BIN, LOAD_SRC] +
                   shlex.split(pc.stdout), check=True)
    return LOAD_BIN


def token(key, rid, lid, issued):
    """A link token as lib/token.h lays it out."""
    head = struct.pack(">BBIQI", 1, hashlib.sha256(key).digest()[0],
                       issued, rid, lid)
    raw = head + hmac.new(key, head, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def load(port, tokens, n, body=None, rate=None):
    args = [LOAD_BIN, "-p", str(port), "-c", str(CLIENTS), "-n", str(n)]
    if rate is not None:
        args += ["-r", str(rate)]
    if body is not None:
        args += ["-b", body]
    p = subprocess.run(args + [tokens], capture_output=True, text=True)
    run.log("  " + p.stdout.strip())
    f = p.stdout.split()
    if len(f) < 16:
        raise SystemExit("bench: page_load: " + p.stderr)
    return {"requests": int(f[1]), "errors": int(f[3]), "rate": float(
        f[7].rstrip("/s")), "p50": float(f[9]), "p99": float(f[12]),
        "max": float(f[15])}


def main():
    tmp = tempfile.mkdtemp(prefix="manners-page-bench-")
    sink = daemon = None
    try:
        run.log("unsubscribe page benchmark: %d clients, %d recipients "
                "(load average %.2f on %d CPUs)" % (
                    CLIENTS, N, os.getloadavg()[0], os.cpu_count()))
        build_load()
        sink = run.Sink(tmp).start()
        daemon = run.Daemon(tmp, sink.port).start()
        port = int(re.search(r"public_listen = 127.0.0.1:(\d+)",
                             open(daemon.conf).read()).group(1))
        doc = os.path.join(tmp, "page.xml")
        with open(doc, "wb") as f:
            gen_campaign.generate(f, N, "page-bench", "bench.example.com",
                                  run.expires())
        t0, t1, code, answer = run.submit(daemon.sock, doc)
        run.check_answer(code, answer, "the page campaign")
        with open(os.path.join(tmp, "secret")) as f:
            key = bytes.fromhex([x.strip() for x in f if x.strip() and
                                 not x.startswith("#")][-1])
        now = int(time.time())
        tokens = os.path.join(tmp, "tokens")
        with open(tokens, "w") as f:
            for rid in range(1, N + 1):
                f.write(token(key, rid, 1, now) + "\n")
        run.log("GET /u/TOKEN (German page, the reader's state read), "
                "paced at %d/s..." % GET_RATE)
        get = load(port, tokens, min(GETS, GET_RATE * 10), rate=GET_RATE)
        run.log("  saturated...")
        gets = load(port, tokens, GETS)
        body = "choice=" + CHOICE
        run.log("POST /u/TOKEN %s (applied and committed by the writer, "
                "queued job re-timed), paced at %d/s..." % (body, POST_RATE))
        post = load(port, tokens, min(POSTS, POST_RATE * 10), body,
                    rate=POST_RATE)
        run.log("  saturated...")
        posts = load(port, tokens, POSTS, body)
        if not daemon.alive():
            raise SystemExit("bench: mannersd died:\n" + daemon.logtail())
        errs = sum(x["errors"] for x in (get, gets, post, posts))
        rows = [
            ("page GET p99, %d clients at %d/s" % (CLIENTS, GET_RATE),
             "%.2f ms" % get["p99"], "<= 5 ms", get["p99"] <= TARGET_P99_MS),
            ("  p50 / max", "%.2f / %.2f ms" % (get["p50"], get["max"]), "",
             None),
            ("page GET saturated: rate, p99", "%s/s, %.2f ms" % (
                run.fmt_int(gets["rate"]), gets["p99"]), "", None),
            ("page POST p99, %d clients at %d/s" % (CLIENTS, POST_RATE),
             "%.2f ms" % post["p99"], "<= 5 ms",
             post["p99"] <= TARGET_P99_MS),
            ("  p50 / max", "%.2f / %.2f ms" % (post["p50"], post["max"]),
             "", None),
            ("page POST saturated: rate, p99", "%s/s, %.2f ms" % (
                run.fmt_int(posts["rate"]), posts["p99"]), "", None),
            ("errors", "%d" % errs, "0", errs == 0),
        ]
        run.print_table(rows)
        summary = os.environ.get("BENCH_SUMMARY")
        if summary:
            with open(summary, "w") as f:
                json.dump({"get": get, "post": post, "get_sat": gets,
                           "post_sat": posts, "clients": CLIENTS,
                           "get_rate": GET_RATE, "post_rate": POST_RATE}, f)
        return 0
    finally:
        if daemon is not None:
            daemon.stop()
        if sink is not None:
            sink.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
