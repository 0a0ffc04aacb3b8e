"""Issue 2: one campaign delivered end to end, bad input refused."""
import os
import signal
import socket
import subprocess
import time

from harness import campaign, free_port, wait_for


def test_three_recipients_are_delivered_as_mime(env):
    smtp = env.start_smtp()
    d = env.daemon()
    doc = campaign(cid="nov-update", subject="Grüße aus dem Laden — November",
                   rcpts=[("Alice", "alice@example.org"),
                          ("Bob \"the builder\"", "Bob@Example.NET"),
                          (None, "carol@example.com")],
                   text="Hi {{name|there}},\n.\n..dots stay\n" + "x" * 1500 +
                        "\n{{unsubscribe_url}}\n",
                   html="<p>Hi {{name|there}}</p><p>café</p>"
                        "<a href=\"{{unsubscribe_url}}\">u</a>")
    code, rep = d.request("POST", "/v1/campaigns", doc)
    assert code == 202, (code, rep)
    assert rep["campaign"] == "nov-update"
    assert rep["recipients"] == 3 and rep["accepted"] == 3, rep
    assert rep["rejected"] == {}, rep
    msgs = smtp.wait_count(3)
    assert len(msgs) == 3
    by_to = {m["to"][0].lower(): m for m in msgs}
    assert set(by_to) == {"alice@example.org", "bob@example.net",
                          "carol@example.com"}
    mids = set()
    for addr, m in by_to.items():
        msg = m["msg"]
        assert m["from"] == "news@example.com"
        assert msg["Subject"] == "Grüße aus dem Laden — November"
        assert msg["From"].addresses[0].display_name == "Example Shop"
        assert msg["From"].addresses[0].addr_spec == "news@example.com"
        assert msg["To"].addresses[0].addr_spec.lower() == addr
        assert msg["Date"] is not None and msg["Date"].datetime is not None
        assert msg["MIME-Version"] == "1.0"
        assert msg["List-Id"] == "<news.example.com>"
        assert msg["List-Unsubscribe"].startswith("<http://127.0.0.1:")
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        mid = msg["Message-ID"]
        assert mid.startswith("<") and mid.endswith("@test.manners.invalid>")
        assert ".nov-update@" in mid
        mids.add(mid)
        assert msg.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in msg.iter_parts()]
        assert parts == ["text/plain", "text/html"], parts
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert "\n.\n..dots stay\n" in text.replace("\r\n", "\n")
        assert "x" * 1500 in text
        assert "café" in html
        unsub = msg["List-Unsubscribe"][1:-1]
        assert unsub in text and unsub in html.replace("&amp;", "&")
        # Every line of the raw message ends in CRLF and stays short.
        raw = m["raw"]
        for line in raw.split(b"\n"):
            assert len(line) <= 998
    assert len(mids) == 3
    assert "Hi Alice," in by_to["alice@example.org"]["msg"].get_body(
        ("plain",)).get_content()
    bob_html = by_to["bob@example.net"]["msg"].get_body(("html",)).get_content()
    assert "Hi Bob &quot;the builder&quot;" in bob_html
    bob = by_to["bob@example.net"]["msg"]
    assert bob["To"].addresses[0].display_name == 'Bob "the builder"'
    assert "Hi there," in by_to["carol@example.com"]["msg"].get_body(
        ("plain",)).get_content()
    # The status shows the three as sent, once committed.
    wait_for(lambda: d.request("GET", "/v1/campaigns/nov-update")[1]
             ["counts"]["sent"] == 3, what="sent counter")
    code, st = d.request("GET", "/v1/campaigns/nov-update")
    assert st["counts"]["queued"] == 0 and st["state"] == "active", st


def test_message_id_is_stable_for_campaign_and_recipient(env):
    smtp = env.start_smtp()
    d = env.daemon()
    d.request("POST", "/v1/campaigns", campaign(cid="a", rcpts=[
        (None, "x@example.org")]))
    d.request("POST", "/v1/campaigns", campaign(cid="b", rcpts=[
        (None, "X@EXAMPLE.org")]))
    msgs = smtp.wait_count(2)
    ids = sorted(m["msg"]["Message-ID"] for m in msgs)
    assert ids[0] != ids[1]
    # Same campaign and address (any case) give the same id.
    import hashlib
    h = hashlib.sha256(b"a\0x@example.org").hexdigest()[:32]
    assert "<%s.a@test.manners.invalid>" % h in ids


