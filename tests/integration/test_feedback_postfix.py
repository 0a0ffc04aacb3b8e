"""Returned mail through a real MTA: a private Postfix receives a bounce
and a mailto: unsubscribe by SMTP and hands each to `mannersctl feedback`
through pipe(8), with the master.cf line README shows.  While mannersd is
down the pipe exits 75, so Postfix keeps the message and delivers it once
mannersd is back: nothing is lost and nothing bounces to the sender."""
import os
import re
import smtplib

from harness import MANNERSCTL, campaign, wait_for
from peers import PrivatePostfix


def _token(env, addr):
    msg = wait_for(lambda: next((m for m in env.smtp.messages
                                 if m["to"] == [addr]), None),
                   what="a message to %s" % addr)
    return re.search(r"/u/([A-Za-z0-9_-]+)>",
                     msg["msg"]["List-Unsubscribe"]).group(1)


def _dsn(tok):
    return ("From: MAILER-DAEMON@mx.example.org\r\n"
            "To: bounces@news.example.com\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
            "report-type=delivery-status; boundary=b\r\n\r\n--b\r\n"
            "Content-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns; mx.example.org\r\n\r\n"
            "Final-Recipient: rfc822; ann@example.org\r\nAction: failed\r\n"
            "Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 unknown user"
            "\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
            "List-Unsubscribe: <http://x/u/%s>\r\n\r\n--b--\r\n" % tok)


def _mailto(tok):
    return ("From: Bob <bob@example.org>\r\n"
            "To: unsubscribe@news.example.com\r\n"
            "Subject: unsubscribe %s\r\n\r\nfrom my mail client\r\n" % tok)


def _send(port, rcpt, raw, sender="<>"):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.sendmail(sender, [rcpt], raw.encode())
    s.quit()


def _recipient(d, addr):
    st, r = d.request("GET", "/v1/recipients/" + addr)
    return r if st == 200 else {}


def test_postfix_pipes_returned_mail_to_mannersctl(env):
    env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("daemon", "unsubscribe_mailto", "unsubscribe@news.example.com")
    d.start()
    # The pipe runs as nobody: let it reach the test's socket.
    os.chmod(env.tmp, 0o711)
    os.chmod(d.sock, 0o666)
    st, _ = d.request("POST", "/v1/campaigns", campaign(
        "pf1", rcpts=[(None, "ann@example.org"), (None, "bob@example.org")]))
    assert st in (200, 202), st
    env.smtp.wait_count(2)
    ann, bob = _token(env, "ann@example.org"), _token(env, "bob@example.org")
    pf = PrivatePostfix(env.tmp, "news.example.com", argv=(
        "%s --socket %s feedback --rcpt ${recipient}" % (MANNERSCTL, d.sock)))
    pf.start()
    env.cleanups.append(pf.stop)

    _send(pf.port, "bounces@news.example.com", _dsn(ann))
    _send(pf.port, "unsubscribe@news.example.com", _mailto(bob),
          sender="bob@example.org")
    wait_for(lambda: _recipient(d, "ann@example.org").get("suppressed"),
             30, what="ann suppressed by the piped bounce")
    wait_for(lambda: "mail" in str(_recipient(d, "bob@example.org")), 30,
             what="bob unsubscribed by the piped mailto:")
    wait_for(lambda: pf.queued() == 0, 15, what="both delivered")

    # mannersd down: the pipe says "try later", Postfix keeps the mail.
    # Sent from an address of its own: a bounce would be a second message
    # in the queue, undeliverable here, and the queue must end empty.
    d.stop()
    _send(pf.port, "unsubscribe@news.example.com", _mailto(ann),
          sender="ann@example.org")
    wait_for(lambda: pf.queued() == 1, 30, what="the message deferred")
    d.start()
    os.chmod(d.sock, 0o666)
    pf.flush()
    wait_for(lambda: "mail" in str(_recipient(d, "ann@example.org")), 60,
             what="the deferred message delivered once mannersd was back")
    wait_for(lambda: pf.queued() == 0, 30, what="an empty queue: the "
             "message delivered, and no bounce to its sender")
