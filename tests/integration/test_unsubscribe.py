"""Issue 6: the public unsubscribe pages, RFC 8058 one-click, with curl.

Every link is taken from a message the daemon actually delivered to the
test SMTP server; state is checked through the control API.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time

from harness import campaign, wait_for

LIST = "news.example.com"
MONTH = 30 * 86400


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def later(seconds=3600):
    return "  <send-after>%s</send-after>\n" % iso(time.time() + seconds)


def unsub_url(m):
    """The http link of a delivered message's List-Unsubscribe header."""
    lu = str(m["msg"]["List-Unsubscribe"])
    found = re.search(r"<(https?://[^>]+)>", lu)
    assert found, lu
    return found.group(1)


def deliver(env, d, rcpts, cid="c1", lst=LIST):
    """Send a campaign now and return {address: unsubscribe url}."""
    smtp = env.smtp
    before = len(smtp.messages)
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid=cid, lst=lst, rcpts=[(None, a) for a in rcpts]))
    assert code == 202 and r["accepted"] == len(rcpts), r
    smtp.wait_count(before + len(rcpts))
    # The relay answered; wait until the daemon has recorded it too.
    wait_for(lambda: d.request("GET", "/v1/campaigns/" + cid)[1]["counts"]
             .get("sent") == len(rcpts), what="sends to be committed")
    return {m["to"][0].lower(): unsub_url(m)
            for m in smtp.messages[before:]}


def curl(url, *args):
    """One request: (status, {header: [values]}, body text)."""
    p = subprocess.run(["curl", "-sS", "-i", "--max-time", "20",
                        "-H", "Expect:"] + list(args) + [url],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr.decode()
    head, _, body = p.stdout.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers.setdefault(k.strip().lower(), []).append(v.strip())
    return int(lines[0].split()[1]), headers, body.decode("utf-8", "replace")


def choose(url, choice, multipart=False):
    if multipart:
        return curl(url, "-F", "choice=" + choice)
    return curl(url, "-d", "choice=" + choice)


def recipient(d, addr):
    code, r = d.request("GET", "/v1/recipients/" + addr)
    assert code == 200, r
    return r


def state(d, addr):
    """What an unsubscribe page may change (not the clock-based parts)."""
    r = recipient(d, addr)
    return {k: r[k] for k in ("known", "history", "flags", "preference",
                              "suppressed")}


def assert_page_headers(h):
    assert h["content-type"] == ["text/html; charset=utf-8"], h
    assert h["cache-control"] == ["no-store"], h
    assert "noindex" in h["x-robots-tag"][0], h
    assert h["referrer-policy"] == ["no-referrer"], h
    csp = h["content-security-policy"][0]
    assert "default-src 'none'" in csp and "script-src" not in csp, csp
    assert "unsafe-inline" not in csp, csp
    assert "set-cookie" not in h and "location" not in h, h


def test_get_shows_the_page_and_changes_nothing(env):
    env.start_smtp()
    d = env.daemon()
    urls = deliver(env, d, ["alice@example.org"])
    url = urls["alice@example.org"]
    before = state(d, "alice@example.org")
    code, h, body = curl(url)
    assert code == 200, body
    assert_page_headers(h)
    # The sender as the campaign's <from name> says, not the list's id.
    assert "<title>Your messages from Example Shop</title>" in body
    assert "Unsubscribe from news.example.com" in body
    assert "Unsubscribe from every list, not just this one" in body
    assert "Send me at most one message a month" in body
    for c in ("list", "all", "weekly", "monthly", "pause", "plain"):
        assert 'for="choice-%s"' % c in body and 'value="%s"' % c in body
    assert "al***@example.org" in body
    assert "alice" not in body
    assert "<script" not in body.lower()
    assert '<meta name="viewport"' in body
    # A form posting back to the page itself.
    token = url.rsplit("/", 1)[1]
    assert '<form method="post" action="%s">' % token in body
    # HEAD: the same answer without a body.
    code, h, body = curl(url, "-I")
    assert code == 200 and body == "", body
    assert_page_headers(h)
    # Scanners fetch links many times, with query strings of their own.
    for _ in range(3):
        assert curl(url)[0] == 200
    assert curl(url + "?utm_source=scanner")[0] == 200
    assert state(d, "alice@example.org") == before
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="c2", rcpts=[(None, "alice@example.org")]))
    assert r["accepted"] == 1, r


