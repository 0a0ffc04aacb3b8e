"""Real mail peers for the integration tests, each private to one test:
its own configuration directory, queue and loopback port, started and
stopped by the test (nothing of the system's own instance is touched).

PrivatePostfix: a Postfix instance that takes mail for one domain on a
loopback port and hands it to a pipe(8) transport, as an operator's
relay hands returned mail to `mannersctl feedback`; or, with a relayhost
and a milter in `extra`, the signing relay mannersd sends through.
PrivateDovecot: IMAP and POP3 over one user's Maildir.
PrivateOpenDKIM: an OpenDKIM milter signing for one domain.
"""
import os
import shutil
import socket
import subprocess
import time

from harness import free_port, wait_for

POSTFIX = "/usr/sbin/postfix"

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
feedback  unix  -       n       n       -       -       pipe
  flags=Rq user={user} argv={argv}
"""

# No maillog_file: with it, Postfix's master logs through postlogd over a
# datagram socket (10 messages deep on Linux) and was seen blocked in
# sendto() for good when postlogd was not reading.  Logging goes to
# syslog, which a test machine may not have; tests check state instead.
MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {dir}/queue
data_directory = {dir}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.manners-test.invalid
mydestination = {domain}
local_recipient_maps =
transport_maps = inline:{{ {domain}=feedback: }}
recipient_delimiter = +
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
syslog_name = postfix-manners-test
smtpd_banner = $myhostname ESMTP
feedback_destination_recipient_limit = 1
"""