def test_bad_input_gets_clear_4xx_and_changes_nothing(env):
    env.start_smtp()
    d = env.daemon()
    # malformed XML: 400 with line and column
    code, r = d.request("POST", "/v1/campaigns",
                        "<campaign id='x' list='a.b'>\n<from>a@b.c</from>\n<oops>\n</campaign>")
    assert code == 400, (code, r)
    assert "line" in r["detail"][0] and "column" in r["detail"][0], r
    # missing pieces: 422 naming each
    code, r = d.request("POST", "/v1/campaigns",
                        "<campaign id='x' list='news.example.com'></campaign>")
    assert code == 422, (code, r)
    joined = " ".join(r["detail"])
    for piece in ("from", "subject", "body", "recipients"):
        assert piece in joined, (piece, r)
    # wrong content type
    code, r = d.request("POST", "/v1/campaigns", campaign(), ctype="text/plain")
    assert code == 415 and "Content-Type" in r["error"], r
    # unknown route, wrong method
    code, r = d.request("GET", "/v1/nope")
    assert code == 404 and r["error"], r
    code, r = d.request("DELETE", "/v1/health")
    assert code == 405, r
    code, r = d.request("PUT", "/v1/campaigns", campaign())
    assert code == 405, r
    # header injection through the subject or a name
    code, r = d.request("POST", "/v1/campaigns",
                        campaign(subject="Hi\r\nBcc: victim@example.org"))
    assert code == 422 and "subject" in " ".join(r["detail"]), r
    code, r = d.request("POST", "/v1/campaigns", campaign(
        rcpts=[("Eve\nBcc: x@example.org", "eve@example.org")]))
    assert code == 422, r
    # a DOCTYPE (entity expansion) is refused
    code, r = d.request("POST", "/v1/campaigns",
                        '<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa">]>'
                        '<campaign id="x" list="a.example"/>')
    assert code == 400, r
    # none of that left a campaign behind
    code, r = d.request("GET", "/v1/campaigns")
    assert code == 200 and r["campaigns"] == [], r


def test_oversize_body_is_refused_with_413(env):
    env.start_smtp()
    d = env.daemon()
    d.stop()
    text = open(d.conf).read().replace("[daemon]\n", "[daemon]\nmax_request = 4k\n", 1)
    open(d.conf, "w").write(text)
    d.start()
    big = campaign(text="y" * 10000)
    code, r = d.request("POST", "/v1/campaigns", big)
    assert code == 413, (code, r)
    assert "max_request" in r["error"] and r["detail"]["max_request"] == 4096
    # a streamed (chunked) body is cut off at the same limit
    code, r = d.request("POST", "/v1/campaigns", big,
                        headers=["Transfer-Encoding: chunked"])
    assert code == 413 and "max_request" in r["error"], (code, r)
    code, r = d.request("GET", "/v1/campaigns")
    assert r["campaigns"] == [], r
    code, r = d.request("POST", "/v1/campaigns", campaign())
    assert code == 202, (code, r)


def test_invalid_addresses_are_counted_and_others_accepted(env):
    smtp = env.start_smtp()
    d = env.daemon()
    doc = campaign(rcpts=[(None, "ok@example.org"), (None, "no-at-sign"),
                          (None, "a b@example.org"), (None, "x@-bad-.org"),
                          (None, "l" * 65 + "@example.org"),
                          (None, "fine@example.net")])
    code, r = d.request("POST", "/v1/campaigns", doc)
    assert code == 202, r
    assert r["accepted"] == 2 and r["rejected"] == {"invalid_address": 4}, r
    smtp.wait_count(2)
    time.sleep(0.3)
    assert len(smtp.messages) == 2


def test_dry_run_reports_and_queues_nothing(env):
    smtp = env.start_smtp()
    d = env.daemon()
    code, r = d.request("POST", "/v1/campaigns?dry_run=1", campaign(
        rcpts=[(None, "a@example.org"), (None, "bad")]))
    assert code == 200, r
    assert r["dry_run"] is True and r["accepted"] == 1, r
    assert r["rejected"] == {"invalid_address": 1}, r
    code, r = d.request("GET", "/v1/campaigns/c1")
    assert code == 404, r
    time.sleep(0.5)
    assert smtp.messages == []


