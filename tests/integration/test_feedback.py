"""POST /v1/feedback: mail that comes back, applied only through a token
that verifies.  The tokens come from messages the daemon really sent."""
import re

from harness import campaign, wait_for


def _token(env, addr):
    """The unsubscribe-link token of the message delivered to addr."""
    msg = wait_for(lambda: next((m for m in env.smtp.messages
                                 if m["to"] == [addr]), None),
                   what="a message to %s" % addr)
    lu = msg["msg"]["List-Unsubscribe"]
    return re.search(r"/u/([A-Za-z0-9_-]+)>", lu).group(1)


def _sent(env, d, rcpts):
    st, _ = d.request("POST", "/v1/campaigns", campaign(
        "fb1", rcpts=[(None, a) for a in rcpts]))
    assert st in (200, 202), st
    env.smtp.wait_count(len(rcpts))


def _post(d, raw, rcpt=None, ctype="message/rfc822"):
    path = "/v1/feedback" + ("?rcpt=" + rcpt if rcpt else "")
    return d.request("POST", path, raw, ctype=ctype)


def _arf(tok):
    return ("From: fbl@isp.example\r\nTo: fbl@news.example.com\r\n"
            "Subject: complaint\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/report; report-type=feedback-report; "
            "boundary=b\r\n\r\n--b\r\nContent-Type: message/feedback-report"
            "\r\n\r\nFeedback-Type: abuse\r\nUser-Agent: test-fbl/1.0\r\n"
            "Version: 1\r\n\r\n--b\r\nContent-Type: text/rfc822-headers\r\n"
            "\r\nFrom: news@example.com\r\nList-Unsubscribe: "
            "<http://127.0.0.1/u/%s>\r\n\r\n--b--\r\n" % tok)


def _flags(d, addr):
    st, r = d.request("GET", "/v1/recipients/" + addr)
    assert st == 200, (st, r)
    return r


def _consent(d, addr):
    """What a "stop" changes: unsubscribes, suppression, preference (not
    the history, whose sent state the drain may commit meanwhile)."""
    r = _flags(d, addr)
    return {k: r.get(k) for k in ("flags", "suppressed", "preference")}


def test_a_complaint_report_unsubscribes_its_recipient_once(env):
    env.start_smtp()
    d = env.daemon()
    _sent(env, d, ["ann@example.org", "bob@example.org"])
    tok = _token(env, "ann@example.org")
    st, r = _post(d, _arf(tok))
    assert st == 200, (st, r)
    assert r["kind"] == "complaint" and r["action"] == "unsubscribed", r
    assert r["address"] == "ann@example.org" and r["list"] == \
        "news.example.com", r
    assert r["campaign"] == "fb1", r
    before = _consent(d, "ann@example.org")
    assert "complaint" in str(before), before
    # A replay changes nothing and answers the same.
    st, r2 = _post(d, _arf(tok))
    assert st == 200 and r2 == r, (st, r2)
    assert _consent(d, "ann@example.org") == before
    st, c = d.request("GET", "/v1/campaigns/fb1")
    assert c["counts"]["complaints"] == 1, c
    assert "complaint" not in str(_flags(d, "bob@example.org"))
    st, m = d.request("GET", "/metrics")
    assert 'manners_feedback_total{kind="complaint",action="unsubscribed"}' \
        ' 2' in m, m


def test_a_mailto_unsubscribe_is_heard(env):
    env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("daemon", "unsubscribe_mailto", "unsub@news.example.com")
    d.start()
    _sent(env, d, ["cy@example.org"])
    tok = _token(env, "cy@example.org")
    raw = ("From: Cy <cy@example.org>\r\nTo: unsub@news.example.com\r\n"
           "Subject: unsubscribe %s\r\n\r\nsent by my mail client\r\n" % tok)
    st, r = _post(d, raw, rcpt="unsub@news.example.com")
    assert st == 200 and r["kind"] == "unsubscribe" and \
        r["action"] == "unsubscribed", (st, r)
    assert "mail" in str(_flags(d, "cy@example.org"))


def test_a_forged_report_changes_nothing(env):
    env.start_smtp()
    d = env.daemon()
    _sent(env, d, ["dee@example.org"])
    tok = _token(env, "dee@example.org")
    before = _consent(d, "dee@example.org")
    forged = tok[:-2] + ("AA" if tok[-2:] != "AA" else "BB")
    for raw in (_arf(forged), _arf("x" * 46),
                "From: x@evil.example\r\nSubject: unsubscribe "
                "dee@example.org\r\n\r\nplease\r\n"):
        st, r = _post(d, raw)
        assert st == 200 and r["kind"] == "unattributed" and \
            r["action"] == "none", (st, r)
        assert r["address"] is None and r["campaign"] is None, r
    assert _consent(d, "dee@example.org") == before


