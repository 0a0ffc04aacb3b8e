"""Issue 19, point 3: erasing a person, keeping only a hash of "stop"."""
import json
import subprocess
import time

from harness import campaign


def window(send_after):
    return "  <send-after>%s</send-after>\n" % time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime(send_after))


def live_records(d):
    """Every key and value the store holds now (mdb_dump, printable)."""
    p = subprocess.run(["mdb_dump", "-a", "-p", d.state],
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode("latin-1").lower()


def test_erase_forgets_the_person_and_keeps_their_stop(env):
    smtp = env.start_smtp()
    d = env.daemon()
    later = time.time() + 3600
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="first", rcpts=[("Unforgettable Name", "Ann.Erase@example.org"),
                            (None, "stay@example.org")]))
    assert code == 202 and r["accepted"] == 2, r
    smtp.wait_count(2)
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="queued", rcpts=[("Unforgettable Name", "ann.erase@example.org"),
                             (None, "stay@example.org")],
        extra=window(later)))
    assert r["accepted"] == 2, r
    code, u = d.request("POST", "/v1/unsubscribes", json.dumps(
        {"address": "ann.erase@example.org", "list": "news.example.com"}),
        ctype="application/json")
    assert code == 200, u
    # a second queued job on another list, which the unsubscribe kept
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="shop", lst="shop.example.com", extra=window(later),
        rcpts=[("Unforgettable Name", "ann.erase@example.org")]))
    assert r["accepted"] == 1, r

    dump = live_records(d)
    assert "ann.erase" in dump and "unforgettable" in dump
    out = d.ctl("erase", "Ann.Erase@example.org").stdout.decode()
    assert "erased: 1 queued message dropped" in out, out
    assert "unsubscribes from 1 list" in out, out
    dump = live_records(d)
    assert "stay@example.org" in dump      # the check can see an address
    assert "ann.erase" not in dump and "unforgettable" not in dump
    code, r = d.request("DELETE", "/v1/recipients/ann.erase@example.org")
    assert code == 404 and "nothing is known" in r["error"], (code, r)
    code, rc = d.request("GET", "/v1/recipients/ann.erase@example.org")
    assert rc.get("history", []) == [] and rc.get("flags", []) == [], rc
    code, st = d.request("GET", "/v1/campaigns/shop")
    assert st["counts"]["queued"] == 0 and st["counts"]["dropped"] == 1, st
    code, st = d.request("GET", "/v1/campaigns/queued")
    assert st["counts"]["queued"] == 1, st      # stay@ is still queued

    # a later campaign of that list still rejects the address ...
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="later", rcpts=[(None, "ann.erase@example.org")]))
    assert r["rejected"] == {"unsubscribed": 1}, r
    # ... another list may mail them, as before the erasure
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="shop2", lst="shop.example.com", extra=window(later),
        rcpts=[(None, "ann.erase@example.org")]))
    assert r["accepted"] == 1, r
    # and after a restart, from the store alone
    d.stop()
    d.start()
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="later2", rcpts=[(None, "ann.erase@example.org")]))
    assert r["rejected"] == {"unsubscribed": 1}, r


def test_erase_of_a_suppressed_address_keeps_the_suppression(env):
    smtp = env.start_smtp()
    smtp.handler.script = lambda stage, rcpt, n: (
        "550 5.1.1 no such user" if stage == "rcpt" else None)
    d = env.daemon()
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="b", rcpts=[(None, "gone@example.org")]))
    assert r["accepted"] == 1, r
    deadline = time.time() + 15
    while time.time() < deadline:
        code, rc = d.request("GET", "/v1/recipients/gone@example.org")
        if rc.get("suppressed"):
            break
        time.sleep(0.1)
    assert rc.get("suppressed"), rc
    r = json.loads(d.ctl("--json", "erase", "gone@example.org").stdout)
    assert r["kept_as_hash"] == {"unsubscribed_lists": 0,
                                 "suppressed": True}, r
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="b2", lst="other.example.com",
        rcpts=[(None, "gone@example.org")]))
    assert r["rejected"] == {"suppressed": 1}, r


def test_admin_resubscribe_after_an_erasure_lets_the_person_back(env):
    smtp = env.start_smtp()
    d = env.daemon()
    for cid, lst in (("n1", "news.example.com"), ("s1", "shop.example.com")):
        code, r = d.request("POST", "/v1/campaigns", campaign(
            cid=cid, lst=lst, rcpts=[("Back Again", "back@example.org")]))
        assert code == 202 and r["accepted"] == 1, r
    smtp.wait_count(2)
    for lst in ("news.example.com", "shop.example.com"):
        code, u = d.request("POST", "/v1/unsubscribes", json.dumps(
            {"address": "back@example.org", "list": lst}),
            ctype="application/json")
        assert code == 200, u
    out = d.ctl("erase", "back@example.org").stdout.decode()
    assert "unsubscribes from 2 lists" in out, out
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="n2", rcpts=[(None, "back@example.org")]))
    assert r["rejected"] == {"unsubscribed": 1}, r

    # they write in and ask to hear from the news again
    out = d.ctl("resubscribe", "Back@example.org", "--list",
                "news.example.com").stdout.decode()
    assert out == ("Back@example.org resubscribed to news.example.com "
                   "(lifted the unsubscribe kept after an erasure)\n"), out
    code, r = d.request("GET", "/v1/recipients/back@example.org")
    assert [(c["action"], c["list"], c["source"]) for c in r["consent"]] == [
        ("resubscribed", "news.example.com", "admin")], r
    assert r["flags"] == [], r
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="n3", rcpts=[(None, "back@example.org")]))
    assert code == 202 and r["accepted"] == 1, r
    smtp.wait_count(3)
    # the shop's unsubscribe is still honoured
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="s2", lst="shop.example.com",
        rcpts=[(None, "back@example.org")]))
    assert r["rejected"] == {"unsubscribed": 1}, r
    # nothing left to lift for the news: 404
    code, r = d.request(
        "DELETE", "/v1/unsubscribes/back@example.org?list=news.example.com")
    assert code == 404 and r["error"] == "no such unsubscribe", (code, r)
    # every list: the shop's goes too
    r = json.loads(d.ctl("--json", "resubscribe", "back@example.org").stdout)
    assert r == {"address": "back@example.org", "list": None,
                 "resubscribed": True, "after_erasure": True}, r
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="s3", lst="shop.example.com",
        rcpts=[(None, "back@example.org")]))
    assert r["accepted"] == 1, r
    # someone never erased nor unsubscribed: still 404
    p = d.ctl("resubscribe", "nobody@example.org", check=False)
    assert p.returncode == 1 and b"error 404" in p.stderr, p.stderr
