"""Feedback intake throughput: POST /v1/feedback on a mix of DSN, ARF,
mailto: unsubscribes and auto-replies (issue 15, target >= 2,000
messages/s on this 2-core machine).

A campaign is sent first to N recipients (into smtp-sink), so that a
share of the messages carry real tokens and are attributed, applied and
committed like real feedback; the rest are the shapes of tests/feedback/
whose tokens do not verify.  CLIENTS threads keep one connection each.

  BENCH_FEEDBACK_N        messages to post (default 20000)
  BENCH_FEEDBACK_CLIENTS  parallel connections (default 4)
  BENCH_SUMMARY           write {"feedback_msgs_per_s": ...} there
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from common import UnixHTTPConnection, free_port  # noqa: E402

MANNERSD = os.environ.get("MANNERSD", os.path.join(ROOT,
                                                    "build/default/mannersd"))
N = int(os.environ.get("BENCH_FEEDBACK_N", "20000"))
CLIENTS = int(os.environ.get("BENCH_FEEDBACK_CLIENTS", "4"))
RCPTS = 500
TARGET = 2000.0

CONF = """[daemon]
socket = {d}/control.sock
state_dir = {d}/state
secret_file = {d}/secret
public_listen = 127.0.0.1:{pub}
public_url = http://127.0.0.1:{pub}
hostname = bench.manners.invalid
unsubscribe_mailto = unsub@news.example.com
[smtp]
url = smtp://127.0.0.1:{smtp}
rate = unlimited
domain_rate = unlimited
concurrency = 4
[caps]
per_recipient = unlimited
min_gap = 0
[feedback]
pause_complaint_rate = 0
pause_bounce_rate = 0
"""


def request(conn, method, path, body=None, ctype=None):
    headers = {"Content-Type": ctype} if ctype else {}
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    return r.status, r.read()


def campaign(n):
    to = "\n".join("<to>r%04d@example.org</to>" % i for i in range(n))
    return ("<campaign id=\"bench-fb\" list=\"news.example.com\"><from>"
            "news@example.com</from><subject>Hi</subject><text>Hi "
            "{{unsubscribe_url}}</text><recipients>%s</recipients>"
            "</campaign>" % to).encode()


def tokens_from_sink(path):
    """The link tokens of the messages smtp-sink wrote (-d)."""
    toks = set()
    for root, _, files in os.walk(path):
        for f in files:
            with open(os.path.join(root, f), "rb") as fh:
                toks.update(re.findall(rb"/u/([A-Za-z0-9_-]{46})>",
                                       fh.read()))
    return sorted(t.decode() for t in toks)


def mix(tokens):
    """The messages to post: one in four attributed, the rest shapes."""
    samples = []
    sdir = os.path.join(ROOT, "tests", "feedback")
    for f in sorted(os.listdir(sdir)):
        with open(os.path.join(sdir, f), "rb") as fh:
            samples.append(fh.read())
    out = []
    for i in range(N):
        if i % 4 == 0 and tokens:
            tok = tokens[(i // 4) % len(tokens)]
            if i % 8 == 0:
                out.append(("From: fbl@isp.example\r\nSubject: report\r\n"
                            "MIME-Version: 1.0\r\nContent-Type: multipart/"
                            "report; report-type=feedback-report; boundary=b"
                            "\r\n\r\n--b\r\nContent-Type: message/feedback-"
                            "report\r\n\r\nFeedback-Type: abuse\r\n\r\n--b\r\n"
                            "Content-Type: text/rfc822-headers\r\n\r\n"
                            "List-Unsubscribe: <http://x/u/%s>\r\n\r\n--b--"
                            "\r\n" % tok).encode())
            else:
                out.append(("From: r@example.org\r\nTo: unsub@news.example."
                            "com\r\nSubject: unsubscribe %s\r\n\r\nx\r\n"
                            % tok).encode())
        else:
            out.append(samples[i % len(samples)])
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="manners-fbbench-")
    os.chmod(tmp, 0o711)   # smtp-sink writes the messages as nobody
    sinkdir = os.path.join(tmp, "sink")
    os.makedirs(sinkdir)
    os.chmod(sinkdir, 0o777)
    smtp = free_port()
    sink = subprocess.Popen(["/usr/sbin/smtp-sink", "-u", "nobody", "-d",
                             sinkdir + "/%M.", "127.0.0.1:%d" % smtp, "64"],
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    conf = os.path.join(tmp, "manners.conf")
    with open(conf, "w") as f:
        f.write(CONF.format(d=tmp, pub=free_port(), smtp=smtp))
    log = open(os.path.join(tmp, "mannersd.log"), "wb")
    d = subprocess.Popen([MANNERSD, "-c", conf], stdout=log, stderr=log)
    sock = os.path.join(tmp, "control.sock")
    try:
        for _ in range(200):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        c = UnixHTTPConnection(sock)
        st, _ = request(c, "POST", "/v1/campaigns", campaign(RCPTS),
                        "application/xml")
        assert st in (200, 202), st
        for _ in range(600):
            toks = tokens_from_sink(sinkdir)
            if len(toks) >= RCPTS:
                break
            time.sleep(0.1)
        if len(toks) < RCPTS:
            print("feedback bench: only %d of %d messages reached the "
                  "sink; see %s" % (len(toks), RCPTS, tmp))
        msgs = mix(toks)
        kinds = {}
        lock = threading.Lock()
        errors = []

        def client(part):
            conn = UnixHTTPConnection(sock)
            local = {}
            for m in part:
                st, body = request(conn, "POST", "/v1/feedback", m,
                                   "message/rfc822")
                if st != 200:
                    errors.append((st, body[:200]))
                    continue
                k = json.loads(body)["kind"]
                local[k] = local.get(k, 0) + 1
            with lock:
                for k, v in local.items():
                    kinds[k] = kinds.get(k, 0) + v

        parts = [msgs[i::CLIENTS] for i in range(CLIENTS)]
        threads = [threading.Thread(target=client, args=(p,))
                   for p in parts]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        dt = time.monotonic() - t0
        rate = len(msgs) / dt
        print("feedback intake: %d messages in %.2f s: %.0f msg/s "
              "(%d clients; %d tokens from %d sent; by kind %s; %d errors)"
              % (len(msgs), dt, rate, CLIENTS, len(toks), RCPTS,
                 json.dumps(kinds, sort_keys=True), len(errors)))
        print("feedback intake target >= %.0f msg/s: %s" % (
            TARGET, "met" if rate >= TARGET else "NOT MET"))
        if errors:
            print("first errors: %r" % errors[:3])
        if os.environ.get("BENCH_SUMMARY"):
            with open(os.environ["BENCH_SUMMARY"], "w") as f:
                json.dump({"feedback_msgs_per_s": rate,
                           "errors": len(errors)}, f)
    finally:
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=60)
        sink.terminate()
        sink.wait()
        if os.environ.get("BENCH_KEEP") is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
