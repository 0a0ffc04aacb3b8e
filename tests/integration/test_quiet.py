"""Issue 17: quiet hours in each recipient's own time zone.

Windows are computed from the test's current time, in whole minutes, so
that "now" is quiet (or just past a quiet time) in a chosen zone: the
test then takes seconds, never hours.
"""
import os
import signal
import subprocess
import time
import zoneinfo
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape

from harness import MANNERSD, wait_for

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


def hhmm(minutes):
    minutes %= 1440
    return "%02d:%02d" % (minutes // 60, minutes % 60)


def local_minutes(now, zone):
    t = datetime.fromtimestamp(now, zone)
    return t.hour * 60 + t.minute


def window(now, zone, start_off, end_off):
    """hours = A-B, A and B minutes from now on the clock of zone."""
    m = local_minutes(now, zone)
    return "%s-%s" % (hhmm(m + start_off), hhmm(m + end_off))


def minute_after(now, minutes):
    """The instant `minutes` whole minutes after now's minute began."""
    return int(now) - int(now) % 60 + minutes * 60


def doc(cid, rcpts, lst="news.example.com", extra=""):
    """rcpts: (address, tz or None)."""
    to = "\n".join("    <to%s>%s</to>" % (' tz="%s"' % tz if tz else "",
                                          escape(a)) for a, tz in rcpts)
    return """<campaign id="%s" list="%s">
  <from>news@example.com</from>
  <subject>Hello</subject>
%s  <text>Hi {{unsubscribe_url}}</text>
  <recipients>
%s
  </recipients>
</campaign>
""" % (cid, lst, extra, to)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def delivered(smtp):
    return sorted(m["to"][0].lower() for m in smtp.messages)


def test_a_sleeping_recipient_waits_and_an_awake_one_gets_it_at_once(env):
    smtp = env.start_smtp()
    now = time.time()
    # Quiet from 30 minutes ago to 90 minutes from now, on Tokyo's clock;
    # Kolkata is 3.5 hours behind: awake.
    d = env.daemon("[quiet]\nhours = %s\n" % window(now, TOKYO, -30, 90))
    xml = doc("q1", [("tokyo@example.org", "Asia/Tokyo"),
                     ("kolkata@example.org", "Asia/Kolkata")])
    morning = minute_after(now, 90)
    path = os.path.join(d.tmp, "q1.xml")
    with open(path, "w") as f:
        f.write(xml)
    out = d.ctl("submit", path, "--dry-run").stdout.decode()
    assert "accepted 1, deferred 1" in out, out
    assert "by quiet hours: 1, due %s to %s" % (iso(morning), iso(morning)) \
        in out, out
    code, r = d.request("POST", "/v1/campaigns", xml)
    assert code == 202, r
    assert r["accepted"] == 1 and r["deferred"] == 1, r
    q = r["deferred_by"]["quiet_hours"]
    assert q == {"count": 1, "first_due": morning, "last_due": morning}, r
    assert "caps" not in r["deferred_by"], r
    assert r["first_due"] <= now + 2 and r["last_due"] == morning, r
    smtp.wait_count(1)
    time.sleep(1.0)
    assert delivered(smtp) == ["kolkata@example.org"]
    code, p = d.request("GET", "/v1/recipients/tokyo@example.org")
    assert code == 200, p
    assert p["time_zone"] == "Asia/Tokyo", p
    assert p["next_allowed"]["news.example.com"] == morning, p
    local = datetime.fromtimestamp(morning, TOKYO).strftime(
        "%Y-%m-%d %H:%M +09:00")
    assert p["next_allowed_local"]["news.example.com"] == local, p
    assert [h["time"] for h in p["history"]] == [morning], p
    out = d.ctl("recipient", "tokyo@example.org").stdout.decode()
    assert "time zone: Asia/Tokyo" in out and local in out, out
    code, st = d.request("GET", "/v1/campaigns/q1")
    assert st["counts"]["deferred_quiet_hours"] == 1, st


def test_a_quiet_time_that_ended_delivers_at_once(env):
    smtp = env.start_smtp()
    now = time.time()
    d = env.daemon("[quiet]\nhours = %s\ntimezone = Asia/Tokyo\n"
                   % window(now, TOKYO, -120, -60))
    code, r = d.request("POST", "/v1/campaigns", doc("q2", [
        ("a@example.org", None), ("b@example.org", "Asia/Tokyo")]))
    assert code == 202 and r["accepted"] == 2 and r["deferred"] == 0, r
    assert r["deferred_by"] == {}, r
    smtp.wait_count(2)


def test_the_zone_is_kept_for_a_later_campaign_without_tz(env):
    smtp = env.start_smtp()
    now = time.time()
    # news sleeps on Tokyo's clock now; promo's quiet time ended.
    d = env.daemon("[quiet]\nhours = %s\n[list promo.example.com]\n"
                   "quiet_hours = %s\n" % (window(now, TOKYO, -30, 90),
                                           window(now, TOKYO, -120, -60)))
    code, r = d.request("POST", "/v1/campaigns", doc("first", [
        ("kept@example.org", "Asia/Tokyo")], lst="promo.example.com"))
    assert r["accepted"] == 1, r
    smtp.wait_count(1)
    code, r = d.request("POST", "/v1/campaigns", doc("later", [
        ("kept@example.org", None), ("utc@example.org", None)]))
    assert code == 202, r
    # utc@ has no zone: UTC, where it is not quiet (Tokyo is 9 h ahead)
    assert r["accepted"] == 1 and r["deferred"] == 1, r
    assert r["deferred_by"]["quiet_hours"]["first_due"] == \
        minute_after(now, 90), r
    smtp.wait_count(2)
    time.sleep(1.0)
    assert delivered(smtp) == ["kept@example.org", "utc@example.org"]


def test_an_unknown_zone_is_a_warning_and_the_default_is_used(env):
    smtp = env.start_smtp()
    now = time.time()
    d = env.daemon("[quiet]\nhours = %s\ntimezone = Asia/Tokyo\n"
                   % window(now, TOKYO, -30, 90))
    code, r = d.request("POST", "/v1/campaigns", doc("q4", [
        ("mars@example.org", "Mars/Olympus_Mons"),
        ("utc@example.org", "UTC")]))
    assert code == 202, r
    assert r["unknown_tz"] == 1, r
    assert any("Mars/Olympus_Mons" in w for w in r["warnings"]), r
    # The default (Tokyo) sleeps; UTC is awake.
    assert r["deferred"] == 1 and r["accepted"] == 1, r
    smtp.wait_count(1)
    assert delivered(smtp) == ["utc@example.org"]
    code, p = d.request("GET", "/v1/recipients/mars@example.org")
    assert p["time_zone"] is None, p
    # A zone name that is not one is refused whole, naming its line.
    code, e = d.request("POST", "/v1/campaigns", doc("q5", [
        ("x@example.org", "Asia/Tokyo\u0085")]))
    assert code == 422, e
    assert "line 6: <to> tz must be an IANA time zone name" in str(e), e


def test_a_morning_after_expiry_is_rejected_as_quiet_hours(env):
    env.start_smtp()
    now = time.time()
    d = env.daemon("[quiet]\nhours = %s\n" % window(now, TOKYO, -30, 90))
    code, r = d.request("POST", "/v1/campaigns", doc("q6", [
        ("t@example.org", "Asia/Tokyo"), ("u@example.org", None)],
        extra="  <expires>%s</expires>\n" % iso(now + 1800)))
    assert code == 202, r
    assert r["rejected"] == {"quiet_hours": 1}, r
    assert r["accepted"] == 1, r


def test_the_drain_holds_a_job_that_falls_due_in_quiet_time(env):
    smtp = env.start_smtp()
    now = time.time()
    d = env.daemon()
    # Admitted without quiet hours, due in 3 s...
    code, r = d.request("POST", "/v1/campaigns", doc("q7", [
        ("late@example.org", "Asia/Tokyo")],
        extra="  <send-after>%s</send-after>\n" % iso(now + 3)))
    assert r["accepted"] == 1, r
    # ...then quiet hours come on before it is due.
    d.set_conf("quiet", "hours", window(now, TOKYO, -30, 90))
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "applied" in d.logtext(), what="reload")
    wait_for(lambda: d.request("GET", "/v1/campaigns/q7")[1]["counts"].get(
        "quiet_waits") == 1, what="the drain to hold the job")
    time.sleep(1.0)
    assert smtp.messages == []
    code, p = d.request("GET", "/v1/recipients/late@example.org")
    assert [(h["time"], h["state"]) for h in p["history"]] == [
        (minute_after(now, 90), "queued")], p
    code, h = d.request("GET", "/v1/health")
    assert h["drain"]["quiet_waits"] == 1, h


