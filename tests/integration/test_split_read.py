"""Pass one in two halves (daemon/submit.c, campaign_read_head/rest).

When a document's header comes whole before its recipients, the daemon
admits the recipients while the parser thread is still checking them,
and the admission waits for that check before it keeps anything.  These
tests hold it to what one pass promised: a recipient list refused late
in a large document refuses the campaign and changes nothing; a header
element after the recipients is honoured (the document is read again);
the limit on recipients still refuses with 413 and keeps nothing.
"""
import time

from harness import campaign

from test_input import iso, no_campaign

N = 20000


def rcpts(n, start=0):
    return [("User %d" % i, "u%d@d%d.example.org" % (i, i % 97))
            for i in range(start, start + n)]


def nothing_kept(d, cid="c1"):
    """No campaign, no history for the first or the last address, an
    empty queue."""
    no_campaign(d, cid)
    for addr in ("u0@d0.example.org",
                 "u%d@d%d.example.org" % (N - 1, (N - 1) % 97)):
        code, r = d.request("GET", "/v1/recipients/" + addr)
        assert code == 200 and not r.get("history"), (addr, r)
    assert queue_entries(d) == 0


def queue_entries(d):
    code, body = d.request("GET", "/metrics")
    assert code == 200, body
    for ln in body.splitlines():
        if ln.startswith("manners_queue_entries "):
            return int(ln.split()[1])
    raise AssertionError("no manners_queue_entries in /metrics")


def test_a_bad_recipient_at_the_end_refuses_the_campaign_and_keeps_nothing(
        env):
    env.start_smtp()
    d = env.daemon()
    good = campaign(rcpts=rcpts(N))
    tail = "    <to>last@example.org</to>\n  </recipients>"
    rows = [
        # (what is wrong at the end, the status, a phrase of the answer)
        (tail.replace("<to>last", '<to name="Eve\u0085">last'), 422,
         "<to> name must be one line"),
        (tail.replace("<to>last@example.org</to>",
                      "<bcc>last@example.org</bcc>"), 422,
         "unexpected <bcc> in <recipients>"),
        (tail.replace("<to>last", '<to tz="Europe/../etc">last'), 422,
         "tz must be an IANA time zone name"),
        (tail.replace("</to>", "</too>"), 400, "malformed XML at line"),
    ]
    for bad, status, want in rows:
        doc = good.replace("  </recipients>", bad, 1)
        assert doc != good
        for path in ("/v1/campaigns", "/v1/campaigns?dry_run=1"):
            code, r = d.request("POST", path, doc)
            assert code == status, (want, code, r)
            assert want in " | ".join(r.get("detail", [])), (want, r)
            # The line is the last recipient's, after all the others.
            nothing_kept(d)
    # The same document without the fault goes in whole.
    code, r = d.request("POST", "/v1/campaigns", good)
    assert code == 202 and r["accepted"] == N, r
    assert queue_entries(d) > 0


def test_a_header_element_after_the_recipients_is_honoured(env):
    env.start_smtp()
    d = env.daemon()
    after = time.time() + 2 * 3600
    expires = time.time() + 3 * 86400
    # The header is whole before <recipients> (from, subject, bodies), so
    # the admission starts on it; <send-after> and <expires> follow.
    late = ("  <send-after>%s</send-after>\n  <expires>%s</expires>\n" % (
        iso(after), iso(expires)))
    doc = campaign(rcpts=rcpts(200)).replace("</campaign>",
                                             late + "</campaign>")
    code, r = d.request("POST", "/v1/campaigns", doc)
    assert code == 202, r
    # Every recipient waits for send-after: none was admitted for now.
    assert r["accepted"] + r["deferred"] == 200, r
    assert r["first_due"] >= int(after) - 1, (r, after)
    code, c = d.request("GET", "/v1/campaigns/c1")
    assert code == 200, c
    assert c["expires"] == int(expires), (c, expires)
    assert c["send_after"] == int(after), (c, after)
    # And a second <from> after the recipients is still the refusal one
    # pass gave, naming both lines.
    doc2 = campaign(cid="c2", rcpts=rcpts(5)).replace(
        "</campaign>", "  <from>eve@evil.example</from>\n</campaign>")
    code, r = d.request("POST", "/v1/campaigns", doc2)
    assert code == 422, r
    assert "a second <from> (the first is on line 3)" in " | ".join(
        r["detail"]), r
    no_campaign(d, "c2")


def test_too_many_recipients_is_413_and_keeps_nothing(env):
    env.start_smtp()
    d = env.daemon(extra="")
    d.stop()
    d.set_conf("daemon", "max_recipients", str(N - 1))
    d.start()
    code, r = d.request("POST", "/v1/campaigns", campaign(rcpts=rcpts(N)))
    assert code == 413, r
    assert "max_recipients" in " | ".join(r["detail"]), r
    nothing_kept(d)
    code, r = d.request("POST", "/v1/campaigns",
                        campaign(rcpts=rcpts(N - 1)))
    assert code == 202 and r["accepted"] == N - 1, r
