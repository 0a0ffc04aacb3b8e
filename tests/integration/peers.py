"""Real mail peers for the integration tests, each private to one test:
its own configuration directory, queue and loopback port, started and
stopped by the test (nothing of the system's own instance is touched).

PrivatePostfix: a Postfix instance that takes mail for one domain on a
loopback port and hands it to a pipe(8) transport, as an operator's
relay hands returned mail to `mannersctl feedback`.
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
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
smtpd_banner = $myhostname ESMTP
feedback_destination_recipient_limit = 1
"""


class PrivatePostfix:
    """Postfix taking mail for `domain` on a free loopback port and piping
    each message to `argv` (pipe(8) macros such as ${recipient} work)."""

    def __init__(self, tmp, domain, argv, user="nobody"):
        self.dir = os.path.join(tmp, "postfix")
        self.port = free_port()
        os.makedirs(os.path.join(self.dir, "queue"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        with open(os.path.join(self.dir, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(dir=self.dir, domain=domain))
        with open(os.path.join(self.dir, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port, user=user,
                                     argv=argv))

    def _postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", self.dir] + list(args),
                              capture_output=True, timeout=60)

    def start(self):
        p = self._postfix("start")
        if p.returncode != 0:
            raise RuntimeError("postfix start: %s\n%s" % (
                p.stderr.decode(), self.log()))
        wait_for(self._listening, 15, what="postfix on its port")
        return self

    def _listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), 1).close()
            return True
        except OSError:
            return False

    def stop(self):
        self._postfix("stop")
        # master exits a moment after `postfix stop` returns
        deadline = time.time() + 10
        while self._listening() and time.time() < deadline:
            time.sleep(0.1)

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog")) as f:
                return f.read()
        except OSError:
            return ""

    def queued(self):
        """How many messages wait in the deferred queue."""
        d = os.path.join(self.dir, "queue", "deferred")
        return sum(len(files) for _, _, files in os.walk(d))

    def flush(self):
        self._postfix("flush")