def test_unreadable_or_misaddressed_feedback_is_refused_by_name(env):
    env.start_smtp()
    d = env.daemon()
    st, r = _post(d, "Subject: x\r\n\r\nbody", ctype="text/plain")
    assert st == 415 and "message/rfc822" in r["error"], (st, r)
    st, r = _post(d, "")
    assert st == 422 and "empty" in r["detail"]["cause"], (st, r)
    st, r = _post(d, ("Content-Type: message/rfc822\r\n\r\n" * 1000) +
                  "Subject: x\r\n\r\nend\r\n")
    assert st == 422 and "MIME containers" in r["detail"]["cause"], (st, r)
    st, r = _post(d, "Subject: x\r\n\r\n" + "a" * (10 * 1024 * 1024 + 1))
    assert st == 413 and r["detail"]["limit"] == 10 * 1024 * 1024, (st, r)
    st, r = _post(d, "Subject: x\r\n\r\nb\r\n", rcpt="not-an-address")
    assert st == 422 and r["detail"]["field"] == "rcpt", (st, r)
    st, r = _post(d, "Subject: x\r\n\r\nb\r\n", rcpt="a%00@example.org")
    assert st == 400, (st, r)
    assert d.health_ok()


def test_mannersctl_feedback_exits_only_0_or_75(env):
    import subprocess
    from harness import MANNERSCTL
    env.start_smtp()
    d = env.daemon()

    def ctl(args, data, sock=d.sock):
        return subprocess.run([MANNERSCTL, "--socket", sock, "feedback"] +
                              args, input=data, capture_output=True,
                              timeout=60)

    p = ctl([], _arf("x" * 46).encode())
    assert p.returncode == 0, p
    assert b"unattributed" in p.stdout, p.stdout
    p = ctl(["--rcpt", "bounces+abc@news.example.com"], b"\x00\x01garbage")
    assert p.returncode == 0, p          # unreadable: ignored, not bounced
    p = ctl(["--bogus"], b"Subject: x\r\n\r\nx")
    assert p.returncode == 75, p         # a broken pipe line: kept queued
    p = ctl([], b"Subject: x\r\n\r\nx", sock=d.sock + ".nowhere")
    assert p.returncode == 75, p         # mannersd unreachable: kept queued


def test_a_late_bounce_comes_back_to_the_signed_return_path(env):
    env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("feedback", "return_path", "bounces@news.example.com")
    d.set_conf("feedback", "sender_id", "shop-1")
    d.start()
    _sent(env, d, ["gone@example.org", "stays@example.org"])
    sent = {m["to"][0]: m for m in env.smtp.messages}
    verp = sent["gone@example.org"]["from"]
    m = re.fullmatch(r"bounces\+([A-Za-z0-9_-]{46})@news\.example\.com",
                     verp)
    assert m, verp
    assert len("bounces+" + m.group(1)) <= 64
    assert sent["stays@example.org"]["from"] != verp, "one token each"
    assert sent["gone@example.org"]["msg"]["Feedback-ID"] == \
        "fb1:news.example.com:newsletter:shop-1"
    # The relay said 250; the mailbox's own server bounces it later,
    # quoting nothing but the envelope it came back to.
    dsn = ("From: MAILER-DAEMON@mx.example.org\r\nTo: %s\r\n"
           "Subject: Undelivered Mail Returned to Sender\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
           "report-type=delivery-status; boundary=b\r\n\r\n--b\r\n"
           "Content-Type: message/delivery-status\r\n\r\n"
           "Reporting-MTA: dns; mx.example.org\r\n\r\n"
           "Final-Recipient: rfc822; gone@example.org\r\nAction: failed\r\n"
           "Status: 5.1.1\r\n\r\n--b--\r\n" % verp)
    st, r = _post(d, dsn, rcpt=verp.replace("+", "%2B").replace("@", "%40"))
    assert st == 200 and r["kind"] == "bounce" and \
        r["action"] == "suppressed", (st, r)
    assert r["campaign"] == "fb1" and r["address"] == "gone@example.org", r
    assert _flags(d, "gone@example.org")["suppressed"], _flags(
        d, "gone@example.org")
    assert not _flags(d, "stays@example.org").get("suppressed")
    st, c = d.request("GET", "/v1/campaigns/fb1")
    assert c["counts"]["bounces"] == 1, c
    # A bounce for a token that names another campaign or nobody: nothing.
    st, r = _post(d, dsn.replace(verp, "bounces+" + "A" * 46 +
                                 "@news.example.com"))
    assert r["kind"] == "unattributed", r


def test_complaints_at_the_limit_pause_the_campaign_until_resumed(env):
    env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("feedback", "pause_complaint_rate", "0.3%")
    d.set_conf("feedback", "pause_min_sent", "2")
    d.start()
    _sent(env, d, ["a1@example.org", "a2@example.org"])
    st, r = _post(d, _arf(_token(env, "a1@example.org")))
    assert r["action"] == "unsubscribed", r
    st, c = d.request("GET", "/v1/campaigns/fb1")
    assert c["state"] == "paused" and c["paused_by"] == "complaint_rate", c
    assert "reached pause_complaint_rate 0.30 %" in c["paused_why"], c
    assert "campaign fb1 paused" in d.logtext()
    out = d.ctl("status", "fb1").stdout.decode()
    assert "paused by its complaint_rate breaker" in out, out
    assert "complaints 1" in out, out
    breaker = 'manners_campaigns_paused_by_breaker{breaker="complaint_rate"}'
    st, m = d.request("GET", "/metrics")
    assert breaker + " 1\n" in m, m
    d.ctl("resume", "fb1")
    st, c = d.request("GET", "/v1/campaigns/fb1")
    assert c["state"] == "active" and "paused_by" not in c, c
    st, m = d.request("GET", "/metrics")
    assert breaker + " 0\n" in m, m