def test_mannersd_t_names_a_bad_quiet_setting(env):
    d = env.daemon(start=False)
    for extra, want in [
            ("[quiet]\nhours = 21:00-8:00\n", "quiet hours \"21:00-8:00\""),
            ("[quiet]\ndays = sat,sunday,holiday\n", "\"holiday\" is not a day"),
            ("[quiet]\ntimezone = Europe/Berlinn\n",
             "time zone \"Europe/Berlinn\" is unknown"),
            ("[list news.example.com]\nquiet_hours = 25:00-01:00\n",
             "quiet hours")]:
        base = open(d.conf).read()
        open(d.conf, "w").write(base + extra)
        p = subprocess.run([MANNERSD, "-t", "-c", d.conf],
                           capture_output=True, text=True)
        open(d.conf, "w").write(base)
        assert p.returncode == 1, (extra, p.stderr)
        line = base.count("\n") + 2
        assert "%s:%d:" % (d.conf, line) in p.stderr and want in p.stderr, \
            (extra, p.stderr)


def test_a_staged_job_is_held_when_quiet_time_begins_before_its_slot(env):
    """A domain's cadence holds a job read ahead while the recipient's
    quiet time begins: at its slot it goes back to the queue, not out.
    Up to a minute: the quiet time begins on a whole minute."""
    smtp = env.start_smtp()
    # Two minutes before the next whole minute that is 4 to 28 s away.
    while not 32 <= time.time() % 60 <= 56:
        time.sleep(0.5)
    now = time.time()
    start = int(now) - int(now) % 60 + 60
    d = env.daemon("[domain example.org]\nrate = 2/m\n[quiet]\n"
                   "hours = %s-%s\n" % (
                       time.strftime("%H:%M", time.gmtime(start)),
                       time.strftime("%H:%M", time.gmtime(start + 3600))))
    code, r = d.request("POST", "/v1/campaigns", doc("q8", [
        ("first@example.org", None), ("second@example.org", None)]))
    assert r["accepted"] == 2, r
    smtp.wait_count(1)
    # The second is read ahead at once, its slot 30 s after the first.
    wait_for(lambda: d.request("GET", "/v1/campaigns/q8")[1]["counts"].get(
        "quiet_waits") == 1, timeout=45, what="the held job")
    assert time.time() >= start
    time.sleep(0.5)
    assert delivered(smtp) == ["first@example.org"]
    code, p = d.request("GET", "/v1/recipients/second@example.org")
    assert [(h["time"], h["state"]) for h in p["history"]] == [
        (start + 3600, "queued")], p