def test_mannersctl_submits_and_reports_status(env):
    smtp = env.start_smtp()
    d = env.daemon()
    path = os.path.join(env.tmp, "c.xml")
    with open(path, "w") as f:
        f.write(campaign(cid="ctl", rcpts=[(None, "a@example.org")]))
    p = d.ctl("--json", "submit", path)
    import json
    r = json.loads(p.stdout)
    assert r["accepted"] == 1, r
    smtp.wait_count(1)
    wait_for(lambda: json.loads(d.ctl("status", "ctl", "--json").stdout)
             ["counts"]["sent"] == 1, what="sent via mannersctl status")
    p = d.ctl("status", "nope", check=False)
    assert p.returncode == 1
    p = subprocess.run([os.environ.get("MANNERSCTL", "mannersctl"), "--socket",
                        os.path.join(env.tmp, "none.sock"), "health"],
                       capture_output=True)
    assert p.returncode == 3 and b"cannot reach" in p.stderr


def test_stale_socket_is_replaced_but_live_daemon_is_not(env):
    env.start_smtp()
    d = env.daemon(start=False)
    # a stale socket file nobody listens on
    s = socket.socket(socket.AF_UNIX)
    s.bind(d.sock)
    s.close()
    d.start()
    assert oct(os.stat(d.sock).st_mode & 0o777) == "0o660"
    # a second daemon on the same socket refuses to start
    other = subprocess.run([os.environ["MANNERSD"], "-c", d.conf],
                           capture_output=True, timeout=20)
    assert other.returncode != 0
    assert b"already" in other.stderr, other.stderr
    assert d.health_ok()


def test_jobs_survive_sigkill_while_relay_is_down(env):
    port = free_port()
    d = env.daemon(smtp_port=port)
    rcpts = [(None, "user%d@example.org" % i) for i in range(20)]
    code, r = d.request("POST", "/v1/campaigns", campaign(cid="k", rcpts=rcpts))
    assert code == 202 and r["accepted"] == 20, r
    # let it fail against the closed port at least once
    wait_for(lambda: "temporary failure" in d.logtext(), what="a failed try")
    d.kill(signal.SIGKILL)
    smtp = env.start_smtp(port)
    d.start()
    msgs = smtp.wait_count(20, timeout=30)
    got = {m["to"][0] for m in msgs}
    assert got == {a for _, a in rcpts}, got
    wait_for(lambda: d.request("GET", "/v1/campaigns/k")[1]["counts"]["sent"]
             == 20, what="all sent committed")


def test_connections_to_the_relay_are_reused(env):
    smtp = env.start_smtp()
    d = env.daemon()
    n = 40
    d.request("POST", "/v1/campaigns", campaign(
        cid="reuse", rcpts=[(None, "c%d@example.org" % i) for i in range(n)]))
    smtp.wait_count(n)
    # concurrency is 4: a handful of sessions, not one per message
    assert 1 <= smtp.handler.sessions <= 8, smtp.handler.sessions


def test_make_install_honours_prefix_and_destdir(env):
    root = os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    dest = os.path.join(env.tmp, "dest")
    p = subprocess.run(["make", "-s", "-C", root, "install", "DESTDIR=" + dest,
                        "PREFIX=/opt/manners"], capture_output=True,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    for f in ("opt/manners/sbin/mannersd", "opt/manners/bin/mannersctl",
              "etc/manners/manners.conf.example",
              "lib/systemd/system/mannersd.service",
              "lib/systemd/system/mannersd.socket",
              "usr/lib/sysusers.d/manners.conf",
              "opt/manners/share/man/man8/mannersd.8",
              "opt/manners/share/man/man1/mannersctl.1",
              "opt/manners/share/man/man5/manners.conf.5"):
        assert os.path.exists(os.path.join(dest, f)), f
    unit = open(os.path.join(dest, "lib/systemd/system/mannersd.service")).read()
    assert "/opt/manners/sbin/mannersd -c" in unit and "@SBINDIR@" not in unit