def test_one_click_form_urlencoded(env):
    env.start_smtp()
    d = env.daemon()
    url = deliver(env, d, ["alice@example.org"])["alice@example.org"]
    code, h, body = curl(url, "-d", "List-Unsubscribe=One-Click")
    assert code == 200, body
    assert_page_headers(h)
    assert "You are unsubscribed" in body, body
    assert "will get no more messages from news.example.com" in body
    assert "alice@" not in body
    r = recipient(d, "alice@example.org")
    assert [(f["list"], f["source"]) for f in r["flags"]] == [
        (LIST, "one-click")], r
    assert r["next_allowed"][LIST] is None, r
    # A second request (providers retry) is answered the same, once stored.
    code, h, body = curl(url, "-d", "List-Unsubscribe=One-Click")
    assert code == 200
    assert len(recipient(d, "alice@example.org")["flags"]) == 1
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="c2", rcpts=[(None, "alice@example.org")]))
    assert r["rejected"] == {"unsubscribed": 1}, r


def test_one_click_multipart(env):
    env.start_smtp()
    d = env.daemon()
    urls = deliver(env, d, ["alice@example.org", "bob@example.net"])
    code, h, body = curl(urls["bob@example.net"], "-F",
                         "List-Unsubscribe=One-Click")
    assert code == 200, body
    assert "location" not in h and "set-cookie" not in h, h
    r = recipient(d, "bob@example.net")
    assert [(f["list"], f["source"]) for f in r["flags"]] == [
        (LIST, "one-click")], r
    assert recipient(d, "alice@example.org")["flags"] == []


def test_each_form_choice_and_its_undo(env):
    env.start_smtp()
    d = env.daemon()
    url = deliver(env, d, ["carol@example.com"])["carol@example.com"]
    addr = "carol@example.com"

    code, h, body = choose(url, "list")
    assert code == 200, body
    assert_page_headers(h)
    assert "<h1>You are unsubscribed</h1>" in body
    assert 'name="choice" value="undo-list"' in body
    assert " checked" not in body
    # A second visit knows: the state, a way back, nothing preselected.
    code, h, body = curl(url)
    assert code == 200, body
    assert "You are unsubscribed from news.example.com." in body, body
    assert 'value="undo-list">Subscribe me to news.example.com again' in body
    assert 'value="list"' not in body and " checked" not in body
    r = recipient(d, addr)
    assert [(f["list"], f["source"]) for f in r["flags"]] == [
        (LIST, "link")], r
    code, h, body = choose(url, "undo-list")
    assert code == 200 and "You are subscribed again" in body, body
    r = recipient(d, addr)
    assert r["flags"] == [], r
    # The resubscribe is kept, with its source.
    assert [(c["action"], c["list"], c["source"]) for c in r["consent"]] == [
        ("resubscribed", LIST, "link")], r
    assert " checked" not in body, "after an undo nothing is preselected"
    assert "You are subscribed to news.example.com." in body

    code, h, body = choose(url, "all", multipart=True)
    assert code == 200, body
    assert "<h1>You are unsubscribed from everything</h1>" in body
    assert 'value="undo-all"' in body
    r = recipient(d, addr)
    assert [(f["list"], f["source"]) for f in r["flags"]] == [
        ("*", "link")], r
    code, r2 = d.request("POST", "/v1/campaigns", campaign(
        cid="other", lst="shop.example.com", rcpts=[(None, addr)]))
    assert r2["rejected"] == {"unsubscribed": 1}, r2
    code, h, body = choose(url, "undo-all", multipart=True)
    assert code == 200 and "You are subscribed again" in body, body
    assert recipient(d, addr)["flags"] == []

    code, h, body = choose(url, "monthly")
    assert code == 200, body
    assert "will get at most one message a month" in body
    assert 'value="undo-monthly"' in body
    assert "<li>At most one message a month.</li>" in curl(url)[2]
    p = recipient(d, addr)["preference"]
    assert (p["max"], p["window"], p["source"]) == (1, MONTH, "link"), p
    code, h, body = choose(url, "undo-monthly")
    assert code == 200 and "The monthly limit is removed" in body, body
    assert recipient(d, addr)["preference"] is None

    # Unknown, missing or unreadable choices change nothing.
    before = state(d, addr)
    for args in (["-d", "choice=delete-everything"], ["-d", "choice="],
                 ["-d", "nothing=here"], ["-X", "POST"],
                 ["-F", "choice=LIST"], ["-d", "List-Unsubscribe=Two-Click"],
                 ["-H", "Content-Type: multipart/form-data; boundary=x",
                  "--data-binary", "--x\r\nContent-Disposition: form-data; "
                  "name=\"choice\"\r\n\r\nlist"]):
        code, h, body = curl(url, *args)
        assert code == 400, (args, code, body)
        assert "nothing was changed" in body, body
        assert_page_headers(h)
    assert state(d, addr) == before

    # A page cannot lift an administrator's unsubscribe.
    code, u = d.request("POST", "/v1/unsubscribes", json.dumps(
        {"address": addr, "list": LIST}), ctype="application/json")
    assert code == 200, u
    body = curl(url)[2]
    assert "The sender has unsubscribed you from news.example.com." in body
    assert 'value="undo-list"' not in body, "no button for what it cannot do"
    code, h, body = choose(url, "undo-list")
    assert code == 200 and "administrator" in body, body
    r = recipient(d, addr)
    assert [(f["list"], f["source"]) for f in r["flags"]] == [
        (LIST, "admin")], r


