#!/usr/bin/python3
"""manners load test (issue 8, item 3; run by `make load`).

A private mannersd (rate and domain_rate unlimited, concurrency 4,
[caps] per_recipient = 3/30d, min_gap = 0, max_request = 64m) drains
into Postfix's smtp-sink, which appends every transaction (envelope
recipients included) to a dump file with -D; without Postfix, or with
LOAD_SINK=python, into tests/load/sink.py, a small asyncio SMTP server
that records the same.  Meanwhile SUBMITTERS
threads each submit CAMPAIGNS campaigns of RECIPIENTS recipients over
the control socket (http.client over AF_UNIX), drawn from one shared pool
of POOL addresses, so they overlap heavily and most recipients hit the
cap.  After every round of SUBMITTERS submissions the daemon's RSS
(VmRSS, with RssAnon and RssFile, from /proc/PID/status) is sampled.

Checked, each printed as a PASS or FAIL line:
  - no HTTP 5xx answer (and every submission answered 2xx);
  - no recipient received more than 3 messages (counted at the server),
    and each message's To: is its envelope recipient;
  - no (campaign, recipient) delivered twice, and one Message-ID per
    (campaign, recipient); each campaign's deliveries == its "sent";
  - per campaign: sent + failed + queued + cancelled + dropped ==
    accepted + deferred, and at the end queued (of what is due) == 0;
  - the daemon's RSS is flat after the first round:
    last <= first round * 1.3 + 20 MB;
  - the daemon is still healthy and stops cleanly (SIGTERM, exit 0),
    with no sanitizer report in its log (`make load SANITIZE=1`).
Prints the admission rate (recipients decided per second while
submitting) and the delivery rate (messages per second at the server).
Exits 1 if any check fails, 2 if the test could not run.

Environment: MANNERSD (default build/default/mannersd), LOAD_SUBMITTERS
(8), LOAD_CAMPAIGNS (50 per submitter), LOAD_RECIPIENTS (1000),
LOAD_POOL (5000), LOAD_SEED (8), LOAD_KEEP=1 keeps the temporary
directory.
"""
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from xml.sax.saxutils import escape

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from common import UnixHTTPConnection, free_port  # noqa: E402
MANNERSD = os.environ.get("MANNERSD",
                          os.path.join(ROOT, "build/default/mannersd"))
SUBMITTERS = int(os.environ.get("LOAD_SUBMITTERS", "8"))
CAMPAIGNS = int(os.environ.get("LOAD_CAMPAIGNS", "50"))
RECIPIENTS = int(os.environ.get("LOAD_RECIPIENTS", "1000"))
POOL = int(os.environ.get("LOAD_POOL", "5000"))
SEED = int(os.environ.get("LOAD_SEED", "8"))
KEEP = os.environ.get("LOAD_KEEP") == "1"
CAP = 3
SMTP_SINK = "/usr/sbin/smtp-sink"
DRAIN_TIMEOUT = 600

CONF = """\
; written by tests/load/load.py
[daemon]
socket = {tmp}/control.sock
state_dir = {tmp}/state
secret_file = {tmp}/secret
public_listen = 127.0.0.1:{public}
public_url = http://127.0.0.1:{public}
hostname = load.manners.invalid
max_request = 64m
[smtp]
url = smtp://127.0.0.1:{smtp}
concurrency = 4
rate = unlimited
domain_rate = unlimited
retry_min = 1s
retry_max = 5s
timeout = 30s
shutdown_timeout = 10s
[caps]
per_recipient = {cap}/30d
min_gap = 0
remote_images = ignore
"""

TEXT = ("Hello {{name|there}},\n\nThe load test's news, number %s.\n\n"
        "Unsubscribe: {{unsubscribe_url}}\n")
HTML = ("<html><body><h1>News %s</h1><p>Hello {{name|there}}, here is "
        "what happened this month.</p><p><a href=\"{{unsubscribe_url}}\">"
        "Unsubscribe</a></p></body></html>")




class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.status = {}          # HTTP status -> count
        self.bad = []             # (what, status, body) of non-2xx answers
        self.reports = {}         # campaign id -> submission answer
        self.done = 0
        self.rss = []             # (submissions done, VmRSS, RssAnon, RssFile) kB


