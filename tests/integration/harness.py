"""Test harness: a real mannersd, a real SMTP server, real curl.

Each test gets its own temporary directory, free loopback ports and its
own processes, all cleaned up by the harness whatever the outcome.
"""
import asyncio
import email
import email.policy
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from aiosmtpd.controller import Controller

MANNERSD = os.environ.get("MANNERSD", os.path.abspath("build/default/mannersd"))
# The pages' catalogs, compiled next to the binary (Makefile: LOCALE_MOS).
LOCALE_DIR = os.path.join(os.path.dirname(MANNERSD), "locale")
MANNERSCTL = os.environ.get("MANNERSCTL",
                            os.path.abspath("build/default/mannersctl"))
KEEP = os.environ.get("KEEP_TEST_DIRS") == "1"
OUT = os.path.abspath(os.environ.get("TEST_OUT", "tests/out"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_for(pred, timeout=15.0, step=0.05, what="condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))


class Handler:
    """Records every message; `script` may return an SMTP reply per RCPT
    or DATA to fake failures: script(stage, rcpt, attempt) -> str|None."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.attempts = {}
        self.script = None
        self.sessions = 0
        self.ehlo_delays = []   # seconds, one per new session, in order
        self.mail_times = []    # (time of MAIL FROM, session number)
        self.held = []          # (time, recipient) a SLOW or STALL began

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self.sessions += 1
        session.number = self.sessions
        session.host_name = hostname
        if self.ehlo_delays:
            await asyncio.sleep(self.ehlo_delays.pop(0))
        return responses

    async def handle_MAIL(self, server, session, envelope, address, opts):
        self.mail_times.append((time.time(), getattr(session, "number", 0)))
        envelope.mail_from = address
        envelope.mail_options.extend(opts)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, opts):
        n = self.attempts.get(address.lower(), 0) + 1
        self.attempts[address.lower()] = n
        if self.script:
            r = self.script("rcpt", address, n)
            if r:
                return r
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.script:
            r = self.script("data", envelope.rcpt_tos[0],
                            self.attempts.get(envelope.rcpt_tos[0].lower(), 1))
            if r == "STALL" or (r or "").startswith("SLOW "):
                # the whole message is in: hold the answer to its end
                with self.lock:
                    self.held.append((time.time(), envelope.rcpt_tos[0]))
                await asyncio.sleep(3600 if r == "STALL" else
                                    float(r.split()[1]))
                r = None
            if r == "CLOSE":
                server.transport.close()
                return "421 closing"
            if r:
                return r
        msg = email.message_from_bytes(envelope.content,
                                       policy=email.policy.default)
        with self.lock:
            self.messages.append({
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "raw": envelope.content,
                "msg": msg,
                "time": time.time(),
            })
        return "250 2.0.0 queued"


class SMTPServer:
    def __init__(self, port=None):
        self.port = port or free_port()
        self.handler = Handler()
        self.controller = None

    def start(self):
        self.controller = Controller(self.handler, hostname="127.0.0.1",
                                     port=self.port, ready_timeout=10,
                                     server_kwargs={"data_size_limit": 0})
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self):
        with self.handler.lock:
            return list(self.handler.messages)

    def wait_count(self, n, timeout=20):
        return wait_for(lambda: len(self.messages) >= n and self.messages,
                        timeout, what="%d messages" % n)


class Daemon:
    """A mannersd with a private socket, state and config."""

    def __init__(self, tmp, smtp_port, extra=""):
        self.tmp = tmp
        self.sock = os.path.join(tmp, "control.sock")
        self.state = os.path.join(tmp, "state")
        self.conf = os.path.join(tmp, "manners.conf")
        self.log = os.path.join(tmp, "mannersd.log")
        self.public_port = free_port()
        self.proc = None
        self.problems = []
        with open(self.conf, "w") as f:
            f.write(CONF_TEMPLATE.format(sock=self.sock, state=self.state,
                                         tmp=tmp, smtp=smtp_port,
                                         public=self.public_port,
                                         locale=LOCALE_DIR))
            f.write(extra)

    def set_conf(self, section, key, value):
        """Rewrite (or add) one key of the daemon's config file."""
        lines = open(self.conf).read().splitlines()
        out, cur, done = [], None, False
        for ln in lines:
            if ln.startswith("["):
                if cur == section and not done:
                    out.append("%s = %s" % (key, value))
                    done = True
                cur = ln.strip()[1:-1]
            elif cur == section and ln.split("=")[0].strip() == key:
                ln = "%s = %s" % (key, value)
                done = True
            out.append(ln)
        if not done:
            if cur != section:
                out.append("[%s]" % section)
            out.append("%s = %s" % (key, value))
        open(self.conf, "w").write("\n".join(out) + "\n")

    def start(self, wait=True):
        self.logf = open(self.log, "ab")
        # MANNERSD_WRAP: a command to run mannersd under (`make valgrind`)
        wrap = shlex.split(os.environ.get("MANNERSD_WRAP", ""))
        self.proc = subprocess.Popen(wrap + [MANNERSD, "-v", "-c", self.conf],
                                     stdout=self.logf, stderr=self.logf,
                                     stdin=subprocess.DEVNULL)
        if wait:
            wait_for(lambda: self.alive() and self.health_ok(),
                     10 * (10 if wrap else 1),
                     what="mannersd to answer on its socket")
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def health_ok(self):
        try:
            code, _ = self.request("GET", "/v1/health")
            return code == 200
        except Exception:
            return False

    def kill(self, sig=signal.SIGKILL):
        """Signal the daemon and wait; returns its exit status."""
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.problems.append("mannersd ignored signal %d for 30s"
                                     % sig)
        if self.proc:
            rc = self.proc.returncode
            self.logf.close()
        self.proc = None
        return rc

    def stop(self):
        """SIGTERM: a clean stop must exit 0."""
        rc = self.kill(signal.SIGTERM)
        if rc not in (None, 0):
            self.problems.append("mannersd exited %s after SIGTERM" % rc)
        return rc

    def sanitizer_problems(self):
        """Reports from ASan, UBSan or LeakSanitizer in the log."""
        try:
            text = self.logtext()
        except OSError:
            return []
        marks = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                 "runtime error:", "SUMMARY: UndefinedBehaviorSanitizer")
        return ["sanitizer report in mannersd.log: %s" % m
                for m in marks if m in text]

    def request(self, method, path, body=None, ctype="application/xml",
                headers=()):
        """One request with curl over the Unix socket: (status, json|text)."""
        args = ["curl", "-s", "-S", "--max-time", "30", "--unix-socket",
                self.sock, "-X", method, "-w", "\n%{http_code}",
                "-H", "Expect:"]
        for h in headers:
            args += ["-H", h]
        inp = None
        if body is not None:
            if isinstance(body, str):
                body = body.encode()
            args += ["-H", "Content-Type: " + ctype, "--data-binary", "@-"]
            inp = body
        args.append("http://localhost" + path)
        p = subprocess.run(args, input=inp, capture_output=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError("curl failed: %s" % p.stderr.decode())
        out = p.stdout.decode()
        text, _, code = out.rpartition("\n")
        try:
            return int(code), json.loads(text)
        except ValueError:
            return int(code), text

    def ctl(self, *args, check=True):
        p = subprocess.run([MANNERSCTL, "--socket", self.sock] + list(args),
                           capture_output=True, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("mannersctl %s: exit %d: %s" % (
                " ".join(args), p.returncode, p.stderr.decode()))
        return p

    def logtext(self):
        with open(self.log, "rb") as f:
            return f.read().decode(errors="replace")


CONF_TEMPLATE = """\
[daemon]
socket = {sock}
state_dir = {state}
secret_file = {tmp}/secret
public_listen = 127.0.0.1:{public}
public_url = http://127.0.0.1:{public}
hostname = test.manners.invalid
commit_interval_ms = 20
locale_dir = {locale}
[smtp]
url = smtp://127.0.0.1:{smtp}
rate = unlimited
domain_rate = unlimited
retry_min = 1s
retry_max = 2s
timeout = 5s
shutdown_timeout = 5s
[caps]
per_recipient = unlimited
min_gap = 0
"""


def _keep_for_the_record(d, names):
    """What a failed test's copy leaves out: the store, and sockets and
    FIFOs (peers such as Dovecot keep theirs under their own run/)."""
    skip = []
    for n in names:
        p = os.path.join(d, n)
        if n == "state" or n.endswith(".sock") or (
                not os.path.isdir(p) and not os.path.isfile(p)):
            skip.append(n)
    return skip


class Env:
    """Per-test resources; torn down in reverse order."""

    def __init__(self, name):
        self.name = name
        self.tmp = tempfile.mkdtemp(prefix="manners-%s-" % name)
        self.smtp = None
        self.daemons = []
        self.cleanups = []      # callables run first at close (peers)

    def start_smtp(self, port=None):
        self.smtp = SMTPServer(port).start()
        return self.smtp

    def daemon(self, extra="", smtp_port=None, start=True):
        port = smtp_port or (self.smtp.port if self.smtp else free_port())
        d = Daemon(self.tmp, port, extra)
        self.daemons.append(d)
        return d.start() if start else d

    def close(self, failed):
        """Stop everything; returns problems found while stopping."""
        problems = []
        for fn in reversed(self.cleanups):
            try:
                fn()
            except Exception as e:
                problems.append("stopping a peer: %r" % e)
        for d in self.daemons:
            try:
                d.stop()
            except Exception as e:
                problems.append("stopping mannersd: %r" % e)
                d.kill()
            problems += d.problems + d.sanitizer_problems()
        if self.smtp:
            self.smtp.stop()
        failed = failed or bool(problems)
        if failed or KEEP:
            dest = os.path.join(OUT, self.name)
            shutil.rmtree(dest, ignore_errors=True)
            shutil.copytree(self.tmp, dest, ignore_dangling_symlinks=True,
                            ignore=_keep_for_the_record)
        shutil.rmtree(self.tmp, ignore_errors=True)
        return problems


def campaign(cid="c1", rcpts=(("Alice", "alice@example.org"),),
             subject="Hello", text="Hi {{name}}\n{{unsubscribe_url}}\n",
             html="<p>Hi {{name}}</p><a href=\"{{unsubscribe_url}}\">unsubscribe</a>",
             lst="news.example.com", extra=""):
    from xml.sax.saxutils import escape, quoteattr
    to = "\n".join(
        "    <to%s>%s</to>" % (" name=%s" % quoteattr(n) if n else "",
                              escape(a)) for n, a in rcpts)
    parts = ""
    if text is not None:
        parts += "  <text><![CDATA[%s]]></text>\n" % text
    if html is not None:
        parts += "  <html><![CDATA[%s]]></html>\n" % html
    return """<?xml version="1.0" encoding="UTF-8"?>
<campaign id="%s" list="%s">
  <from name="Example Shop">news@example.com</from>
  <subject>%s</subject>
%s%s  <recipients>
%s
  </recipients>
</campaign>
""" % (cid, lst, escape(subject), extra, parts, to)