def test_unsubscribe_drops_queued_jobs_at_once(env):
    env.start_smtp()
    d = env.daemon()
    addr = "dan@example.org"
    url = deliver(env, d, [addr])[addr]
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="later", rcpts=[(None, addr), (None, "erin@example.org")],
        extra=later()))
    assert code == 202 and r["accepted"] == 2, r
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="shop", lst="shop.example.com", rcpts=[(None, addr)],
        extra=later()))
    assert r["accepted"] == 1, r

    code, h, body = choose(url, "list")
    assert code == 200, body
    code, st = d.request("GET", "/v1/campaigns/later")
    assert st["counts"]["dropped"] == 1 and st["counts"]["queued"] == 1, st
    code, st = d.request("GET", "/v1/campaigns/shop")
    assert st["counts"]["queued"] == 1, "another list is not affected"
    hist = [(x["campaign"], x["state"]) for x in recipient(d, addr)["history"]]
    assert ("later", "queued") not in hist and ("shop", "queued") in hist
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="next", rcpts=[(None, addr)]))
    assert r["rejected"] == {"unsubscribed": 1}, r

    # "Everything" reaches the other list's queued job too.
    code, h, body = choose(url, "all")
    assert code == 200, body
    code, st = d.request("GET", "/v1/campaigns/shop")
    assert st["counts"]["dropped"] == 1 and st["counts"]["queued"] == 0, st
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="shop2", lst="shop.example.com", rcpts=[(None, addr)]))
    assert r["rejected"] == {"unsubscribed": 1}, r


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def forge(key, rid, lid, issued, kid=None):
    """A token as token.h lays it out, signed with key."""
    if kid is None:
        kid = hashlib.sha256(key).digest()[0]
    head = struct.pack(">BBIQI", 1, kid, issued, rid, lid)
    return b64url(head + hmac.new(key, head, hashlib.sha256).digest()[:16])


def secret_key(d):
    with open(os.path.join(d.tmp, "secret")) as f:
        lines = [x.strip() for x in f if x.strip() and
                 not x.startswith("#")]
    return bytes.fromhex(lines[-1])


