"""Issue 14 (campaign and form classes): hostile input is refused with an
answer that names the real problem, and nothing changes.

Forms go to the public listener as raw bytes over TCP (curl would
normalise them); campaign documents go over the control socket as they
are.  After every refusal the test looks at the state the request aimed
at: no campaign, no queue, the person's flags as before.
"""
import os
import socket
import subprocess
import time

from harness import MANNERSD, campaign
from test_unsubscribe import deliver, state

LIST = "news.example.com"


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def post_raw(port, path, body, ctype="application/x-www-form-urlencoded"):
    """POST body (bytes) as it is; (status, response text)."""
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
            "Content-Type: %s\r\nContent-Length: %d\r\n"
            "Connection: close\r\n\r\n" % (path, port, ctype, len(body)))
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        s.sendall(head.encode("latin-1") + body)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    status = int(out.split(b" ", 2)[1])
    return status, out.decode("utf-8", "replace")


def no_campaign(d, cid="c1"):
    code, r = d.request("GET", "/v1/campaigns/" + cid)
    assert code == 404, (cid, code, r)


def refused(d, body, status, want, cid="c1"):
    """Submit body; expect status and a detail line containing want."""
    code, r = d.request("POST", "/v1/campaigns", body)
    assert code == status, (code, r, want)
    assert isinstance(r, dict), r
    detail = " | ".join(r.get("detail", []))
    assert want in detail, (want, r)
    no_campaign(d, cid)
    return r


HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<campaign id="c1" list="news.example.com">
  <from name="Example Shop">news@example.com</from>
  <reply-to>help@example.com</reply-to>
  <subject>Hello</subject>
  <send-after>%(after)s</send-after>
  <expires>%(expires)s</expires>
  <text>Hi {{unsubscribe_url}}</text>
  <html><![CDATA[<a href="{{unsubscribe_url}}">u</a>]]></html>
  <recipients><to>alice@example.org</to></recipients>
