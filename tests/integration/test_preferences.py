"""Issue 16: a recipient's choices apply to mail already queued.

A campaign is queued a few seconds ahead; the recipient chooses on the
page; the test then waits past the original time and checks that nothing
arrived, and that the control API shows the job at the first moment the
choice allows (or dropped as frequency_cap when that is past expiry).
"""
import time

from harness import campaign, wait_for
from test_unsubscribe import choose, deliver, iso, recipient

LIST = "news.example.com"
WEEK = 7 * 86400
MONTH = 30 * 86400
PAUSE = 91 * 86400


def queue_soon(d, cid, addr, seconds=3, expires=None):
    """Queue a campaign for addr due `seconds` from now; its due time."""
    due = int(time.time()) + seconds
    extra = "  <send-after>%s</send-after>\n" % iso(due)
    # Without <expires> a campaign may wait 7 days: far less than a pause.
    extra += "  <expires>%s</expires>\n" % iso(expires or due + 200 * 86400)
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid=cid, rcpts=[(None, addr)], extra=extra))
    assert code == 202 and r["accepted"] == 1, r
    return due


def entry(d, addr, cid):
    hist = [h for h in recipient(d, addr)["history"] if h["campaign"] == cid]
    return hist[0] if hist else None


def sent_time(d, addr, cid):
    return entry(d, addr, cid)["time"]


def wait_past(t):
    while time.time() < t + 2:
        time.sleep(0.2)


def test_monthly_moves_a_queued_job_a_month_on(env):
    smtp = env.start_smtp()
    d = env.daemon()
    addr = "pat@example.org"
    url = deliver(env, d, [addr])[addr]
    first = sent_time(d, addr, "c1")
    due = queue_soon(d, "c2", addr)
    code, h, body = choose(url, "monthly")
    assert code == 200, body
    wait_past(due)
    assert len(smtp.messages) == 1, "nothing may arrive before a month"
    e = entry(d, addr, "c2")
    assert e["state"] == "queued" and e["time"] == first + MONTH, e
    code, st = d.request("GET", "/v1/campaigns/c2")
    assert st["counts"]["queued"] == 1, st
    assert st["counts"]["queued_deferred"] == 1, st
    assert recipient(d, addr)["next_allowed"][LIST] == first + 2 * MONTH


def test_weekly_drops_what_expires_first_and_moves_the_rest(env):
    smtp = env.start_smtp()
    d = env.daemon()
    addr = "sam@example.org"
    url = deliver(env, d, [addr])[addr]
    first = sent_time(d, addr, "c1")
    due = queue_soon(d, "soon", addr, expires=int(time.time()) + 86400)
    queue_soon(d, "later", addr, expires=int(time.time()) + 60 * 86400)
    code, h, body = choose(url, "weekly")
    assert code == 200, body
    wait_past(due)
    assert len(smtp.messages) == 1
    code, st = d.request("GET", "/v1/campaigns/soon")
    assert st["counts"]["queued"] == 0, st
    assert st["counts"]["rejected"].get("frequency_cap") == 1, st
    assert entry(d, addr, "soon") is None, "its slot is released"
    e = entry(d, addr, "later")
    assert e["time"] == first + WEEK, e


def test_pause_holds_queued_mail_until_it_ends(env):
    smtp = env.start_smtp()
    d = env.daemon()
    addr = "kim@example.org"
    url = deliver(env, d, [addr])[addr]
    due = queue_soon(d, "c2", addr)
    t0 = int(time.time())
    code, h, body = choose(url, "pause")
    assert code == 200, body
    wait_past(due)
    assert len(smtp.messages) == 1
    e = entry(d, addr, "c2")
    assert t0 + PAUSE <= e["time"] <= int(time.time()) + PAUSE, e
    # New mail waits for the pause too.
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="c3", rcpts=[(None, addr)], extra="  <expires>%s</expires>\n"
        % iso(time.time() + 200 * 86400)))
    assert r["deferred"] == 1, r
    # Plain text changes no time.
    code, h, body = choose(url, "plain")
    assert code == 200, body
    assert entry(d, addr, "c2")["time"] == e["time"]


def test_a_choice_while_due_now_stops_the_staged_job(env):
    """The drain reads due jobs ahead; a choice must still stop them."""
    smtp = env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("smtp", "rate", "20/m")
    d.start()
    addr = "lee@example.org"
    url = deliver(env, d, [addr])[addr]
    # Three others first, so lee's job is due and staged but waiting.
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="c2", rcpts=[(None, "a%d@example.org" % i) for i in range(3)]
        + [(None, addr)], extra="  <expires>%s</expires>\n" % iso(
            time.time() + 200 * 86400)))
    assert r["accepted"] == 4, r
    # Once one of them went, the drain has read the rest (lee too) ahead.
    wait_for(lambda: len(smtp.messages) >= 2, timeout=30,
             what="the first of the others")
    code, h, body = choose(url, "monthly")
    assert code == 200, body
    wait_for(lambda: len(smtp.messages) >= 4, timeout=30,
             what="the three others")
    time.sleep(5)
    assert [m["to"][0] for m in smtp.messages].count(addr) == 1
    e = entry(d, addr, "c2")
    assert e["state"] == "queued", e


