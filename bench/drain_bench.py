#!/usr/bin/python3
"""manners drain benchmark (issue 5, "Benchmark"; called by bench/run.py).

1. Throughput.  Postfix's smtp-sink on a free loopback port.  The raw
   ceiling is bench/drain_raw (libcurl multi, 4 reused easy handles) sending
   the very bytes mannersd renders (captured from the daemon first), N
   times, as fast as it can.  Then a private mannersd (rate and
   domain_rate unlimited, concurrency 4) drains one campaign of N
   recipients on 100 domains, queued whole before its <send-after>; the
   rate is measured from the first poll of GET /v1/campaigns/ID (every
   50 ms) that shows a sent message to the one that shows all of them.
   The raw sender runs before and after the daemon; the ratio is against
   their mean.  Done with ~2 KB messages (20,000) and ~100 KB (5,000).
2. Cadence.  An in-process asyncio SMTP server records when each MAIL
   command arrives.  rate = 200/s for 6,000 recipients (30 s): achieved
   rate (n-1)/(last-first) against 200, and the largest gap between
   consecutive sends against twice the interval.  A second run adds
   domain_rate = 20/s on 20 domains (recipients grouped by domain, so the
   domain limit binds and the scan must skip held domains): the largest
   count of one domain in any 1-second window against 20.
3. A table: metric, value, target, ok.

It asserts nothing about time; it exits non-zero only when the benchmark
itself could not run (a build failure, the daemon dying, a refused
submission, messages missing).

Environment:
  MANNERSD               the daemon (default build/default/mannersd)
  BENCH_DRAIN_N          messages of ~2 KB (default 20000)
  BENCH_DRAIN_N_BIG      messages of ~100 KB (default 5000)
  BENCH_DRAIN_CADENCE_S  seconds of sending at 200/s (default 30)
  BENCH_DRAIN_ONLY       comma list of parts: throughput,big,cadence,domain
                         (default: all)
  BENCH_DRAIN_PERF       a file prefix: `perf record -g` mannersd during each
                         throughput run into PREFIX-2k.data / PREFIX-100k.data
  BENCH_DRAIN_KEEP       1: keep the temporary directory
"""
import asyncio
import datetime
import http.client
import json
import os
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
ROOT = os.path.dirname(HERE)
MANNERSD = os.environ.get("MANNERSD",
                          os.path.join(ROOT, "build/default/mannersd"))
RAW_SRC = os.path.join(HERE, "drain_raw.c")
RAW_BIN = os.path.join(ROOT, "build/bench/drain_raw")
SMTP_SINK = "/usr/sbin/smtp-sink"

N_SMALL = int(os.environ.get("BENCH_DRAIN_N", "20000"))
N_BIG = int(os.environ.get("BENCH_DRAIN_N_BIG", "5000"))
CADENCE_S = float(os.environ.get("BENCH_DRAIN_CADENCE_S", "30"))
ONLY = set(filter(None, os.environ.get(
    "BENCH_DRAIN_ONLY", "throughput,big,cadence,domain").split(",")))
PERF = os.environ.get("BENCH_DRAIN_PERF")
KEEP = os.environ.get("BENCH_DRAIN_KEEP") == "1"

CONCURRENCY = 4
DOMAINS = 100
POLL_S = 0.05
RATE = 200
DOMAIN_RATE = 20
DOMAIN_COUNT = 20

TARGET_RATIO = 0.90
TARGET_RATE_TOL = 0.01

CONF = """\
; mannersd config written by bench/drain_bench.py
[daemon]
socket = {sock}
state_dir = {state}
secret_file = {tmp}/secret
public_listen = 127.0.0.1:{public}
public_url = http://127.0.0.1:{public}
hostname = bench.manners.invalid
max_request = 256m
[smtp]
url = smtp://127.0.0.1:{smtp}
rate = {rate}
domain_rate = {domain_rate}
concurrency = {concurrency}
timeout = 30s
retry_min = 1s
retry_max = 2s
shutdown_timeout = 5s
[caps]
per_recipient = unlimited
min_gap = 0
max_html = 1m
min_text_per_image = 0
remote_images = ignore
"""