def test_a_retry_that_falls_in_quiet_time_waits_for_the_morning(env):
    """A 4xx sends the job back with a back-off of 15 to 20 s that ends
    after the recipient's quiet time has begun: it waits again, for the
    end of it, no attempt spent.  Up to a minute: quiet time begins on a
    whole minute."""
    smtp = env.start_smtp()
    smtp.handler.script = lambda stage, rcpt, attempt: (
        "451 4.3.0 try later" if stage == "rcpt" and attempt == 1 else None)
    # The next whole minute 3 to 13 s away: before any retry.
    while not 47 <= time.time() % 60 <= 57:
        time.sleep(0.5)
    now = time.time()
    start = int(now) - int(now) % 60 + 60
    d = env.daemon("[smtp]\nretry_min = 20s\nretry_max = 20s\n[quiet]\n"
                   "hours = %s-%s\n" % (
                       time.strftime("%H:%M", time.gmtime(start)),
                       time.strftime("%H:%M", time.gmtime(start + 3600))))
    code, r = d.request("POST", "/v1/campaigns", doc("q9", [
        ("night@example.org", None)]))
    assert r["accepted"] == 1, r
    wait_for(lambda: d.request("GET", "/v1/campaigns/q9")[1]["counts"].get(
        "retries") == 1, what="the 4xx to be retried")
    wait_for(lambda: d.request("GET", "/v1/campaigns/q9")[1]["counts"].get(
        "quiet_waits") == 1, timeout=40, what="the retry to be held")
    assert time.time() >= start
    time.sleep(0.5)
    assert smtp.messages == [] and smtp.handler.attempts == {
        "night@example.org": 1}, smtp.handler.attempts
    code, p = d.request("GET", "/v1/recipients/night@example.org")
    assert [(h["time"], h["state"]) for h in p["history"]] == [
        (start + 3600, "queued")], p
