"""Issue 3: caps, deferral, duplicates, unsubscribes, counters, dry run."""
import json
import threading
import time
import urllib.parse

from harness import campaign, wait_for

CAP_1_PER_DAY = "[list news.example.com]\nper_recipient = 1/1d\n"


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def window(send_after=None, expires=None):
    x = ""
    if send_after:
        x += "  <send-after>%s</send-after>\n" % iso(send_after)
    if expires:
        x += "  <expires>%s</expires>\n" % iso(expires)
    return x


def test_back_to_back_campaigns_cannot_both_pass_a_cap(env):
    smtp = env.start_smtp()
    d = env.daemon(CAP_1_PER_DAY)
    now = time.time()
    code, a = d.request("POST", "/v1/campaigns", campaign(
        cid="first", rcpts=[(None, "pat@example.org")]))
    assert code == 202 and a["accepted"] == 1, a
    # expires in an hour: no slot before that, so rejected
    code, b = d.request("POST", "/v1/campaigns", campaign(
        cid="second", rcpts=[(None, "PAT@example.org")],
        extra=window(expires=now + 3600)))
    assert code == 202, b
    assert b["accepted"] == 0 and b["rejected"] == {"frequency_cap": 1}, b
    # expires in three days: deferred to a day after the first
    code, c = d.request("POST", "/v1/campaigns", campaign(
        cid="third", rcpts=[(None, "pat@example.org")],
        extra=window(expires=now + 3 * 86400)))
    assert c["deferred"] == 1 and c["accepted"] == 0, c
    assert abs(c["first_due"] - (a["first_due"] + 86400)) <= 2, (a, c)
    code, st = d.request("GET", "/v1/campaigns/third")
    assert st["counts"]["deferred"] == 1, st
    assert st["counts"]["queued_deferred"] == 1, st
    smtp.wait_count(1)
    time.sleep(0.5)
    assert len(smtp.messages) == 1

    def states():
        code, r = d.request("GET", "/v1/recipients/pat@example.org")
        assert code == 200
        return sorted((h["campaign"], h["state"]) for h in r["history"]), r
    # The drain commits its outcomes in batches: wait for the "sent".
    wait_for(lambda: ("first", "sent") in states()[0],
             what="the first campaign's send committed")
    got, r = states()
    assert got == [("first", "sent"), ("third", "queued")], r
    assert r["next_allowed"]["news.example.com"] >= a["first_due"] + 86400 * 2 - 2, r


def test_concurrent_campaigns_to_one_address_admit_only_one(env):
    env.start_smtp()
    d = env.daemon(CAP_1_PER_DAY)
    results = []
    expires = time.time() + 3600

    def submit(i):
        code, r = d.request("POST", "/v1/campaigns", campaign(
            cid="race%d" % i, rcpts=[(None, "sam@example.org")],
            extra=window(expires=expires)))
        results.append((code, r))

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(code == 202 for code, _ in results), results
    accepted = sum(r["accepted"] for _, r in results)
    capped = sum(r["rejected"].get("frequency_cap", 0) for _, r in results)
    assert accepted == 1 and capped == 5, results


def test_resubmission_adds_only_new_recipients(env):
    smtp = env.start_smtp()
    d = env.daemon()
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="again", rcpts=[(None, "a@example.org"), (None, "b@example.org")]))
    assert code == 202 and r["accepted"] == 2, r
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="again", rcpts=[(None, "A@example.org"), (None, "b@example.org"),
                            (None, "c@example.org"), (None, "c@example.org")]))
    assert code == 200, r
    assert r["resubmission"] is True
    assert r["accepted"] == 1 and r["rejected"] == {"duplicate": 3}, r
    # the same id with other content is refused whole
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="again", subject="Different", rcpts=[(None, "d@example.org")]))
    assert code == 409 and "other content" in r["error"], r
    smtp.wait_count(3)
    time.sleep(0.5)
    assert sorted(m["to"][0].lower() for m in smtp.messages) == [
        "a@example.org", "b@example.org", "c@example.org"]
    code, st = d.request("GET", "/v1/campaigns/again")
    # three distinct recipients, however often the campaign was sent
    assert st["counts"]["recipients"] == 3 and st["counts"]["accepted"] == 3
    assert st["counts"]["rejected"] == {}, st


