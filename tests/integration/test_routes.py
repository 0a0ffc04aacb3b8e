"""Issues 13 and 14: the control API's route table, from raw bytes.

Every request here is written byte for byte to the Unix socket (curl
would normalise the path), and every refusal is followed by a look at the
state it must not have changed: the campaign still active with its queue
intact, the person still unsubscribed, a recipient not shown.
"""
import json
import socket
import time

from harness import campaign

ADDR = "gone@example.org"       # unsubscribed from every list
RCPT = "alice@example.org"      # queued in campaign "camp"
LIST = "news.example.com"


def raw(d, data, timeout=10):
    """Send bytes, read to the close: (status, headers, body as JSON or
    bytes).  A connection still open after `timeout` fails the test."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(d.sock)
    out = b""
    try:
        s.sendall(data)
        end = time.monotonic() + timeout
        while True:
            assert time.monotonic() < end, ("still open", data, out)
            b = s.recv(65536)
            if not b:
                break
            out += b
    except ConnectionResetError:
        pass
    except socket.timeout:
        raise AssertionError("connection left open: %r -> %r" % (data, out))
    finally:
        s.close()
    head, _, body = out.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines[0].startswith("HTTP/") else 0
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    try:
        body = json.loads(body)
    except ValueError:
        pass
    return status, headers, body


def req(d, method, path, body=None, ctype="application/json"):
    """One request as raw bytes; path is sent exactly as given."""
    if isinstance(path, str):
        path = path.encode()
    data = method.encode() + b" " + path + b" HTTP/1.1\r\nHost: localhost\r\n"
    if body is not None:
        if isinstance(body, str):
            body = body.encode()
        data += b"Content-Type: " + ctype.encode() + b"\r\n"
        data += b"Content-Length: %d\r\n" % len(body)
    data += b"Connection: close\r\n\r\n" + (body or b"")
    return raw(d, data)


def later(seconds=3600):
    t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))
    return "  <send-after>%s</send-after>\n" % t


def setup(env):
    """A daemon with campaign "camp" (two recipients queued for later) and
    ADDR unsubscribed from every list."""
    env.start_smtp()
    d = env.daemon()
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="camp", rcpts=[(None, RCPT), (None, "bob@example.net")],
        extra=later()))
    assert code == 202 and r["accepted"] == 2, r
    code, r = d.request("POST", "/v1/unsubscribes", json.dumps(
        {"address": ADDR}), ctype="application/json")
    assert code == 200 and r["changed"], r
    return d


def camp_intact(d):
    code, _, st = req(d, "GET", "/v1/campaigns/camp")
    assert code == 200, st
    assert st["state"] == "active", st
    assert st["counts"]["queued"] == 2, st
    assert st["counts"].get("dropped", 0) == 0, st


def flags(d, addr):
    code, _, r = req(d, "GET", "/v1/recipients/" + addr)
    assert code == 200, r
    return [(f.get("list"), f.get("source")) for f in r["flags"]]


# What a path id may not carry, percent-encoded: NUL (which cut ids
# short), other C0 controls, DEL, C1 controls as UTF-8, invalid UTF-8
# (a lone byte, an overlong '/', a surrogate, past U+10FFFF), and a
# broken escape.
BAD_SUFFIXES = ["%00", "%00x", "%00.x", "%0a", "%0d%0aX-Forged:%201", "%09",
                "%1f", "%7f", "%c2%85", "%c2%9f", "%ff", "%c0%af",
                "%ed%a0%80", "%f4%90%80%80", "%e2%82", "%", "%4", "%zz"]


def test_control_characters_in_campaign_ids_answer_400_and_change_nothing(env):
    d = setup(env)
    routes = [("GET", "/v1/campaigns/%s"), ("DELETE", "/v1/campaigns/%s"),
              ("POST", "/v1/campaigns/%s/pause"),
              ("POST", "/v1/campaigns/%s/resume")]
    for method, pattern in routes:
        for bad in BAD_SUFFIXES:
            path = pattern % ("camp" + bad)
            code, h, r = req(d, method, path)
            assert code == 400, (method, path, code, r)
            assert h.get("content-type") == "application/json", h
            assert "malformed id" in r["error"], r
        # decoded ids that are well-formed but not a campaign id: 404
        code, _, r = req(d, method, pattern % "camp%c3%a9")
        assert code == 404, (method, r)
        camp_intact(d)
    # a percent-encoded id that decodes to a real one still works
    code, _, r = req(d, "POST", "/v1/campaigns/ca%6dp/pause")
    assert code == 200 and r["state"] == "paused", r
    code, _, r = req(d, "POST", "/v1/campaigns/camp/resume")
    assert code == 200 and r["state"] == "active", r
    camp_intact(d)


def test_control_characters_in_addresses_answer_400_and_change_nothing(env):
    d = setup(env)
    before = flags(d, ADDR)
    assert before == [(None, "admin")] or len(before) == 1, before
    for bad in BAD_SUFFIXES:
        code, _, r = req(d, "DELETE", "/v1/unsubscribes/" + ADDR + bad)
        assert code == 400, (bad, code, r)
        code, _, r = req(d, "GET", "/v1/recipients/" + ADDR + bad)
        assert code == 400, (bad, code, r)
        assert "flags" not in r, r
    # the list in the query is decoded and checked the same way
    for bad in ("%00", "%00x", "%0a", "%c2%85", "%ff"):
        code, _, r = req(d, "DELETE", "/v1/unsubscribes/%s?list=%s%s" % (
            ADDR, LIST, bad))
        assert code == 400, (bad, code, r)
    assert flags(d, ADDR) == before, "the person must stay unsubscribed"
    camp_intact(d)
    # a well-formed encoded address is decoded once, in the one place
    code, _, r = req(d, "DELETE", "/v1/unsubscribes/gone%40example.org")
    assert code == 200 and r["resubscribed"], r
    assert flags(d, ADDR) == []


def test_a_known_path_with_another_method_is_405_with_allow(env):
    d = setup(env)
    rows = [
        ("DELETE", "/v1/health", "GET, HEAD"),
        ("POST", "/metrics", "GET"),
        ("PUT", "/v1/campaigns", "GET, POST"),
        ("DELETE", "/v1/campaigns", "GET, POST"),
        ("POST", "/v1/campaigns/camp", "GET, DELETE"),
        ("PUT", "/v1/campaigns/camp", "GET, DELETE"),
        ("PATCH", "/v1/campaigns/camp", "GET, DELETE"),
        ("OPTIONS", "/v1/campaigns/camp", "GET, DELETE"),
        ("TRACE", "/v1/campaigns/camp", "GET, DELETE"),
        ("GET", "/v1/campaigns/camp/pause", "POST"),
        ("DELETE", "/v1/campaigns/camp/resume", "POST"),
        ("GET", "/v1/unsubscribes", "POST"),
        ("POST", "/v1/unsubscribes/" + ADDR, "DELETE"),
        ("PUT", "/v1/recipients/" + ADDR, "GET, DELETE"),
        ("TRACE", "/v1/unsubscribes/" + ADDR, "DELETE"),
    ]
    for method, path, allow in rows:
        code, h, r = req(d, method, path)
        assert code == 405, (method, path, code, r)
        assert h.get("allow") == allow, (method, path, h)
        assert h.get("content-type") == "application/json", h
        assert r["error"] and r["detail"]["allow"] == allow, r
    camp_intact(d)
    assert len(flags(d, ADDR)) == 1


def test_every_method_is_answered_by_the_routes_not_501(env):
    d = setup(env)
    for method in ("TRACE", "OPTIONS", "PUT", "PATCH", "DELETE", "GET",
                   "POST", "CONNECT"):
        code, h, r = req(d, method, "/v1/nope")
        assert code == 404, (method, code, r)
        assert h.get("content-type") == "application/json", (method, h)
        assert r["error"] == "no such route", r
    # CONNECT (whose answer has no length): answered and closed, even
    # when the client asked to keep the connection
    for target in (b"localhost:80", b"/v1/campaigns/camp"):
        code, h, r = raw(d, b"CONNECT " + target + b" HTTP/1.1\r\nHost: "
                         b"localhost\r\n\r\n")
        assert 400 <= code < 500, (target, code, r)
    # a method HTTP does not know: refused and the connection closed
    code, h, r = raw(d, b"BREW /v1/campaigns/camp HTTP/1.1\r\nHost: x\r\n"
                     b"Connection: close\r\n\r\n")
    assert code == 0 or 400 <= code <= 501, code
    camp_intact(d)
    assert len(flags(d, ADDR)) == 1


def test_json_bodies_refuse_unknown_keys_null_and_wrong_types(env):
    d = setup(env)
    # (body, status, the field the answer names)
    rows = [
        ({"address": RCPT, "list": None}, 422, "list"),
        ({"address": RCPT, "lists": LIST}, 422, "lists"),
        ({"address": RCPT, "List": LIST}, 422, "List"),
        ({"address": RCPT, "list": 5}, 422, "list"),
        ({"address": RCPT, "list": [LIST]}, 422, "list"),
        ({"address": RCPT, "list": {"name": LIST}}, 422, "list"),
        ({"address": RCPT, "list": True}, 422, "list"),
        ({"address": RCPT, "all": True}, 422, "all"),
        ({"address": None}, 422, "address"),
        ({"address": 5, "list": LIST}, 422, "address"),
        ({"address": [RCPT]}, 422, "address"),
        ({"list": LIST}, 422, "address"),
        ({}, 422, "address"),
    ]
    for body, status, field in rows:
        code, _, r = req(d, "POST", "/v1/unsubscribes", json.dumps(body))
        assert code == status, (body, code, r)
        assert r["detail"]["field"] == field, (body, r)
        assert field in json.dumps(r), (body, r)
    # not an object, not JSON, a NUL inside a string, a key twice
    for body in (b"[]", b"null", b"\"x\"", b"", b"{", b"{\"address\": "
                 b"\"alice@example.org\\u0000x\"}", b"{\"address\": \"a@b.c"
                 b"\", \"address\": \"alice@example.org\"}"):
        code, _, r = req(d, "POST", "/v1/unsubscribes", body)
        assert code == 400, (body, code, r)
    # nothing was unsubscribed, and the campaign's queue is whole
    assert flags(d, RCPT) == []
    camp_intact(d)
    # "every list" is an absent list, and still works
    code, _, r = req(d, "POST", "/v1/unsubscribes",
                     json.dumps({"address": RCPT}))
    assert code == 200 and r["changed"] and r["dropped"] == 1, r
    assert len(flags(d, RCPT)) == 1
