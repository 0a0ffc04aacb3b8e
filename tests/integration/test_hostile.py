"""Issue 14: hostile clients at the HTTP transport, on both listeners.

Every request here is raw bytes on a socket (curl and http.client
normalise what they send).  Each test checks the answer, that the
connection is closed where it must be, and that nothing changed: the
unsubscribe flag, the campaign, the queue.
"""
import json
import re
import socket
import time

from harness import campaign, wait_for
from test_unsubscribe import LIST, deliver, later, state

ADDR = "alice@example.org"


def connect(d, where):
    """A socket to the control socket ("c") or the public listener ("p")."""
    if where == "c":
        s = socket.socket(socket.AF_UNIX)
        s.connect(d.sock)
    else:
        s = socket.create_connection(("127.0.0.1", d.public_port))
    return s


def exchange(d, where, data, wait=5.0):
    """Send data, read until the server closes or `wait` passes.
    Returns (bytes read, whether the server closed)."""
    s = connect(d, where)
    s.settimeout(wait)
    try:
        s.sendall(data)
    except OSError:
        pass
    got, closed = b"", False
    end = time.monotonic() + wait
    while time.monotonic() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            closed = True
            break
        if not chunk:
            closed = True
            break
        got += chunk
    s.close()
    return got, closed


def responses(data):
    """[(status, {header: value}, body)] of every answer in data."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = int(hdrs.get("content-length", len(rest)))
        out.append((int(lines[0].split()[1]), hdrs, rest[:n]))
        data = rest[n:]
    return out


def one(d, where, data, wait=5.0):
    """Exactly one answer, and the server closed the connection."""
    got, closed = exchange(d, where, data, wait)
    rs = responses(got)
    assert len(rs) == 1, got[:600]
    assert closed, "connection left open after %r" % got[:200]
    return rs[0]


def json_error(r, code):
    status, hdrs, body = r
    assert status == code, r
    assert hdrs["content-type"] == "application/json", r
    return json.loads(body)["error"]


def page_headers(r, code):
    status, hdrs, body = r
    assert status == code, r
    assert hdrs["content-type"] == "text/html; charset=utf-8", r
    assert hdrs["x-content-type-options"] == "nosniff", r
    assert "default-src 'none'" in hdrs["content-security-policy"], r
    assert hdrs["cache-control"] == "no-store", r
    return body.decode()


def setup(env):
    """A daemon, one delivered message with its link, one queued campaign."""
    env.start_smtp()
    d = env.daemon()
    url = deliver(env, d, [ADDR])[ADDR]
    path = re.sub(r"^https?://[^/]+", "", url)
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="later", lst=LIST, rcpts=[(None, "carol@example.net")],
        extra=later()))
    assert code == 202, r
    return d, path


def unchanged(d, before):
    """The flag, the campaign and the queue are as they were."""
    assert state(d, ADDR) == before
    code, r = d.request("GET", "/v1/campaigns/later")
    assert code == 200 and r["state"] != "cancelled", r
    assert r["counts"].get("queued", 0) + r["counts"].get("deferred", 0) \
        == 1, r


def oneclick(path, extra=b""):
    body = b"List-Unsubscribe=One-Click"
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n" + extra +
            b"Content-Length: %d\r\n\r\n" % len(body) + body)


def test_smuggled_content_length_changes_nothing(env):
    d, path = setup(env)
    before = state(d, ADDR)
    # A bogus token's POST carrying a real one-click request.
    inner = oneclick(path)
    outer = (b"POST /u/AAAA HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
             b"Content-Length: %d\r\n\r\n" % len(inner))
    r = one(d, "p", outer + inner)
    page_headers(r, 400)
    # On the control socket, a smuggled DELETE.
    inner = b"DELETE /v1/campaigns/later HTTP/1.1\r\nHost: x\r\n\r\n"
    for cls in (b"Content-Length: 0\r\nContent-Length: %d\r\n" % len(inner),
                b"Content-Length: 0\r\nContent-Length: 0\r\n",
                b"Content-Length: 0, %d\r\n" % len(inner)):
        r = one(d, "c", b"GET /v1/health HTTP/1.1\r\nHost: x\r\n" + cls +
                b"\r\n" + inner)
        assert "Content-Length" in json_error(r, 400)
    unchanged(d, before)


def test_transfer_encoding_other_than_final_chunked(env):
    d, path = setup(env)
    before = state(d, ADDR)
    inner = oneclick(path)
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(inner), inner)
    for te in (b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",
               b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
               b"Transfer-Encoding: chunked, identity\r\n",
               b"Transfer-Encoding: identity\r\n",
               b"Transfer-Encoding: xchunked\r\n",
               b"Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n",
               b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"):
        req = b"POST /u/AAAA HTTP/1.1\r\nHost: x\r\n" + te + b"\r\n"
        page_headers(one(d, "p", req + chunked), 400)
        req = b"POST /v1/health HTTP/1.1\r\nHost: x\r\n" + te + b"\r\n"
        assert "Transfer-Encoding" in json_error(one(d, "c", req + chunked),
                                                 400)
    unchanged(d, before)


def test_control_characters_in_headers(env):
    d, path = setup(env)
    before = state(d, ADDR)
    doc = campaign(cid="nul", rcpts=[(None, "dave@example.net")]).encode()
    for h in (b"Content-Type: application/xml\x00text/plain\r\n",
              b"Content-Type: application/xml\r\nX-A: a\x00b\r\n",
              b"Content-Type: application/xml\r\nX-A: a\x01b\r\n",
              b"Content-Type: application/xml\r\nX-A: a\rb\r\n",
              b"Content-Type: application/xml\r\nX-A: a\x7fb\r\n"):
        req = (b"POST /v1/campaigns HTTP/1.1\r\nHost: x\r\n" + h +
               b"Content-Length: %d\r\n\r\n" % len(doc) + doc)
        assert "control character" in json_error(one(d, "c", req), 400)
        code, _ = d.request("GET", "/v1/campaigns/nul")
        assert code == 404
    r = one(d, "p", oneclick(path, b"X-A: \x00\r\n"))
    page_headers(r, 400)
    r = one(d, "p", oneclick(path).replace(b"urlencoded",
                                           b"urlencoded\x00x"))
    page_headers(r, 400)
    unchanged(d, before)


def test_methods_never_leave_a_client_hanging(env):
    d, path = setup(env)
    before = state(d, ADDR)
    for m in (b"TRACE", b"OPTIONS", b"PUT", b"PATCH", b"DELETE"):
        req = m + b" " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" \
            b"Connection: close\r\n\r\n"
        got, _ = exchange(d, "p", req, wait=3)
        rs = responses(got)
        assert len(rs) == 1, (m, got[:300])
        page_headers(rs[0], 405)
        assert rs[0][1]["allow"] == "GET, HEAD, POST", rs[0]
        req = m + b" /elsewhere HTTP/1.1\r\nHost: x\r\n" \
            b"Connection: close\r\n\r\n"
        got, _ = exchange(d, "p", req, wait=3)
        page_headers(responses(got)[0], 404)
        # The control socket answers in JSON, never evhttp's 501 page.
        req = m + b" /v1/health HTTP/1.1\r\nHost: x\r\n" \
            b"Connection: close\r\n\r\n"
        got, _ = exchange(d, "c", req, wait=3)
        rs = responses(got)
        assert len(rs) == 1 and rs[0][0] in (404, 405), (m, got[:300])
        assert rs[0][1]["content-type"] == "application/json", rs
    # CONNECT: answered and closed whatever its target, even when the
    # client asks to keep the connection (evhttp's answer to it has no
    # length: only the close ends it).
    for target in (b"example.com:443", path.encode()):
        req = b"CONNECT " + target + b" HTTP/1.1\r\nHost: x\r\n" \
            b"Connection: keep-alive\r\n\r\n"
        got, closed = exchange(d, "c", req, wait=3)
        assert closed and got.split(b" ")[1] in (b"400", b"404",
                                                 b"405"), got
        assert b"application/json" in got, got
        got, closed = exchange(d, "p", req, wait=3)
        assert closed and got.split(b" ")[1] in (b"400", b"404",
                                                 b"405"), got
        assert b"X-Content-Type-Options: nosniff" in got, got[:400]
    unchanged(d, before)


def test_malformed_http_gets_the_listeners_own_errors(env):
    d, _ = setup(env)
    for bad in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                b"GET /v1/health HTTP/1.1\r\nNo colon here\r\n\r\n",
                b"GET /v1/health HTTP/1.1\r\nX-A : b\r\n\r\n",
                b"GET /v1/health HTTP/1.1\r\n folded: x\r\n\r\n",
                b"G\x00T /v1/health HTTP/1.1\r\n\r\n",
                b"GET /v1/he\x00lth HTTP/1.1\r\n\r\n",
                b"GET //host/v1/health HTTP/1.1\r\n\r\n",
                b"GET /v1/health\"x HTTP/1.1\r\n\r\n"):
        status, hdrs, body = one(d, "c", bad)
        assert status in (400, 501, 505), (bad, status)
        assert hdrs["content-type"] == "application/json", (bad, hdrs)
        json.loads(body)["error"]
        status, hdrs, body = one(d, "p", bad)
        page_headers((status, hdrs, body), status)


def test_chunk_sizes_name_their_problem(env):
    d, _ = setup(env)
    head = b"POST /v1/campaigns HTTP/1.1\r\nHost: x\r\n" \
        b"Content-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n"
    for size in (b"-5", b"12345678901234567890", b"zz", b""):
        err = json_error(one(d, "c", head + size + b"\r\nabcde\r\n0\r\n\r\n"),
                         400)
        assert "chunk size" in err and "max_request" not in err, err
    # Too large for max_request is 413, and says so.
    err = json_error(one(d, "c", head + b"7fffffffffff\r\nabc"), 413)
    assert "max_request" in err, err


def test_post_without_a_length_is_411(env):
    d, path = setup(env)
    before = state(d, ADDR)
    for route in (b"/v1/unsubscribes", b"/v1/campaigns?dry_run=1",
                  b"/v1/feedback"):
        req = b"POST " + route + b" HTTP/1.1\r\nHost: x\r\n" \
            b"Content-Type: application/json\r\n\r\n" \
            b'{"address": "alice@example.org"}'
        assert "Content-Length" in json_error(one(d, "c", req), 411)
    # Pause and resume take no body: no length is right there.
    req = b"POST /v1/campaigns/later/pause HTTP/1.1\r\nHost: x\r\n" \
        b"Connection: close\r\n\r\n"
    assert responses(exchange(d, "c", req)[0])[0][0] == 200
    req = b"POST /v1/campaigns/later/resume HTTP/1.1\r\nHost: x\r\n" \
        b"Connection: close\r\n\r\n"
    assert responses(exchange(d, "c", req)[0])[0][0] == 200
    # On the public page a POST without a body asks for a choice (as
    # before); the one-click body that followed is not applied.
    req = b"POST " + path.encode() + b" HTTP/1.1\r\nHost: x\r\n" \
        b"Connection: close\r\n" \
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n" \
        b"List-Unsubscribe=One-Click"
    page_headers(one(d, "p", req), 400)
    unchanged(d, before)


def test_a_request_dripped_byte_by_byte_is_cut(env):
    env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("daemon", "request_timeout", "2s")
    d.start()
    for where in ("c", "p"):
        s = connect(d, where)
        s.settimeout(1)
        t0 = time.monotonic()
        line = b"GET /v1/health HTTP/1.1\r\nX-Slow: " + b"a" * 100
        got, closed = b"", False
        for i in range(len(line)):
            try:
                s.sendall(line[i:i + 1])
            except OSError:
                closed = True
                break
            try:
                chunk = s.recv(4096)
                if not chunk:
                    closed = True
                    break
                got += chunk
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
                break
            if time.monotonic() - t0 > 8:
                break
        took = time.monotonic() - t0
        s.close()
        assert closed and took < 4.5, (where, took, got[:200])
        if got:
            assert responses(got)[0][0] == 408, got[:200]
    assert d.health_ok()


def test_open_connections_are_bounded(env):
    env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("daemon", "max_connections", "5")
    d.start()
    for where in ("c", "p"):
        held = [connect(d, where) for _ in range(5)]
        time.sleep(0.3)
        got, closed = exchange(d, where,
                               b"GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n",
                               wait=3)
        rs = responses(got)
        assert closed and len(rs) == 1 and rs[0][0] == 503, got[:300]
        for s in held:
            s.close()
        time.sleep(0.3)
        if where == "c":
            wait_for(d.health_ok, what="health after the others closed")
    assert "too many connections" in d.logtext()


def test_log_lines_cannot_be_forged(env):
    env.start_smtp()
    d = env.daemon()
    # The refusal quotes the id: CR, LF and a C1 control (NEL) in it.
    doc = campaign(cid="a&#13;&#10;error: forged by a client&#x85;x")
    code, r = d.request("POST", "/v1/campaigns", doc)
    assert code == 422, r
    wait_for(lambda: "forged by a client" in d.logtext(),
             what="the id in the log")
    raw = open(d.log, "rb").read()
    for ln in raw.split(b"\n"):
        assert not ln.startswith(b"error: forged"), ln
        assert b"\r" not in ln and b"\xc2\x85" not in ln, ln
        ln.decode("utf-8")  # every line is valid UTF-8


def test_a_request_behind_a_body_split_across_reads_is_still_checked(env):
    """Body bytes of a known length stay where they arrive (the guard
    counts them); a request that begins in the same read as a body's end
    must still be checked, here a smuggling one that must not run."""
    d, path = setup(env)
    before = state(d, ADDR)
    body = b'{"address": "nobody@example.org"}'
    head = (b"POST /v1/unsubscribes HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    inner = b"DELETE /v1/campaigns/later HTTP/1.1\r\nHost: x\r\n\r\n"
    smuggler = (b"GET /v1/health HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                b"Content-Length: %d\r\n\r\n" % len(inner)) + inner
    s = connect(d, "c")
    s.settimeout(5)
    s.sendall(head + body[:10])
    time.sleep(0.3)                   # the body's first part: one read
    s.sendall(body[10:] + smuggler)   # its end and the next request: one
    got = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    s.close()
    rs = responses(got)
    # The refusal goes out at once, and may overtake the good request's
    # answer, which is then lost (README: pipelining); the smuggled
    # DELETE never runs.
    assert rs and rs[-1][0] == 400, got[:800]
    assert "Content-Length" in json.loads(rs[-1][2])["error"]
    unchanged(d, before)
    # A body far larger than one read still arrives whole.
    code, r = d.request("POST", "/v1/campaigns?dry_run=1", campaign(
        cid="big", rcpts=[(None, "r%05d@example.org" % i)
                          for i in range(20000)]))
    assert code == 200 and r["recipients"] == 20000, (code, r)


def test_a_refused_page_speaks_the_language_it_could_read(env):
    """The guard's refusal page: the request's language when its
    Accept-Language was read safely, else [daemon] page_language."""
    env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("daemon", "page_language", "es")
    d.start()
    path = b"/u/AAAA"
    # A sound Accept-Language, another header hostile: German.
    body = page_headers(one(d, "p", b"GET " + path + b" HTTP/1.1\r\n"
                            b"Host: x\r\nAccept-Language: de-DE,de;q=0.9"
                            b"\r\nX-A: a\x01b\r\n\r\n"), 400)
    assert '<html lang="de">' in body, body
    assert "<title>Ung\u00fcltige Anfrage</title>" in body, body
    assert "Es wurde nichts ge\u00e4ndert." in body, body
    assert "X-A holds a control character" in body, body
    # Its language after the hostile line is read too; a 417 in French.
    body = page_headers(one(d, "p", b"POST " + path + b" HTTP/1.1\r\n"
                            b"Host: x\r\nExpect: tea\r\n"
                            b"Accept-Language: fr\r\n"
                            b"Content-Length: 0\r\n\r\n"), 417)
    assert '<html lang="fr">' in body, body
    assert "Requ\u00eate invalide" in body and "Expect: tea" in body, body
    # The hostile header is Accept-Language itself: page_language.
    body = page_headers(one(d, "p", b"GET " + path + b" HTTP/1.1\r\n"
                            b"Host: x\r\nAccept-Language: de\x7f\r\n\r\n"),
                        400)
    assert '<html lang="es">' in body, body
    assert "Solicitud no v\u00e1lida" in body, body
    assert "Accept-Language holds a control character" in body, body
    # Two of them, or none: page_language.
    for extra in (b"Accept-Language: de\r\nAccept-Language: fr\r\n", b""):
        body = page_headers(one(d, "p", b"GET " + path + b" HTTP/1.1\r\n"
                                b"Host: x\r\n" + extra +
                                b"X-A: \x00\r\n\r\n"), 400)
        assert '<html lang="es">' in body, (extra, body)
    # The control socket still answers in JSON, in English.
    r = one(d, "c", b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
            b"Accept-Language: de\r\nX-A: a\x01b\r\n\r\n")
    assert "X-A holds a control character" in json_error(r, 400)