def test_admin_unsubscribe_drops_queued_jobs_and_blocks_later_ones(env):
    smtp = env.start_smtp()
    d = env.daemon()
    later = time.time() + 3600
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="queued", rcpts=[(None, "kim@example.org"), (None, "lee@example.org")],
        extra=window(send_after=later)))
    assert r["accepted"] == 2, r
    # a malformed request changes nothing
    code, e = d.request("POST", "/v1/unsubscribes", "{not json",
                        ctype="application/json")
    assert code == 400, e
    code, e = d.request("POST", "/v1/unsubscribes", json.dumps(
        {"address": "kim@@example.org"}), ctype="application/json")
    assert code == 422 and "address" in e["error"], e
    code, u = d.request("POST", "/v1/unsubscribes", json.dumps(
        {"address": "Kim@example.org", "list": "news.example.com"}),
        ctype="application/json")
    assert code == 200 and u["dropped"] == 1 and u["changed"], u
    code, st = d.request("GET", "/v1/campaigns/queued")
    assert st["counts"]["dropped"] == 1 and st["counts"]["queued"] == 1, st
    code, rc = d.request("GET", "/v1/recipients/kim@example.org")
    assert rc["flags"][0]["list"] == "news.example.com", rc
    assert rc["flags"][0]["source"] == "admin", rc
    assert rc["history"] == [], rc
    assert rc["next_allowed"]["news.example.com"] is None, rc
    # later submissions reject the address
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="next", rcpts=[(None, "kim@example.org")]))
    assert r["rejected"] == {"unsubscribed": 1}, r
    # an unsubscribe from everything covers other lists too
    code, u = d.request("POST", "/v1/unsubscribes", json.dumps(
        {"address": "lee@example.org"}), ctype="application/json")
    assert u["dropped"] == 1, u
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="other", lst="shop.example.com", rcpts=[(None, "lee@example.org")]))
    assert r["rejected"] == {"unsubscribed": 1}, r
    # removal: the address can be mailed again
    code, x = d.request("DELETE", "/v1/unsubscribes/" +
                        urllib.parse.quote("kim@example.org") +
                        "?list=news.example.com")
    assert code == 200, x
    code, x = d.request("DELETE", "/v1/unsubscribes/kim@example.org")
    assert code == 404, x
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="back", rcpts=[(None, "kim@example.org")]))
    assert r["accepted"] == 1, r
    smtp.wait_count(1)
    time.sleep(0.3)
    assert [m["to"][0] for m in smtp.messages] == ["kim@example.org"]


def test_dry_run_leaves_no_trace_in_history(env):
    env.start_smtp()
    d = env.daemon(CAP_1_PER_DAY)
    code, r = d.request("POST", "/v1/campaigns?dry_run=1", campaign(
        cid="dry", rcpts=[(None, "ann@example.org")]))
    assert r["accepted"] == 1 and r["dry_run"], r
    code, rc = d.request("GET", "/v1/recipients/ann@example.org")
    assert rc["known"] is False and rc["history"] == [], rc
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="real", rcpts=[(None, "ann@example.org")]))
    assert r["accepted"] == 1, r


def test_cancel_drops_queued_jobs_and_releases_reservations(env):
    smtp = env.start_smtp()
    d = env.daemon(CAP_1_PER_DAY)
    later = time.time() + 3600
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="doomed", rcpts=[(None, "x%d@example.org" % i) for i in range(5)],
        extra=window(send_after=later)))
    assert r["accepted"] == 5
    code, c = d.request("DELETE", "/v1/campaigns/doomed")
    assert code == 200 and c["dropped"] == 5 and c["state"] == "cancelled", c
    code, st = d.request("GET", "/v1/campaigns/doomed")
    assert st["counts"]["queued"] == 0 and st["counts"]["cancelled"] == 5, st
    # the cap's slot is free again
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="instead", rcpts=[(None, "x0@example.org")]))
    assert r["accepted"] == 1, r
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="doomed", rcpts=[(None, "x0@example.org")],
        extra=window(send_after=later)))
    assert code == 409, r
    code, r = d.request("DELETE", "/v1/campaigns/nope")
    assert code == 404, r
    smtp.wait_count(1)


def test_pause_holds_and_resume_releases_queued_jobs(env):
    smtp = env.start_smtp()
    d = env.daemon("[smtp]\n".replace("[smtp]\n", ""))
    text = open(d.conf).read().replace("rate = unlimited\n", "rate = 4/s\n", 1)
    open(d.conf, "w").write(text)
    d.stop()
    d.start()
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="slow", rcpts=[(None, "p%d@example.org" % i) for i in range(12)]))
    code, p = d.request("POST", "/v1/campaigns/slow/pause")
    assert code == 200 and p["state"] == "paused", p
    time.sleep(1.5)
    held = len(smtp.messages)
    assert held < 12, held
    time.sleep(1.0)
    assert len(smtp.messages) == held, "sent while paused"
    code, p = d.request("POST", "/v1/campaigns/slow/resume")
    assert code == 200 and p["state"] == "active", p
    smtp.wait_count(12)
    code, p = d.request("GET", "/v1/campaigns/slow/pause")
    assert code == 405, p