%(extra)s</campaign>
"""


def full_doc(extra=""):
    now = time.time()
    return HEAD % {"after": iso(now + 3600), "expires": iso(now + 86400),
                   "extra": extra}


def test_a_second_singleton_element_is_refused_with_its_line(env):
    env.start_smtp()
    d = env.daemon()
    # The document without a duplicate is accepted (so the rows test
    # the duplicate, not something else): dry run, nothing queued.
    code, r = d.request("POST", "/v1/campaigns?dry_run=1", full_doc())
    assert code == 200 or code == 202, r
    rows = [
        ("from", "  <from>eve@evil.example</from>\n", 3),
        ("reply-to", "  <reply-to>eve@evil.example</reply-to>\n", 4),
        ("subject", "  <subject>Other</subject>\n", 5),
        ("send-after", "  <send-after>%s</send-after>\n" % iso(
            time.time() + 60), 6),
        ("expires", "  <expires>%s</expires>\n" % iso(
            time.time() + 7 * 86400), 7),
        ("text", "  <text>other {{unsubscribe_url}}</text>\n", 8),
        ("html", "  <html>other</html>\n", 9),
        ("recipients", "  <recipients><to>eve@evil.example</to>"
         "</recipients>\n", 10),
    ]
    for el, extra, first in rows:
        r = refused(d, full_doc(extra), 422,
                    "line 11: a second <%s> (the first is on line %d)" % (
                        el, first))
    code, r = d.request("GET", "/v1/recipients/eve@evil.example")
    assert code == 200 and not r.get("history"), r


def test_control_characters_in_a_campaign_are_refused_naming_the_field(env):
    env.start_smtp()
    d = env.daemon()
    refused(d, campaign(subject="Hi\u0085there"), 422, "subject: contains")
    refused(d, campaign(subject="Hi&#x85;there").replace(
        "&amp;#x85;", "&#x85;"), 422, "subject: contains")
    refused(d, campaign().replace('name="Example Shop"',
                                  'name="Shop&#x9b;"'), 422,
            "from: the name attribute")
    refused(d, campaign(rcpts=[("Eve\u0085", "alice@example.org")]), 422,
            "<to> name must be one line")
    refused(d, campaign(text="a\u0085b {{unsubscribe_url}}"), 422,
            "text: contains a control character")
    refused(d, campaign(html="<p>\u007f</p><a href=\"{{unsubscribe_url}}\">"
                        "u</a>"), 422, "html: contains a control character")
    assert d.request("GET", "/v1/recipients/alice@example.org")[1].get(
        "history") in (None, [], {}), "nothing was queued"


def test_bodies_that_are_not_campaigns_say_what_they_are(env):
    env.start_smtp()
    d = env.daemon()
    rows = [
        (b"", "the body is empty"),
        (b"\r\n  \n", "the body is empty"),
        (b'<?xml version="1.0"?>\n', "only a prolog"),
        (b'<?xml version="1.0"?>\n<!-- nothing here -->\n',
         "only a prolog"),
        (b'{"id": "c1", "list": "news.example.com"}', "it looks like JSON"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "starts with binary data"),
        (b"\x00\x01\x02\x03", "starts with binary data"),
    ]
    for body, want in rows:
        r = refused(d, body, 400, want)
        detail = " ".join(r["detail"])
        assert "Extra content" not in detail, r
        assert "Document is empty" not in detail, r


def test_an_expires_in_1970_is_in_the_past(env):
    env.start_smtp()
    d = env.daemon()
    for t in ("1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z"):
        r = refused(d, campaign(extra="  <expires>%s</expires>\n" % t), 422,
                    "is in the past")
        assert "not an RFC 3339 time" not in " ".join(r["detail"]), r


def test_campaign_ids_that_make_bad_message_ids_are_refused(env):
    env.start_smtp()
    d = env.daemon()
    for cid in ("a..b", ".c1", "c1."):
        refused(d, campaign(cid=cid), 422, "campaign: id", cid="c1")


def test_form_values_with_control_characters_change_nothing(env):
    env.start_smtp()
    d = env.daemon()
    url = deliver(env, d, ["alice@example.org"])["alice@example.org"]
    path = "/" + url.split("/", 3)[3]
    before = state(d, "alice@example.org")
    mp = "multipart/form-data; boundary=XyZ"
    rows = [
        (b"choice=list%00", None),
        (b"choice=list%00x", None),
        (b"List-Unsubscribe=One-Click%00", None),
        (b"List-Unsubscribe=One-Click%00&choice=all", None),
        (b"choice=all%0A", None),
        (b"choice=all%C2%85", None),
        (b"choice=all%7F", None),
        (b"choice=monthly%E9", None),
        (b"choice=list%", None),
        (b"choice=list\x00", None),
        (b'--XyZ\r\nContent-Disposition: form-data; name="choice"\r\n\r\n'
         b'list\x00\r\n--XyZ--\r\n', mp),
        (b'--XyZ\r\nContent-Disposition: form-data; '
         b'name="List-Unsubscribe"\r\n\r\nOne-Click\xc2\x85\r\n--XyZ--\r\n',
         mp),
    ]
    for body, ctype in rows:
        if ctype is None:
            code, text = post_raw(d.public_port, path, body)
        else:
            code, text = post_raw(d.public_port, path, body, ctype)
        assert code == 400, (body, code, text[:300])
        assert "You are unsubscribed" not in text, body
        assert state(d, "alice@example.org") == before, body
    # The same request without the control character does change it.
    code, text = post_raw(d.public_port, path, b"choice=list")
    assert code == 200, text[:300]
    assert state(d, "alice@example.org") != before


def check_conf(env, key, value):
    """mannersd -t on a config with key = value under [daemon]."""
    path = os.path.join(env.tmp, "check.conf")
    with open(path, "w") as f:
        f.write("[daemon]\n%s = %s\n" % (key, value))
    return subprocess.run([MANNERSD, "-t", "-c", path], capture_output=True,
                          timeout=30)


def test_mannersd_t_checks_every_listen_address(env):
    for key in ("public_listen", "metrics_listen"):
        for bad in ("127.0.0.1:9100abc", "127.0.0.1", "127.0.0.1:0",
                    "127.0.0.1:65536", "[::1:9100", "host name:80"):
            p = check_conf(env, key, bad)
            err = p.stderr.decode()
            assert p.returncode != 0, (key, bad, err)
            assert "%s = %s: want HOST:PORT" % (key, bad) in err, err
            assert "check.conf:2:" in err, err
        for good in ("127.0.0.1:9100", "[::1]:9100", "*:9100",
                     "localhost:9100"):
            p = check_conf(env, key, good)
            assert p.returncode == 0, (key, good, p.stderr.decode())


def test_a_bad_metrics_listen_is_refused_at_start(env):
    env.start_smtp()
    d = env.daemon(extra="", start=False)
    d.set_conf("daemon", "metrics_listen", "127.0.0.1:9100abc")
    d.start(wait=False)
    deadline = time.monotonic() + 10
    while d.alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not d.alive()
    assert "metrics_listen = 127.0.0.1:9100abc: want HOST:PORT" in \
        d.logtext()
    d.proc = None