def test_plain_text_reader_gets_text_plain_and_html_only_gets_a_text_part(env):
    smtp = env.start_smtp()
    d = env.daemon()
    addr, other = "ann@example.org", "bob@example.org"
    url = deliver(env, d, [addr, other])[addr]
    code, h, body = choose(url, "plain")
    assert code == 200 and "You will get plain text only" in body, body
    assert "<li>Plain text only.</li>" in body
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="c2", text=None, rcpts=[(None, addr), (None, other)],
        html='<p>Hello <b>there</b></p><p>A cat sat on the mat.</p>'
             '<p><a href="{{unsubscribe_url}}">Stop</a></p>'))
    assert code == 202 and r["accepted"] == 2, r
    smtp.wait_count(4)
    got = {m["to"][0]: m["msg"] for m in smtp.messages[2:]}
    plain = got[addr]
    assert plain.get_content_type() == "text/plain", plain
    text = plain.get_payload(decode=True).decode()
    assert "Hello there" in text and "A cat sat" in text and "<" not in text
    assert "Stop (http://127.0.0.1:" in text, text
    both = got[other]
    assert both.get_content_type() == "multipart/alternative", both
    kinds = [p.get_content_type() for p in both.get_payload()]
    assert kinds == ["text/plain", "text/html"], kinds
    assert "Hello there" in both.get_payload()[0].get_payload(
        decode=True).decode()


def test_the_page_speaks_the_readers_language(env):
    from test_unsubscribe import curl
    env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("daemon", "page_language", "es")
    d.set_conf("list news.example.com", "contact", "hilfe@example.com")
    d.start()
    url = deliver(env, d, ["eva@example.org"])["eva@example.org"]
    want = {
        "de-DE,de;q=0.9,en;q=0.5": ("de", "Ihre Nachrichten von Example Shop",
                                    "Fragen? Schreiben Sie an"),
        "fr-CH, fr;q=0.9": ("fr", "Vos messages de Example Shop",
                            "Des questions\u00a0? Écrivez à"),
        "en-GB,en;q=0.9,de;q=0.8": ("en", "Your messages from Example Shop",
                                    "Questions? Write to"),
        "ja,zh;q=0.5": ("es", "Sus mensajes de Example Shop",
                        "¿Preguntas? Escriba a"),
        "de;q=2, ;;;, <b>, " + "x" * 900: ("es", "Sus mensajes de Example Shop",
                             "¿Preguntas?"),
    }
    for header, (lang, title, contact) in want.items():
        code, h, body = curl(url, "-H", "Accept-Language: " + header)
        assert code == 200, body
        assert '<html lang="%s">' % lang in body, (header, body[:200])
        assert "<title>%s</title>" % title in body, (header, body)
        assert contact in body and "mailto:hilfe@example.com" in body, body
        assert "eva@" not in body
    # A control character is refused before the page, naming the header.
    code, h, body = curl(url, "-H", "Accept-Language: de\x7f")
    assert code == 400 and "Accept-Language" in body, body
    # The confirmation, and the pages for bad links, too.
    code, h, body = curl(url, "-H", "Accept-Language: de", "-d",
                         "choice=pause")
    assert code == 200 and "Ihre Nachrichten sind pausiert" in body, body
    assert "Pausiert bis zum " in body, body
    code, h, body = curl(url[:-5] + "XXXXX", "-H", "Accept-Language: fr")
    assert code == 404 and "Ce lien n\u2019est pas valide" in body, body


def test_the_control_api_shows_the_readers_choices(env):
    env.start_smtp()
    d = env.daemon()
    addr = "joe@example.org"
    url = deliver(env, d, [addr])[addr]
    r = recipient(d, addr)
    assert r["paused_until"] is None and r["plain_text"] is False, r
    t0 = int(time.time())
    assert choose(url, "pause")[0] == 200
    assert choose(url, "plain")[0] == 200
    r = recipient(d, addr)
    assert t0 + PAUSE <= r["paused_until"] <= int(time.time()) + PAUSE, r
    assert r["plain_text"] is True, r
    assert r["next_allowed"][LIST] == r["paused_until"], r
    assert choose(url, "undo-pause")[0] == 200
    assert recipient(d, addr)["paused_until"] is None


def test_the_pause_end_is_shown_in_the_readers_zone(env):
    """The page names the day a pause ends in the reader's own zone."""
    import datetime
    import zoneinfo
    from test_unsubscribe import curl, unsub_url
    smtp = env.start_smtp()
    d = env.daemon(start=False)
    # Another reader's zone comes from the list, when a campaign gave none.
    d.set_conf("list news.example.com", "timezone", "America/New_York")
    d.start()
    doc = campaign(rcpts=[(None, "yuki@example.org"),
                          (None, "ned@example.org")])
    doc = doc.replace("<to>yuki@", '<to tz="Asia/Tokyo">yuki@')
    code, r = d.request("POST", "/v1/campaigns", doc)
    assert code == 202 and r["accepted"] == 2, r
    smtp.wait_count(2)
    urls = {m["to"][0].lower(): unsub_url(m) for m in smtp.messages}
    for addr, zone, name, de_name in (
            ("yuki@example.org", "Asia/Tokyo", "Japan Standard Time",
             "Japanische Normalzeit"),
            ("ned@example.org", "America/New_York", None, None)):
        url = urls[addr]
        code, h, done = choose(url, "pause")
        assert code == 200, done
        until = recipient(d, addr)["paused_until"]
        local = datetime.datetime.fromtimestamp(until, zoneinfo.ZoneInfo(
            zone))
        if name is None:
            name = {"EDT": "Eastern Daylight Time",
                    "EST": "Eastern Standard Time"}[local.tzname()]
        day = "%s %d, %d" % (local.strftime("%B"), local.day, local.year)
        want = "%s (%s)" % (day, name)
        assert "until %s. Then" % want in done, done
        code, h, page = curl(url)
        assert code == 200 and "Paused until %s." % want in page, page
        if de_name:
            code, h, page = curl(url, "-H", "Accept-Language: de")
            assert "%d. " % local.day in page and \
                "(%s)" % de_name in page, page