class PrivatePostfix:
    """Postfix taking mail for `domain` on a free loopback port and piping
    each message to `argv` (pipe(8) macros such as ${recipient} work)."""

    def __init__(self, tmp, domain, argv="/bin/false", user="nobody",
                 extra=""):
        """extra: main.cf lines after the defaults (the last one wins),
        e.g. a relayhost and smtpd_milters for a signing relay."""
        self.dir = os.path.join(tmp, "postfix")
        self.port = free_port()
        os.makedirs(os.path.join(self.dir, "queue"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        with open(os.path.join(self.dir, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(dir=self.dir, domain=domain))
            f.write(extra)
        with open(os.path.join(self.dir, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port, user=user,
                                     argv=argv))

    def _postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", self.dir] + list(args),
                              capture_output=True, timeout=60)

    def start(self):
        p = self._postfix("start")
        if p.returncode != 0:
            raise RuntimeError("postfix start: %s" % p.stderr.decode())
        wait_for(lambda: _listening(self.port), 15,
                 what="postfix on its port")
        return self

    def stop(self):
        self._postfix("stop")
        # master exits a moment after `postfix stop` returns
        deadline = time.time() + 10
        while _listening(self.port) and time.time() < deadline:
            time.sleep(0.1)

    def queued(self):
        """How many messages are in the queue, in any of its stages."""
        n = 0
        for q in ("maildrop", "incoming", "active", "deferred", "hold"):
            for _, _, files in os.walk(os.path.join(self.dir, "queue", q)):
                n += len(files)
        return n

    def flush(self):
        self._postfix("flush")


DOVECOT = "/usr/sbin/dovecot"

DOVECOT_CONF = """\
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{dir}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={dir}/mail/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  chroot =
  inet_listener pop3 {{
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


class PrivateDovecot:
    """Dovecot serving one user's Maildir over IMAP and POP3 on free
    loopback ports, without TLS (loopback only)."""

    def __init__(self, tmp, user="fb", password="secret"):
        self.dir = os.path.join(tmp, "dovecot")
        self.user, self.password = user, password
        self.imap, self.pop3 = free_port(), free_port()
        self.maildir = os.path.join(self.dir, "mail", user)
        for d in ("run", "state"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        for d in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(self.maildir, d), exist_ok=True)
        # Dovecot's auth and mail processes run as other users: they need
        # to pass through the test's private directory (mkdtemp's 0700).
        os.chmod(tmp, 0o711)
        os.chmod(self.dir, 0o755)
        with open(os.path.join(self.dir, "passwd"), "w") as f:
            f.write("%s:{PLAIN}%s\n" % (user, password))
        with open(os.path.join(self.dir, "dovecot.conf"), "w") as f:
            f.write(DOVECOT_CONF.format(dir=self.dir, imap=self.imap,
                                        pop3=self.pop3))
        self._n = 0
        self._own()

    def _own(self):
        for root, dirs, files in os.walk(os.path.join(self.dir, "mail")):
            for n in dirs + files:
                shutil.chown(os.path.join(root, n), "nobody", "nogroup")
        shutil.chown(os.path.join(self.dir, "mail"), "nobody", "nogroup")

    def start(self):
        # The master forks into the background holding what it was given
        # as stdout and stderr: a file, not a pipe that would never close.
        err = os.path.join(self.dir, "start.err")
        with open(err, "wb") as f:
            p = subprocess.run([DOVECOT, "-c", os.path.join(
                self.dir, "dovecot.conf")], stdin=subprocess.DEVNULL,
                stdout=f, stderr=f, timeout=30)
        if p.returncode != 0:
            with open(err) as f:
                raise RuntimeError("dovecot: %s" % f.read())
        wait_for(lambda: _listening(self.imap) and _listening(self.pop3),
                 15, what="dovecot on its ports")
        return self

    def stop(self):
        try:
            with open(os.path.join(self.dir, "run", "master.pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, 15)
        except (OSError, ValueError):
            return
        deadline = time.time() + 10
        while _listening(self.imap) and time.time() < deadline:
            time.sleep(0.1)

    def deliver(self, raw):
        """Put one message in the Maildir, as a local delivery would."""
        self._n += 1
        name = "%d.%d.manners-test" % (time.time(), self._n)
        path = os.path.join(self.maildir, "new", name)
        with open(path, "wb") as f:
            f.write(raw if isinstance(raw, bytes) else raw.encode())
        shutil.chown(path, "nobody", "nogroup")

    def count(self):
        """Messages still in the mailbox (not expunged)."""
        return sum(len(os.listdir(os.path.join(self.maildir, d)))
                   for d in ("new", "cur"))

    def log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log")) as f:
                return f.read()
        except OSError:
            return ""


def _listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), 1).close()
        return True
    except OSError:
        return False


OPENDKIM_CONF = """\
Syslog no
Mode s
Domain {domain}
Selector {selector}
KeyFile {dir}/{selector}.private
Socket inet:{port}@127.0.0.1
UserID opendkim
Canonicalization relaxed/relaxed
InternalHosts 127.0.0.1
# The key lives under the test's private directory, inside /tmp.
RequireSafeKeys false
SignHeaders {sign}
OversignHeaders {oversign}
"""


class PrivateOpenDKIM:
    """OpenDKIM in the foreground signing mail from `domain` with a key
    made for the test; `txt` is the DNS record a verifier needs."""

    def __init__(self, tmp, domain, sign, oversign, selector="test"):
        self.dir = os.path.join(tmp, "opendkim")
        self.port = free_port()
        self.selector = selector
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(tmp, 0o711)
        subprocess.run(["opendkim-genkey", "-b", "2048", "-D", self.dir,
                        "-d", domain, "-s", selector], check=True,
                       timeout=60)
        shutil.chown(os.path.join(self.dir, selector + ".private"),
                     "opendkim")
        with open(os.path.join(self.dir, selector + ".txt")) as f:
            # test._domainkey IN TXT ( "v=DKIM1; h=sha256; k=rsa; "
            #     "p=MII..." "...") ; ----- DKIM key test for example.com
            parts = f.read().split("(", 1)[1].split(")", 1)[0]
        self.txt = "".join(p for p in parts.split('"')[1::2])
        with open(os.path.join(self.dir, "opendkim.conf"), "w") as f:
            f.write(OPENDKIM_CONF.format(dir=self.dir, domain=domain,
                                         selector=selector, port=self.port,
                                         sign=sign, oversign=oversign))
        self.proc = None

    def start(self):
        self.log = open(os.path.join(self.dir, "opendkim.log"), "wb")
        self.proc = subprocess.Popen(
            ["opendkim", "-f", "-x", os.path.join(self.dir,
                                                  "opendkim.conf")],
            stdout=self.log, stderr=self.log, stdin=subprocess.DEVNULL)
        wait_for(lambda: _listening(self.port), 15,
                 what="opendkim on its port")
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=15)
            self.proc = None
            self.log.close()


class StubDNS:
    """A DNS server on a private loopback UDP port, standard library
    only, that answers MX questions from a table: {name: (ttl, [hosts])};
    any other name is NXDOMAIN, and a name mapped to None gets no answer
    at all (a server that times out).  `queries` lists what was asked."""

    def __init__(self, mx):
        import socketserver
        import threading
        self.mx = {k.lower(): v for k, v in mx.items()}
        self.queries = []
        stub = self

        class H(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                out = stub._answer(data)
                if out is not None:
                    sock.sendto(out, self.client_address)

        self.server = socketserver.ThreadingUDPServer(("127.0.0.1", 0), H)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    @staticmethod
    def _name(labels):
        out = b""
        for l in labels.rstrip(".").split("."):
            out += bytes([len(l)]) + l.encode()
        return out + b"\0"

    def _answer(self, q):
        import struct
        if len(q) < 12:
            return None
        qid, flags, qd = struct.unpack(">HHH", q[:6])
        i, labels = 12, []
        while i < len(q) and q[i] != 0:
            n = q[i]
            labels.append(q[i + 1:i + 1 + n].decode("ascii", "replace"))
            i += 1 + n
        qtype, = struct.unpack(">H", q[i + 1:i + 3])
        question = q[12:i + 5]
        name = ".".join(labels).lower()
        self.queries.append((name, qtype))
        entry = self.mx.get(name, "nx")
        if entry is None:
            return None
        rd = flags & 0x0100
        if entry == "nx" or qtype != 15:
            rcode = 3 if entry == "nx" else 0
            return struct.pack(">HHHHHH", qid, 0x8000 | 0x0400 | rd | rcode,
                               1, 0, 0, 0) + question
        ttl, hosts = entry
        answers = b""
        for pref, h in enumerate(hosts):
            rdata = struct.pack(">H", (pref + 1) * 10) + self._name(h)
            answers += struct.pack(">HHHIH", 0xC00C, 15, 1, ttl,
                                   len(rdata)) + rdata
        return struct.pack(">HHHHHH", qid, 0x8000 | 0x0400 | rd, 1,
                           len(hosts), 0, 0) + question + answers

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