def test_bad_links_get_one_page_that_leaks_nothing(env):
    env.start_smtp()
    d = env.daemon()
    addr = "frank@example.org"
    url = deliver(env, d, [addr])[addr]
    base, token = url.rsplit("/", 1)
    raw = base64.urlsafe_b64decode(token + "==")
    rid, lid = struct.unpack(">QI", raw[6:18])
    key = secret_key(d)
    # Our own forgery with the real key must be accepted: the layout is right.
    good = forge(key, rid, lid, int(time.time()))
    assert curl(base + "/" + good)[0] == 200

    def flip(s, i):
        return s[:i] + ("A" if s[i] != "A" else "B") + s[i + 1:]

    other = os.urandom(32)
    bad = {
        "forged": flip(token, len(token) // 2),
        "last char": flip(token, len(token) - 1),
        "truncated": token[:-1],
        "half": token[:23],
        "oversized": "A" * 5000,
        "too long by one": token + "A",
        "garbage": "not-a-token_at-all",
        "percent": "%3Cscript%3E",
        "empty": "",
        "trailing slash": token + "/",
        "wrong key": forge(other, rid, lid, int(time.time())),
        "wrong key, same kid": forge(other, rid, lid, int(time.time()),
                                     kid=raw[1]),
        "expired": forge(key, rid, lid, int(time.time()) - 4 * 366 * 86400),
        "from the future": forge(key, rid, lid, int(time.time()) + 7 * 86400),
        "unknown recipient": forge(key, rid + 1000, lid, int(time.time())),
        "unknown list": forge(key, rid, lid + 1000, int(time.time())),
    }
    before = state(d, addr)
    pages = set()
    for what, t in bad.items():
        for args in ([], ["-d", "List-Unsubscribe=One-Click"],
                     ["-F", "choice=all"]):
            code, h, body = curl(base + "/" + t, *args)
            assert code == 404, (what, args, code)
            assert_page_headers(h)
            assert "This link is not valid" in body, (what, body)
            for leak in ("frank", "fr***", "example.org", LIST):
                assert leak not in body, (what, leak)
            pages.add(body)
    assert len(pages) == 1, "every bad link gets the same page"
    assert state(d, addr) == before

    # Nothing else is served.
    for path in ("/", "/u", "/index.html", "/favicon.ico", "/v1/health",
                 "/metrics", "/U/" + token, "/u" + token, "/x/u/" + token):
        code, h, body = curl(base.rsplit("/u", 1)[0] + path, "--path-as-is")
        assert code == 404, (path, code)
        assert "Page not found" in body and "frank" not in body
    for method in ("PUT", "DELETE", "OPTIONS"):
        code, h, body = curl(url, "-X", method)
        assert code >= 400, (method, code)
    # Bounded requests: evhttp refuses them before our handler runs.
    code, h, body = curl(url, "--data-binary", "choice=all&x=" + "y" * 20000)
    assert code == 413, code
    code, h, body = curl(url, "-H", "X-Big: " + "z" * 9000)
    assert code >= 400, code
    assert state(d, addr) == before
    assert "Unsubscribe from news.example.com" in curl(url)[2]


def test_control_socket_answers_during_a_bad_token_flood(env):
    d = env.daemon()
    port = d.public_port
    total, nthreads = 2000, 8
    results = []
    lock = threading.Lock()

    def health_ms():
        """GET /v1/health on the control socket, timed, without a curl
        process in between."""
        t0 = time.monotonic()
        c = socket.socket(socket.AF_UNIX)
        c.settimeout(10)
        c.connect(d.sock)
        c.sendall(b"GET /v1/health HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
        c.close()
        assert data.split(b" ", 2)[1] == b"200", data[:200]
        return (time.monotonic() - t0) * 1000

    def flood(n, seed):
        codes = []
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        for i in range(n):
            tok = base64.urlsafe_b64encode(os.urandom(34)).rstrip(b"=")
            tok = tok.decode()
            if i % 3 == 0:
                conn.request("POST", "/u/" + tok, "List-Unsubscribe=One-Click",
                             {"Content-Type":
                              "application/x-www-form-urlencoded"})
            else:
                conn.request("GET", "/u/" + tok + ("x" * (seed + i % 50)))
            resp = conn.getresponse()
            resp.read()
            codes.append(resp.status)
        conn.close()
        with lock:
            results.extend(codes)

    before = [health_ms() for _ in range(5)]
    threads = [threading.Thread(target=flood, args=(total // nthreads, i))
               for i in range(nthreads)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    during = []
    while any(t.is_alive() for t in threads):
        during.append(health_ms())
        time.sleep(0.005)
    for t in threads:
        t.join()
    flood_s = time.monotonic() - t0
    after = [health_ms() for _ in range(5)]
    print("    flood: %d bad links in %.2fs; health ms before %.1f, during "
          "max %.1f (n=%d), after %.1f" % (
              len(results), flood_s, max(before),
              max(during) if during else 0, len(during), max(after)))
    assert len(results) == total and set(results) == {404}, set(results)
    assert during, "the flood ended before a health check could run"
    assert d.alive()
    # Each was turned away by the HMAC check, before any store lookup.
    assert d.logtext().count("public: invalid link") >= total


def test_public_listen_in_use_is_a_clear_fatal_error(env):
    d = env.daemon(start=False)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", d.public_port))
    s.listen(1)
    try:
        d.start(wait=False)
        wait_for(lambda: not d.alive(), 10, what="mannersd to give up")
        rc = d.proc.returncode
        d.logf.close()
        d.proc = None
        assert rc != 0, rc
        want = ("cannot listen on 127.0.0.1:%d for unsubscribe pages: "
                "Address already in use; set public_listen" % d.public_port)
        assert want in d.logtext(), d.logtext()
    finally:
        s.close()
