"""[feedback] mailbox: returned mail read from a real Dovecot over IMAP
and POP3, each message removed only once its outcome is committed."""
import os
import re
import signal

from harness import campaign, wait_for
from peers import PrivateDovecot


def _setup(env, scheme, after="delete"):
    env.start_smtp()
    dv = PrivateDovecot(env.tmp).start()
    env.cleanups.append(dv.stop)
    pw = os.path.join(env.tmp, "mailbox.pw")
    with open(pw, "w") as f:
        f.write(dv.password + "\n")
    d = env.daemon(start=False)
    port = dv.imap if scheme == "imap" else dv.pop3
    d.set_conf("feedback", "mailbox", "%s://127.0.0.1:%d/%s" % (
        scheme, port, "INBOX" if scheme == "imap" else ""))
    d.set_conf("feedback", "mailbox_user", dv.user)
    d.set_conf("feedback", "mailbox_password_file", pw)
    d.set_conf("feedback", "mailbox_interval", "1s")
    d.set_conf("feedback", "mailbox_after", after)
    d.start()
    return dv, d


def _link_token(env, d, addr):
    st, _ = d.request("POST", "/v1/campaigns", campaign(
        "mb1", rcpts=[(None, addr)]))
    assert st in (200, 202), st
    msg = env.smtp.wait_count(1)[0]
    return re.search(r"/u/([A-Za-z0-9_-]+)>",
                     msg["msg"]["List-Unsubscribe"]).group(1)


def _complaint(tok):
    return ("From: fbl@isp.example\r\nTo: fbl@news.example.com\r\n"
            "Subject: complaint\r\nMIME-Version: 1.0\r\nContent-Type: "
            "multipart/report; report-type=feedback-report; boundary=b\r\n"
            "\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\n"
            "Feedback-Type: abuse\r\nVersion: 1\r\n\r\n--b\r\n"
            "Content-Type: text/rfc822-headers\r\n\r\nList-Unsubscribe: "
            "<http://x/u/%s>\r\n\r\n--b--\r\n" % tok)


def _unsubscribed(d, addr):
    st, r = d.request("GET", "/v1/recipients/" + addr)
    return st == 200 and "complaint" in str(r)


def _check(env, scheme):
    dv, d = _setup(env, scheme)
    tok = _link_token(env, d, "pat@example.org")
    dv.deliver(_complaint(tok))
    dv.deliver("From: me@example.org\r\nSubject: hello\r\n\r\nhi\r\n")
    dv.deliver("\x00\x01 not a message at all")
    wait_for(lambda: _unsubscribed(d, "pat@example.org"), 20,
             what="the complaint read from the mailbox")
    wait_for(lambda: dv.count() == 0, 20,
             what="every message removed from the mailbox")
    st, m = d.request("GET", "/metrics")
    assert 'manners_feedback_total{kind="complaint",action=' \
        '"unsubscribed"} 1' in m, m


def test_imap_mailbox_is_read_and_emptied(env):
    _check(env, "imap")


def test_pop3_mailbox_is_read_and_emptied(env):
    _check(env, "pop3")


def test_a_crash_while_polling_loses_no_message(env):
    dv, d = _setup(env, "imap")
    addrs = ["p%02d@example.org" % i for i in range(20)]
    st, _ = d.request("POST", "/v1/campaigns", campaign(
        "mb2", rcpts=[(None, a) for a in addrs]))
    assert st in (200, 202), st
    msgs = env.smtp.wait_count(20)
    for m in msgs:
        tok = re.search(r"/u/([A-Za-z0-9_-]+)>",
                        m["msg"]["List-Unsubscribe"]).group(1)
        dv.deliver(_complaint(tok))
    # Killed while it reads the box: what it had not committed stays.
    wait_for(lambda: dv.count() < 20 or _unsubscribed(d, addrs[0]), 20,
             what="the first round to begin")
    d.kill(signal.SIGKILL)
    left = dv.count()
    d.start()
    wait_for(lambda: dv.count() == 0, 30, what="the box emptied after "
             "the restart (%d were left)" % left)
    for a in addrs:
        assert _unsubscribed(d, a), a
    st, c = d.request("GET", "/v1/campaigns/mb2")
    assert c["counts"]["complaints"] == 20, c