TEXT = """Hi {{name|there}},

This is the drain benchmark's campaign.  It says little, at some length,
so that the rendered message is about two kilobytes, as a short newsletter
would be.  Nothing here needs reading.

Unsubscribe: {{unsubscribe_url}}
"""

HTML = """<p>Hi {{name|there}},</p>
<p>This is the drain benchmark's campaign.  It says little, at some length,
so that the rendered message is about two kilobytes, as a short newsletter
would be.</p>
%s<p><a href="{{unsubscribe_url}}">Unsubscribe</a></p>
"""

SMALL_PAD = 560
PARA = ("<p>Padding paragraph %d: the quick brown fox jumps over the lazy "
        "dog, and the lazy dog does not mind at all.</p>\n")


def log(msg=""):
    print(msg, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rfc3339(t):
    return datetime.datetime.fromtimestamp(
        t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def campaign_xml(cid, rcpts, html_pad=0, send_after=None):
    """A campaign document; html_pad: bytes of padding paragraphs."""
    pad, i = [], 0
    while sum(map(len, pad)) < html_pad:
        pad.append(PARA % i)
        i += 1
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n'
             '<campaign id="%s" list="bench.example.com">\n'
             '  <from name="Bench Shop">news@bench.example.com</from>\n'
             '  <subject>Our drain benchmark</subject>\n' % cid]
    if send_after is not None:
        parts.append("  <send-after>%s</send-after>\n" % rfc3339(send_after))
    parts.append("  <text><![CDATA[%s]]></text>\n" % TEXT)
    parts.append("  <html><![CDATA[%s]]></html>\n" % (HTML % "".join(pad)))
    parts.append("  <recipients>\n")
    parts.extend("    <to>%s</to>\n" % escape(a) for a in rcpts)
    parts.append("  </recipients>\n</campaign>\n")
    return "".join(parts).encode()


def spread(n, ndom, prefix="u"):
    """n recipients, recipient i on domain i % ndom."""
    return ["%s%d@d%d.example.org" % (prefix, i, i % ndom) for i in range(n)]


def grouped(n, ndom, prefix="g"):
    """n recipients in blocks of one domain after another."""
    per = -(-n // ndom)
    return ["%s%d@d%d.example.org" % (prefix, i, i // per) for i in range(n)]


# ---------------------------------------------------------------------------
# A small asyncio SMTP server that timestamps each message (MAIL command and
# end of DATA).  Enough of ESMTP for libcurl; fast enough for thousands of
# messages a second.

class SinkProtocol(asyncio.Protocol):
    def __init__(self, sink):
        self.sink = sink
        self.buf = bytearray()
        self.data = None        # bytearray while in DATA
        self.mail_t = None
        self.rcpt = None

    def connection_made(self, transport):
        self.t = transport
        self.t.write(b"220 bench-sink ESMTP\r\n")

    def data_received(self, chunk):
        now = time.monotonic()
        self.buf += chunk
        while self.buf:
            if self.data is not None:
                start = max(0, len(self.data) - 4)
                self.data += self.buf
                self.buf = bytearray()
                end = self.data.find(b"\r\n.\r\n", start)
                if end < 0:
                    return
                rest = self.data[end + 5:]
                body = bytes(self.data[:end + 2])
                self.data = None
                self.buf = bytearray(rest)
                self.sink.record(self.mail_t, now, self.rcpt, body)
                self.t.write(b"250 2.0.0 Ok: queued\r\n")
                continue
            nl = self.buf.find(b"\r\n")
            if nl < 0:
                return
            line = bytes(self.buf[:nl])
            del self.buf[:nl + 2]
            verb = line[:4].upper()
            if verb == b"EHLO":
                self.t.write(b"250-bench-sink\r\n250-8BITMIME\r\n"
                             b"250 PIPELINING\r\n")
            elif verb == b"HELO":
                self.t.write(b"250 bench-sink\r\n")
            elif verb == b"MAIL":
                self.mail_t = now
                self.rcpt = None
                self.t.write(b"250 2.1.0 Ok\r\n")
            elif verb == b"RCPT":
                a = line[8:].strip().decode(errors="replace")
                self.rcpt = a.strip("<>").split(">")[0]
                self.t.write(b"250 2.1.5 Ok\r\n")
            elif verb == b"DATA":
                self.data = bytearray()
                self.t.write(b"354 End data with <CR><LF>.<CR><LF>\r\n")
            elif verb == b"QUIT":
                self.t.write(b"221 2.0.0 Bye\r\n")
                self.t.close()
                return
            else:               # RSET, NOOP, ...
                self.t.write(b"250 2.0.0 Ok\r\n")


class Sink:
    """The server on its own thread; records (mail_t, end_t, rcpt)."""

    def __init__(self):
        self.port = free_port()
        self.lock = threading.Lock()
        self.records = []
        self.keep = 0           # keep the bytes of the next N messages
        self.kept = []
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("the Python SMTP sink did not start")

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(self.loop.create_server(
            lambda: SinkProtocol(self), "127.0.0.1", self.port))
        self.ready.set()
        self.loop.run_forever()

    def record(self, mail_t, end_t, rcpt, body):
        with self.lock:
            self.records.append((mail_t, end_t, rcpt))
            if self.keep > 0:
                self.kept.append(body)
                self.keep -= 1

    def reset(self):
        with self.lock:
            self.records = []
            self.kept = []

    def count(self):
        with self.lock:
            return len(self.records)

    def snapshot(self):
        with self.lock:
            return list(self.records)

    def close(self):
        def stop():
            self.server.close()
            self.loop.stop()
        self.loop.call_soon_threadsafe(stop)
        self.thread.join(5)


# ---------------------------------------------------------------------------
# mannersd

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=60):
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s


class Daemon:
    def __init__(self, tmp, name, smtp_port, rate="unlimited",
                 domain_rate="unlimited"):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir)
        self.sock = os.path.join(self.dir, "control.sock")
        self.conf = os.path.join(self.dir, "manners.conf")
        self.logpath = os.path.join(self.dir, "mannersd.log")
        with open(self.conf, "w") as f:
            f.write(CONF.format(sock=self.sock, tmp=self.dir,
                                state=os.path.join(self.dir, "state"),
                                public=free_port(), smtp=smtp_port,
                                rate=rate, domain_rate=domain_rate,
                                concurrency=CONCURRENCY))
        self.conn = None
        self.logf = open(self.logpath, "ab")
        self.proc = subprocess.Popen([MANNERSD, "-c", self.conf],
                                     stdout=self.logf, stderr=self.logf,
                                     stdin=subprocess.DEVNULL)
        end = time.monotonic() + 15
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("mannersd exited %s; see %s" % (
                    self.proc.returncode, self.logpath))
            try:
                if self.request("GET", "/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > end:
                raise RuntimeError("mannersd did not answer on %s"
                                   % self.sock)
            time.sleep(0.05)

    def request(self, method, path, body=None):
        for attempt in (0, 1):
            try:
                if self.conn is None:
                    self.conn = UnixHTTPConnection(self.sock)
                hdrs = {}
                if body is not None:
                    hdrs["Content-Type"] = "application/xml"
                self.conn.request(method, path, body=body, headers=hdrs)
                r = self.conn.getresponse()
                data = r.read()
                try:
                    return r.status, json.loads(data)
                except ValueError:
                    return r.status, data.decode(errors="replace")
            except (OSError, http.client.HTTPException):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt == 1:
                    raise

    def submit(self, xml):
        code, r = self.request("POST", "/v1/campaigns", xml)
        if code not in (200, 202):
            raise RuntimeError("submission refused: %s %s" % (code, r))
        return r

    def counts(self, cid):
        code, r = self.request("GET", "/v1/campaigns/" + cid)
        if code != 200:
            raise RuntimeError("GET /v1/campaigns/%s: %s %s" % (cid, code, r))
        return r["counts"]

    def cpu(self):
        """User and system CPU seconds of the daemon so far."""
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        tck = os.sysconf("SC_CLK_TCK")
        return int(fields[11]) / tck, int(fields[12]) / tck

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.conn is not None:
            self.conn.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


# ---------------------------------------------------------------------------

def build_raw():
    if (os.path.exists(RAW_BIN) and
            os.path.getmtime(RAW_BIN) >= os.path.getmtime(RAW_SRC)):
        return
    os.makedirs(os.path.dirname(RAW_BIN), exist_ok=True)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libcurl"],
                           check=True, capture_output=True,
                           text=True).stdout.split()
    cmd = ["cc", "-O2", "-Wall", "-o", RAW_BIN, RAW_SRC] + flags
    log("building: " + " ".join(cmd))
    subprocess.run(cmd, check=True)


def wait_until(pred, timeout, what, daemon=None):
    end = time.monotonic() + timeout
    while not pred():
        if daemon is not None and not daemon.alive():
            raise RuntimeError("mannersd died waiting for %s; see %s" % (
                what, daemon.logpath))
        if time.monotonic() > end:
            raise RuntimeError("timed out after %gs waiting for %s" % (
                timeout, what))
        time.sleep(0.02)


def capture_messages(tmp, sink):
    """Render one ~2 KB and one ~100 KB message with mannersd itself."""
    d = Daemon(tmp, "calibrate", sink.port)
    try:
        sink.reset()
        sink.keep = 2
        d.submit(campaign_xml("cal-small", ["cal1@d1.example.org"],
                              html_pad=SMALL_PAD))
        wait_until(lambda: sink.count() >= 1, 20, "the small message", d)
        d.submit(campaign_xml("cal-big", ["cal2@d2.example.org"],
                              html_pad=100 * 1024 - 2300))
        wait_until(lambda: sink.count() >= 2, 20, "the big message", d)
    finally:
        d.stop()
    out = []
    for name, body in zip(("msg-2k.eml", "msg-100k.eml"), sink.kept):
        path = os.path.join(tmp, name)
        with open(path, "wb") as f:
            f.write(body)
        out.append((path, len(body)))
    sink.reset()
    return out


def run_raw(port, msgfile, n):
    p = subprocess.run([RAW_BIN, "smtp://127.0.0.1:%d/bench.invalid" % port,
                        msgfile, str(n), str(CONCURRENCY), str(DOMAINS)],
                       capture_output=True, text=True)
    sys.stdout.write(p.stdout)
    sys.stderr.write(p.stderr)
    if p.returncode != 0:
        raise RuntimeError("drain_raw failed (exit %d)" % p.returncode)
    t = float(p.stdout.split(" in ")[1].split()[0])
    return n / t


def start_perf(pid, out):
    if not shutil.which("perf"):
        log("perf: not installed; no profile")
        return None
    return subprocess.Popen(["perf", "record", "-g", "-F", "999", "-o", out,
                             "-p", str(pid)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop_perf(p, out):
    if p is None:
        return
    p.send_signal(signal.SIGINT)
    try:
        p.wait(30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    log("perf: profile in %s (perf report -i %s --no-children)" % (out, out))


def run_manners(tmp, name, port, n, html_pad, perf_out=None):
    """Queue n recipients before their send-after, then time the drain."""
    d = Daemon(tmp, name, port)
    try:
        lead = 2.0 + n / 20000.0
        send_after = int(time.time() + lead) + 1
        xml = campaign_xml(name, spread(n, DOMAINS), html_pad=html_pad,
                           send_after=send_after)
        t = time.monotonic()
        r = d.submit(xml)
        took = time.monotonic() - t
        if r.get("accepted", 0) + r.get("deferred", 0) != n:
            raise RuntimeError("submission: %s" % r)
        if time.time() >= send_after:
            raise RuntimeError("the submission took %.1fs, past its "
                               "send-after; raise the lead" % took)
        c = d.counts(name)
        if c["sent"] != 0:
            raise RuntimeError("sent before send-after: %s" % c)
        log("%s: %d recipients queued in %.2fs; sending from %s"
            % (name, n, took, rfc3339(send_after)))
        perf = None
        if perf_out:
            perf = start_perf(d.proc.pid, perf_out)
        cpu0 = d.cpu()
        prev_t, first = time.monotonic(), None
        end = time.monotonic() + 60 + n / 100.0
        while True:
            now = time.monotonic()
            c = d.counts(name)
            if c["failed"] or c["retries"]:
                raise RuntimeError("%s: failures during the drain: %s; see "
                                   "%s" % (name, c, d.logpath))
            if first is None and c["sent"] > 0:
                first = (now, c["sent"], prev_t)
            if c["sent"] >= n:
                last = (now, prev_t)
                break
            if not d.alive():
                raise RuntimeError("mannersd died; see %s" % d.logpath)
            if now > end:
                raise RuntimeError("%s: only %d of %d sent" % (
                    name, c["sent"], n))
            prev_t = now
            time.sleep(max(0.0, POLL_S - (time.monotonic() - now)))
        cpu1 = d.cpu()
        stop_perf(perf, perf_out)
    finally:
        d.stop()
    span = last[0] - first[0]
    rate = (n - first[1]) / span
    user, sys_ = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    whole = last[0] - first[2]
    log("%s: %d sent; %d at the first poll that saw any; %.3fs from it "
        "to the last: %.0f msg/s (first to last send within %.2f..%.2fs)"
        % (name, n, first[1], span, rate, last[1] - first[0], whole))
    log("%s: mannersd CPU %.2fs user + %.2fs sys = %.0f us/message, "
        "%.0f%% of one core over %.2fs" % (
            name, user, sys_, (user + sys_) / n * 1e6,
            100.0 * (user + sys_) / whole, whole))
    return rate


def throughput(tmp, msg, n, label, html_pad, results):
    path, size = msg
    port = free_port()
    sink = subprocess.Popen([SMTP_SINK, "-u", "nobody", "127.0.0.1:%d" % port,
                             "1000"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _connectable(port), 10, "smtp-sink")
        log("")
        log("== throughput, %s messages (%d bytes), %d of them, "
            "concurrency %d, smtp-sink on port %d" % (label, size, n,
                                                      CONCURRENCY, port))
        run_raw(port, path, min(n, 2000))          # warm-up
        raw1 = run_raw(port, path, n)
        perf_out = "%s-%s.data" % (PERF, label) if PERF else None
        m = run_manners(tmp, "drain-%s" % label, port, n, html_pad, perf_out)
        raw2 = run_raw(port, path, n)
    finally:
        sink.terminate()
        sink.wait()
    raw = (raw1 + raw2) / 2
    ratio = m / raw
    log("ratio %s: manners %.0f msg/s / raw %.0f msg/s (mean of %.0f and "
        "%.0f) = %.3f" % (label, m, raw, raw1, raw2, ratio))
    results.append(("raw rate, %s (msg/s)" % label, "%.0f" % raw, "", ""))
    results.append(("manners rate, %s (msg/s)" % label, "%.0f" % m, "", ""))
    results.append(("manners/raw, %s" % label, "%.3f" % ratio,
                    ">= %.2f" % TARGET_RATIO,
                    "ok" if ratio >= TARGET_RATIO else "NOT"))


def _connectable(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


def cadence(tmp, sink, name, rcpts, domain_rate, results):
    n = len(rcpts)
    interval = 1.0 / RATE
    d = Daemon(tmp, name, sink.port, rate="%d/s" % RATE,
               domain_rate=domain_rate)
    try:
        sink.reset()
        send_after = int(time.time() + 2.5) + 1
        r = d.submit(campaign_xml(name, rcpts, send_after=send_after))
        if r.get("accepted", 0) != n:
            raise RuntimeError("submission: %s" % r)
        log("")
        log("== cadence %s: %d recipients, rate %d/s, domain_rate %s, "
            "from %s" % (name, n, RATE, domain_rate, rfc3339(send_after)))
        wait_until(lambda: sink.count() >= n, n / RATE * 3 + 30,
                   "%d messages at the sink" % n, d)
        time.sleep(0.2)
        c = d.counts(name)
    finally:
        d.stop()
    recs = sink.snapshot()
    if len(recs) != n or len({r[2] for r in recs}) != n:
        raise RuntimeError("%s: %d messages for %d recipients (%d distinct)"
                           % (name, len(recs), n, len({r[2] for r in recs})))
    t = sorted(r[0] for r in recs)          # MAIL command times
    span = t[-1] - t[0]
    rate = (n - 1) / span
    gaps = [b - a for a, b in zip(t, t[1:])]
    gmax = max(gaps)
    over = sum(1 for g in gaps if g > 2 * interval)
    gaps_sorted = sorted(gaps)
    p50 = gaps_sorted[len(gaps) // 2]
    p99 = gaps_sorted[int(len(gaps) * 0.99)]
    win = 0
    for i in range(n):      # the busiest 1 s window starting at a send
        j = i
        while j < n and t[j] < t[i] + 1.0:
            j += 1
        win = max(win, j - i)
    log("%s: %d messages in %.3fs (MAIL times): %.2f msg/s (%+.2f%% of %d)"
        % (name, n, span, rate, 100.0 * (rate / RATE - 1), RATE))
    log("%s: gaps between sends: median %.2f ms, p99 %.2f ms, max %.2f ms; "
        "%d above %.0f ms; busiest 1 s window %d; daemon counts %s" % (
            name, p50 * 1e3, p99 * 1e3, gmax * 1e3, over,
            2 * interval * 1e3, win, json.dumps(c)))
    ok_rate = abs(rate / RATE - 1) <= TARGET_RATE_TOL
    results.append(("%s: achieved rate (msg/s)" % name, "%.2f" % rate,
                    "%d +/- 1%%" % RATE, "ok" if ok_rate else "NOT"))
    results.append(("%s: rate ratio" % name, "%.4f" % (rate / RATE),
                    "0.99..1.01", "ok" if ok_rate else "NOT"))
    results.append(("%s: largest gap (ms)" % name, "%.2f" % (gmax * 1e3),
                    "<= %.0f" % (2 * interval * 1e3),
                    "ok" if gmax <= 2 * interval else "NOT"))
    results.append(("%s: gaps > %.0f ms" % (name, 2 * interval * 1e3),
                    "%d" % over, "0", "ok" if over == 0 else "NOT"))
    if domain_rate != "unlimited":
        limit = int(domain_rate.split("/")[0])
        by = {}
        for r in recs:
            by.setdefault(r[2].split("@")[1], []).append(r[0])
        worst, wdom = 0, None
        for dom, ts in by.items():
            ts.sort()
            j = 0
            for i in range(len(ts)):
                while j < len(ts) and ts[j] < ts[i] + 1.0:
                    j += 1
                if j - i > worst:
                    worst, wdom = j - i, dom
        dgaps = sorted(b - a for ts in by.values()
                       for a, b in zip(ts, ts[1:]))
        log("%s: %d domains; busiest domain 1 s window: %d (%s); smallest "
            "gap within a domain %.2f ms (interval %.0f ms)" % (
                name, len(by), worst, wdom, dgaps[0] * 1e3,
                1e3 / limit))
        results.append(("%s: max per domain in 1 s" % name, "%d" % worst,
                        "<= %d" % limit, "ok" if worst <= limit else "NOT"))


def table(results):
    log("")
    log("drain benchmark (issue 5)")
    head = ("metric", "value", "target", "ok")
    w = [max(len(str(r[i])) for r in results + [head]) for i in range(4)]
    fmt = "  ".join("%%-%ds" % x for x in w)
    log(fmt % head)
    log(fmt % tuple("-" * x for x in w))
    for r in results:
        log(fmt % r)


def main():
    for path in (MANNERSD, SMTP_SINK):
        if not os.access(path, os.X_OK):
            log("drain_bench: %s is missing (make; apt-get install postfix)"
                % path)
            return 2
    build_raw()
    tmp = tempfile.mkdtemp(prefix="manners-drain-bench-")
    results = []
    sink = Sink()
    try:
        log("drain_bench: mannersd %s, %d CPUs, temporary directory %s"
            % (MANNERSD, os.cpu_count(), tmp))
        small, big = capture_messages(tmp, sink)
        log("messages rendered by mannersd: %d bytes and %d bytes"
            % (small[1], big[1]))
        if "throughput" in ONLY:
            throughput(tmp, small, N_SMALL, "2k", SMALL_PAD, results)
        if "big" in ONLY:
            throughput(tmp, big, N_BIG, "100k", 100 * 1024 - 2300, results)
        ncad = int(RATE * CADENCE_S)
        if "cadence" in ONLY:
            cadence(tmp, sink, "rate", spread(ncad, DOMAINS, "c"),
                    "unlimited", results)
        if "domain" in ONLY:
            cadence(tmp, sink, "domain", grouped(ncad, DOMAIN_COUNT),
                    "%d/s" % DOMAIN_RATE, results)
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        log("drain_bench: %s" % e)
        if results:
            table(results)
        log("drain_bench: kept %s" % tmp)
        return 1
    finally:
        sink.close()
    table(results)
    if KEEP:
        log("drain_bench: kept %s" % tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