def call(sock, method, path, body=None, res=None):
    c = UnixHTTPConnection(sock, 300)
    try:
        headers = {}
        if body is not None:
            headers["Content-Type"] = "application/xml"
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        status = r.status
    finally:
        c.close()
    if res is not None:
        with res.lock:
            res.status[status] = res.status.get(status, 0) + 1
            if status >= 300:
                res.bad.append(("%s %s" % (method, path), status,
                                data[:300].decode(errors="replace")))
    try:
        return status, json.loads(data)
    except ValueError:
        return status, data.decode(errors="replace")


def campaign_xml(cid, rcpts):
    to = "".join("    <to name=\"%s\">%s</to>\n" % (escape(n), escape(a))
                 for n, a in rcpts)
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<campaign id=\"%s\" list=\"news.example.com\">\n"
            "  <from name=\"Load Test\">news@example.com</from>\n"
            "  <subject>Load test %s</subject>\n"
            "  <text><![CDATA[%s]]></text>\n"
            "  <html><![CDATA[%s]]></html>\n"
            "  <recipients>\n%s  </recipients>\n</campaign>\n" % (
                cid, cid, TEXT % cid, HTML % cid, to)).encode()


def proc_status(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                out[k] = int(v.split()[0])
    return out


def submitter(n, sock, pool, res, pid, t_first):
    rnd = random.Random(SEED * 1000 + n)
    for k in range(CAMPAIGNS):
        cid = "load-%d-%02d" % (n, k)
        rcpts = rnd.sample(pool, RECIPIENTS)
        body = campaign_xml(cid, rcpts)
        with res.lock:
            if t_first[0] is None:
                t_first[0] = time.monotonic()
        try:
            status, r = call(sock, "POST", "/v1/campaigns", body, res)
        except Exception as e:  # the daemon dropped the connection
            with res.lock:
                res.status["error"] = res.status.get("error", 0) + 1
                res.bad.append(("POST " + cid, "error", repr(e)))
            status, r = None, None
        with res.lock:
            if status is not None and status < 300:
                res.reports[cid] = r
            res.done += 1
            if res.done % SUBMITTERS == 0:
                st = proc_status(pid)
                res.rss.append((res.done, st.get("VmRSS", 0),
                                st.get("RssAnon", 0), st.get("RssFile", 0)
                                + st.get("RssShmem", 0)))


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def sanitized(pid):
    """Whether the process runs with AddressSanitizer's runtime."""
    try:
        with open("/proc/%d/maps" % pid) as f:
            return "libasan" in f.read()
    except OSError:
        return False


class Sink:
    """The SMTP server: Postfix's smtp-sink with -D (every transaction,
    envelope recipients included, appended whole to one dump file), or,
    without Postfix or with LOAD_SINK=python, tests/load/sink.py.  A
    thread polls the dump file to time the deliveries."""

    def __init__(self, tmp, port):
        self.port = port
        self.dir = os.path.join(tmp, "sink")
        os.chmod(tmp, 0o711)
        os.mkdir(self.dir)
        os.chmod(self.dir, 0o777)     # smtp-sink writes as "nobody"
        self.out = os.path.join(self.dir, "deliveries")
        self.python = (os.environ.get("LOAD_SINK") == "python" or
                       not os.access(SMTP_SINK, os.X_OK))
        self.name = "sink.py" if self.python else "smtp-sink"
        self.proc = None
        self.times = []               # (time, deliveries so far)
        self.stopping = False
        self.poller = None

    def start(self):
        if self.python:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "sink.py"),
                 str(self.port), self.out], stdout=subprocess.PIPE)
            if self.proc.stdout.readline().strip() != b"ready":
                return False
        else:
            user = ["-u", "nobody"] if os.geteuid() == 0 else []
            self.proc = subprocess.Popen(
                [SMTP_SINK] + user + ["-D", self.out,
                                      "127.0.0.1:%d" % self.port, "1024"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            end = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", self.port),
                                             1).close()
                    break
                except OSError:
                    if self.proc.poll() is not None or \
                            time.monotonic() > end:
                        return False
                    time.sleep(0.05)
        self.poller = threading.Thread(target=self._poll, daemon=True)
        self.poller.start()
        return True

    def _poll(self):
        mark = b"\t" if self.python else b"X-Client-Addr: "
        pos, n, tail = 0, 0, b""
        while not self.stopping:
            try:
                with open(self.out, "rb") as f:
                    f.seek(pos)
                    chunk = f.read()
            except OSError:
                chunk = b""
            if chunk:
                pos += len(chunk)
                data = tail + chunk
                if self.python:
                    k = chunk.count(b"\n")
                else:
                    k = data.count(mark) - tail.count(mark)
                tail = data[-len(mark):]
                if k:
                    n += k
                    self.times.append((time.time(), n))
            time.sleep(0.05)

    def stop(self):
        self.stopping = True
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait()

    def rows(self):
        """[(time, recipient, Message-ID, bytes)] one per recipient of each
        message, and the messages whose To: is not their recipient."""
        rows, incoherent = [], []
        if not os.path.exists(self.out):
            return rows, incoherent
        if self.python:
            with open(self.out) as f:
                for line in f:
                    p = line.rstrip("\n").split("\t")
                    if len(p) == 4:
                        rows.append((float(p[0]), p[1].lower(), p[2],
                                     int(p[3])))
            return rows, incoherent
        with open(self.out, "rb") as f:
            data = f.read()
        recs = data.split(b"X-Client-Addr: ")[1:]
        # the poller's times, one per message in order
        stamps = []
        prev = 0
        for t, n in self.times:
            stamps += [t] * (n - prev)
            prev = n
        stamps += [time.time()] * (len(recs) - len(stamps))
        for i, rec in enumerate(recs):
            head = rec.split(b"\n\n", 1)[0].decode(errors="replace")
            rcpts = re.findall(r"^X-Rcpt-Args: <([^>]*)>", head, re.M)
            m = re.search(r"^Message-ID:[ \t]*(\S+)", head, re.M | re.I)
            mid = m.group(1) if m else "-"
            to = re.search(r"^To:.*<([^>]*)>", head, re.M | re.I)
            for r in rcpts:
                rows.append((stamps[i], r.lower(), mid, len(rec)))
            if not to or [to.group(1).lower()] != [r.lower() for r in rcpts]:
                incoherent.append((rcpts, to and to.group(1)))
        return rows, incoherent


def campaign_of(msgid):
    # <HASH.CAMPAIGN@hostname>
    m = re.match(r"<[^.]+\.(.+)@[^@]+>$", msgid)
    return m.group(1) if m else None


def main():
    if not os.access(MANNERSD, os.X_OK):
        print("load: no daemon at %s (run `make load`)" % MANNERSD)
        return 2
    tmp = tempfile.mkdtemp(prefix="manners-load-")
    smtp_port, public = free_port(), free_port()
    conf = os.path.join(tmp, "manners.conf")
    with open(conf, "w") as f:
        f.write(CONF.format(tmp=tmp, smtp=smtp_port, public=public, cap=CAP))
    sock = os.path.join(tmp, "control.sock")
    sink = Sink(tmp, smtp_port)
    if not sink.start():
        print("load: the SMTP sink did not start")
        return 2
    logf = open(os.path.join(tmp, "mannersd.log"), "ab")
    d = subprocess.Popen([MANNERSD, "-c", conf], stdout=logf, stderr=logf,
                         stdin=subprocess.DEVNULL)
    fails = []

    def check(ok, what):
        print("%s %s" % ("PASS" if ok else "FAIL", what), flush=True)
        if not ok:
            fails.append(what)

    try:
        end = time.monotonic() + 15
        while True:
            try:
                if call(sock, "GET", "/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            if d.poll() is not None or time.monotonic() > end:
                print("load: mannersd did not start; see %s" % tmp)
                return 2
            time.sleep(0.05)
        rss0 = proc_status(d.pid)
        pool = [("Reader %d" % i, "reader%d@d%d.example.org" % (i, i % 50))
                for i in range(POOL)]
        res = Results()
        total = SUBMITTERS * CAMPAIGNS
        print("load: %d submitters x %d campaigns x %d recipients from a "
              "pool of %d; cap %d per recipient; daemon pid %d" % (
                  SUBMITTERS, CAMPAIGNS, RECIPIENTS, POOL, CAP, d.pid),
              flush=True)
        t_first = [None]
        t0 = time.monotonic()
        threads = [threading.Thread(target=submitter,
                                    args=(n, sock, pool, res, d.pid, t_first))
                   for n in range(SUBMITTERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        t_sub = time.monotonic() - t0
        decided = sum(r["recipients"] for r in res.reports.values())
        accepted = sum(r["accepted"] for r in res.reports.values())
        deferred = sum(r["deferred"] for r in res.reports.values())
        rejected = {}
        for r in res.reports.values():
            for k, v in r["rejected"].items():
                rejected[k] = rejected.get(k, 0) + v
        print("submissions: %d in %.1f s, answers %s" % (
            total, t_sub, dict(sorted(res.status.items(), key=str))))
        print("admission: %d recipients decided in %.1f s = %.0f "
              "recipients/s (%.1f campaigns/s); accepted %d, deferred %d, "
              "rejected %s" % (decided, t_sub, decided / t_sub,
                               total / t_sub, accepted, deferred, rejected))

        # Wait for the drain: every due job sent.
        due = accepted
        t_drain = time.monotonic()
        last, counts = -1, {}
        while True:
            counts = {}
            for cid in res.reports:
                st, r = call(sock, "GET", "/v1/campaigns/" + cid, None, res)
                if st == 200:
                    counts[cid] = r["counts"]
            sent = sum(c["sent"] + c["failed"] for c in counts.values())
            pending = sum(c["queued"] - c["queued_deferred"]
                          for c in counts.values())
            if pending == 0 and sent >= due:
                break
            if d.poll() is not None:
                print("load: mannersd died (exit %s)" % d.returncode)
                return 2
            if time.monotonic() - t_drain > DRAIN_TIMEOUT:
                print("load: the drain did not finish in %d s" % DRAIN_TIMEOUT)
                break
            if sent != last:
                last = sent
            time.sleep(1.0)
        rss_end = proc_status(d.pid)
        cpu_d, cpu_s = cpu_seconds(d.pid), cpu_seconds(sink.proc.pid)
        time.sleep(0.5)  # the sink writes its last lines
        rows, incoherent = sink.rows()

        # Figures
        if rows:
            ts = sorted(r[0] for r in rows)
            span = ts[-1] - ts[0]
            print("delivery: %d messages in %.1f s = %.0f messages/s "
                  "(first to last at %s; avg %.0f bytes)" % (
                      len(rows), span, (len(rows) - 1) / span if span else 0,
                      sink.name, sum(r[3] for r in rows) / len(rows)))
        print("cpu: mannersd %.1f s, SMTP sink %.1f s (of %.1f s in all; "
              "%d cores)" % (cpu_d, cpu_s, time.monotonic() - t0,
                             os.cpu_count()))
        mb = lambda kb: kb / 1024.0  # noqa: E731
        print("rss at start: VmRSS %.1f MB (anon %.1f MB)" % (
            mb(rss0.get("VmRSS", 0)), mb(rss0.get("RssAnon", 0))))
        print("rss after each round of %d submissions, MB "
              "(VmRSS / RssAnon / RssFile+Shmem):" % SUBMITTERS)
        for i in range(0, len(res.rss), 10):
            print("  " + "  ".join("%3d:%.1f/%.1f/%.1f" % (
                n, mb(v), mb(a), mb(f)) for n, v, a, f in res.rss[i:i + 10]))
        print("rss after the drain: VmRSS %.1f MB (anon %.1f MB)" % (
            mb(rss_end.get("VmRSS", 0)), mb(rss_end.get("RssAnon", 0))))

        # Checks
        fives = {k: v for k, v in res.status.items()
                 if k == "error" or (isinstance(k, int) and k >= 500)}
        check(not fives, "no 5xx answers (or dropped connections): %s"
              % (fives or "none"))
        check(len(res.reports) == total,
              "every submission answered 2xx: %d of %d%s" % (
                  len(res.reports), total,
                  "" if not res.bad else "; first refusals: %s" % res.bad[:3]))
        per_rcpt, per_pair, ids, per_camp = {}, {}, {}, {}
        for _, rcpt, mid, _ in rows:
            cid = campaign_of(mid)
            per_rcpt[rcpt] = per_rcpt.get(rcpt, 0) + 1
            per_pair[(cid, rcpt)] = per_pair.get((cid, rcpt), 0) + 1
            ids.setdefault((cid, rcpt), set()).add(mid)
            per_camp[cid] = per_camp.get(cid, 0) + 1
        top = max(per_rcpt.values()) if per_rcpt else 0
        hist = {}
        for v in per_rcpt.values():
            hist[v] = hist.get(v, 0) + 1
        print("messages per recipient at the server: %s (%d recipients)" % (
            dict(sorted(hist.items())), len(per_rcpt)))
        check(not incoherent, "every message's To: header is its envelope "
              "recipient: %d differ%s" % (len(incoherent), "" if not
                                          incoherent else " e.g. %s"
                                          % incoherent[:3]))
        check(top <= CAP, "no recipient above the cap of %d: most to one "
              "recipient %d" % (CAP, top))
        twice = [k for k, v in per_pair.items() if v > 1]
        check(not twice, "no (campaign, recipient) delivered twice: %d%s" % (
            len(twice), "" if not twice else " e.g. %s" % twice[:3]))
        unknown = [c for c in per_camp if c not in res.reports]
        check(not unknown, "every delivery belongs to a submitted campaign "
              "(by Message-ID): %d unknown" % len(unknown))
        multi = [k for k, v in ids.items() if len(v) > 1]
        check(not multi, "one Message-ID per (campaign, recipient): %d with "
              "more" % len(multi))
        unbalanced, mismatch, pending = [], [], 0
        tot = dict(sent=0, failed=0, queued=0, cancelled=0, dropped=0)
        for cid, r in res.reports.items():
            c = counts.get(cid)
            if c is None:
                unbalanced.append((cid, "no status"))
                continue
            for k in tot:
                tot[k] += c[k]
            lhs = c["sent"] + c["failed"] + c["queued"] + c["cancelled"] + \
                c["dropped"]
            if lhs != r["accepted"] + r["deferred"] or \
                    c["accepted"] != r["accepted"] or \
                    c["deferred"] != r["deferred"]:
                unbalanced.append((cid, c, r["accepted"], r["deferred"]))
            if per_camp.get(cid, 0) != c["sent"]:
                mismatch.append((cid, per_camp.get(cid, 0), c["sent"]))
            pending += c["queued"] - c["queued_deferred"]
        print("counters summed over campaigns: %s; accepted %d + deferred %d"
              % (tot, accepted, deferred))
        check(not unbalanced, "per campaign sent + failed + queued + "
              "cancelled + dropped == accepted + deferred: %d unbalanced%s" % (
                  len(unbalanced), "" if not unbalanced else
                  " e.g. %s" % unbalanced[:2]))
        check(pending == 0, "the drain finished: %d due jobs still queued"
              % pending)
        check(not mismatch and len(rows) == tot["sent"],
              "delivered exactly once: %d deliveries at the server, %d sent "
              "in the counters, %d campaigns differ%s" % (
                  len(rows), tot["sent"], len(mismatch),
                  "" if not mismatch else " e.g. %s" % mismatch[:3]))
        if res.rss:
            first = res.rss[0][1]
            lastv = res.rss[-1][1]
            limit = first * 1.3 + 20 * 1024
            # ASan keeps freed memory in quarantine (256 MB by default), so
            # under SANITIZE=1 the RSS grows without a leak: report only.
            asan = sanitized(d.pid)
            what = ("VmRSS flat after the first round: first round %.1f MB, "
                    "last %.1f MB, max %.1f MB (limit %.1f MB)" % (
                        mb(first), mb(lastv),
                        mb(max(x[1] for x in res.rss)), mb(limit)))
            if asan:
                print("INFO (AddressSanitizer build, not checked) " + what)
            else:
                check(lastv <= limit, what)
            firsta, lasta = res.rss[0][2], res.rss[-1][2]
            print("INFO heap (RssAnon): first round %.1f MB, last %.1f MB, "
                  "max %.1f MB" % (mb(firsta), mb(lasta),
                                   mb(max(x[2] for x in res.rss))))
        check(call(sock, "GET", "/v1/health")[0] == 200,
              "the daemon still answers GET /v1/health")
    finally:
        rc = None
        if d.poll() is None:
            d.send_signal(signal.SIGTERM)
            try:
                rc = d.wait(timeout=60)
            except subprocess.TimeoutExpired:
                d.kill()
                d.wait()
        else:
            rc = d.returncode
        sink.stop()
        logf.close()
    check(rc == 0, "mannersd stopped cleanly on SIGTERM (exit %s)" % rc)
    with open(os.path.join(tmp, "mannersd.log"), errors="replace") as f:
        log = f.read()
    marks = [m for m in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                         "runtime error:", "SUMMARY: UndefinedBehavior")
             if m in log]
    check(not marks, "no sanitizer report in mannersd.log: %s"
          % (marks or "none"))
    if fails or KEEP:
        print("load: kept %s (mannersd.log, sink/deliveries)" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    print("load: %s (%d checks failed)" % ("FAIL" if fails else "PASS",
                                           len(fails)))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
