"""Issue 18: the sender's reputation: provider groups (by list and by MX,
with a stub DNS server on a private port), reply-driven shaping with a
scripted relay, daily quotas that roll over at the configured day start,
and warm-up ramps that advance only on sending days."""
import datetime
import os
import subprocess
import time

import harness

from harness import campaign, wait_for
from peers import StubDNS


def domains(d):
    code, r = d.request("GET", "/v1/domains")
    assert code == 200, r
    return r


def unit(d, name):
    for u in domains(d)["units"]:
        if u["name"] == name:
            return u
    return None


def rules(env, text):
    path = os.path.join(env.tmp, "shaping.rules")
    with open(path, "w") as f:
        f.write(text)
    return path


def test_a_workspace_domain_whose_mx_is_google_joins_the_group(env):
    dns = StubDNS({"ws.example": (300, ["aspmx.l.google.com",
                                        "alt1.aspmx.l.google.com"]),
                   "own.example": (300, ["mx.own.example"])})
    env.cleanups.append(dns.stop)
    smtp = env.start_smtp()
    d = env.daemon(extra="[provider google]\ndomains = gmail.example\n"
                   "mx = google.com, googlemail.com\nrate = 4/s\n"
                   "concurrency = 1\n[dns]\nservers = 127.0.0.1:%d\n"
                   "[shaping]\nrules = none\n" % dns.port)
    rc = ([(None, "g%d@gmail.example" % i) for i in range(4)] +
          [(None, "w%d@ws.example" % i) for i in range(4)] +
          [(None, "o%d@own.example" % i) for i in range(3)] +
          [(None, "n%d@nxdomain.example" % i) for i in range(3)])
    code, r = d.request("POST", "/v1/campaigns", campaign(cid="mx", rcpts=rc))
    assert r["accepted"] == 14, r
    msgs = smtp.wait_count(14, timeout=30)
    g = unit(d, "google")
    assert g["kind"] == "provider"
    members = {m["domain"]: m["by"] for m in g["domains"]}
    assert members.get("ws.example") == "aspmx.l.google.com", g
    assert members.get("gmail.example") == "list", g
    assert "own.example" not in members and "nxdomain.example" not in members
    # a failed lookup (NXDOMAIN) leaves the domain on its own
    assert unit(d, "own.example") is None or \
        unit(d, "own.example")["kind"] == "domain"
    all_ = domains(d)
    assert all_["mx"]["lookups"] >= 3 and all_["mx"]["failures"] >= 1, all_
    assert ("ws.example", 15) in dns.queries
    assert not any(q[0] == "gmail.example" for q in dns.queries), \
        "a domain listed by name needs no lookup"
    # the group's rate (4/s) covers both domains together: 250 ms apart
    t = sorted(m["time"] for m in msgs
               if m["to"][0].split("@")[1] in ("gmail.example", "ws.example"))
    gaps = [b - a for a, b in zip(t, t[1:])]
    assert len(t) == 8 and min(gaps) >= 0.2, gaps
    assert "mx: domain=ws.example joins provider=google" in d.logtext()
    assert "mx: domain=nxdomain.example: lookup failed" in d.logtext()


def test_an_unanswering_dns_server_delays_only_its_domains(env):
    dns = StubDNS({"slowdns.example": None})
    env.cleanups.append(dns.stop)
    smtp = env.start_smtp()
    d = env.daemon(extra="[provider google]\nmx = google.com\n"
                   "[dns]\nservers = 127.0.0.1:%d\n[shaping]\nrules = none\n"
                   % dns.port)
    t0 = time.time()
    d.request("POST", "/v1/campaigns", campaign(cid="slow", rcpts=[
        (None, "a@slowdns.example"), (None, "b@listed.example")]))
    # listed.example's own lookup is NXDOMAIN at once: it goes first,
    # while slowdns.example waits for its lookup to time out
    first = smtp.wait_count(1, timeout=10)[0]
    assert first["to"][0] == "b@listed.example"
    assert health_ok(d)
    msgs = smtp.wait_count(2, timeout=30)
    late = [m for m in msgs if m["to"][0] == "a@slowdns.example"][0]
    assert late["time"] - t0 >= 1.0, "it waited for its lookup"
    assert "mx: domain=slowdns.example: lookup failed" in d.logtext()


def health_ok(d):
    code, _ = d.request("GET", "/v1/health")
    return code == 200


RULES = """\
# a test rule: two 421 4.7.28 within an hour slow the group for 4 s
rule test-unusual-rate code=421 enhanced=4.7.28 scope=group action=slow:1/m for=4s after=2/1h
"""


def test_a_rule_fires_after_its_threshold_slows_only_its_scope_and_ends(env):
    smtp = env.start_smtp()
    gmail = ("421 4.7.28 Gmail has detected an unusual rate of unsolicited "
             "mail originating from your IP address")

    def script(stage, rcpt, attempt):
        if stage == "rcpt" and rcpt.startswith("hot") and attempt == 1:
            return gmail
        return None

    smtp.handler.script = script
    d = env.daemon(extra="[shaping]\nrules = %s\n" % rules(env, RULES))
    # one such reply is below the threshold: nothing happens
    d.request("POST", "/v1/campaigns", campaign(cid="one", rcpts=[
        (None, "hot0@slow.example")]))
    smtp.wait_count(1, timeout=20)
    assert unit(d, "slow.example") is None or \
        unit(d, "slow.example")["actions"] == []
    assert "rule=test-unusual-rate starts" not in d.logtext()
    # two more within the hour fire it, for slow.example's unit only
    # (the replies of the two in flight when it starts are not counted)
    d.request("POST", "/v1/campaigns", campaign(cid="two", rcpts=[
        (None, "hot1@slow.example"), (None, "hot2@slow.example"),
        (None, "hot3@slow.example")] +
        [(None, "c%d@slow.example" % i) for i in range(3)] +
        [(None, "f%d@fast.example" % i) for i in range(6)]))
    u = wait_for(lambda: (unit(d, "slow.example") or {}).get("actions") and
                 unit(d, "slow.example"), what="the action to start")
    a = u["actions"][0]
    assert a["rule"] == "test-unusual-rate" and a["scope"] == "group"
    assert "4.7.28" in a["reason"] and a["until"] - a["since"] == 4
    assert abs(u["rate"] - 1 / 60.0) < 1e-6, u
    f = unit(d, "fast.example")
    assert f is None or f["actions"] == []
    # fast.example is not held: all six go while slow.example is shaped
    wait_for(lambda: sum(m["to"][0].endswith("@fast.example")
                         for m in smtp.messages) == 6, timeout=10,
             what="fast.example's six")
    assert unit(d, "slow.example")["actions"], "still shaped meanwhile"
    # it ends by itself, after its 4 s: the 421s that came while it ran
    # neither counted nor extended it
    wait_for(lambda: "rule=test-unusual-rate on group=slow.example ends"
             in d.logtext(), timeout=15, what="the action to end")
    smtp.wait_count(13, timeout=30)
    log = d.logtext()
    assert log.count("rule=test-unusual-rate starts") == 1, log
    assert log.count("rule=test-unusual-rate on group=slow.example ends "
                     "after 4 s") == 1, log
    assert unit(d, "slow.example") is None or \
        unit(d, "slow.example")["actions"] == []


def test_the_shipped_rules_load_and_name_their_sources(env):
    d = env.daemon(extra="[shaping]\nrules = %s\n" % os.path.join(
        os.path.dirname(__file__), "..", "..", "conf", "shaping.rules"))
    assert "shaping: " in d.logtext() and " rules from " in d.logtext()


def test_a_bad_rule_file_refuses_to_start_naming_the_line(env):
    d = env.daemon(extra="[shaping]\nrules = %s\n" % rules(
        env, "\nrule x code=421 scope=nowhere action=suspend for=1m\n"),
        start=False)
    d.start(wait=False)
    wait_for(lambda: not d.alive(), what="mannersd to refuse")
    rc = d.proc.returncode
    d.logf.close()
    d.proc = None
    assert rc != 0, rc
    assert "shaping.rules:2: scope \"nowhere\"" in d.logtext()
    # mannersd -t (and so systemctl reload's check) says the same
    p = subprocess.run([harness.MANNERSD, "-t", "-c", d.conf],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "shaping.rules:2: scope" in p.stderr, p


def day_start_in(seconds):
    t = datetime.datetime.utcnow() + datetime.timedelta(seconds=seconds)
    return t, t.strftime("%H:%M:%S")


def test_a_quota_rolls_over_at_the_configured_day_start(env):
    """Jobs queued before the quota was set (admission could not place
    them): the drain holds the day to it and moves the rest, in queue
    order, to the next quota day, which begins at day_start."""
    smtp = env.start_smtp()
    boundary, hms = day_start_in(10)
    d = env.daemon(extra="[shaping]\nrules = none\n")
    rc = [(None, "q%d@quota.example" % i) for i in range(5)] + \
         [(None, "x%d@other.example" % i) for i in range(2)]
    after = (datetime.datetime.utcnow() + datetime.timedelta(
        seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="quota", rcpts=rc, extra="  <send-after>%s</send-after>\n" %
        after))
    assert r["accepted"] + r["deferred"] == 7, r
    d.stop()
    d.set_conf("smtp", "day_start", hms)
    d.set_conf("domain quota.example", "daily_limit", "3")
    # one at a time, so the relay sees the queue's order
    d.set_conf("smtp", "domain_rate", "5/s")
    d.start()
    smtp.wait_count(5, timeout=20)
    time.sleep(0.5)
    before = smtp.messages
    assert datetime.datetime.utcnow() < boundary, "the test machine is slow"
    assert sum(m["to"][0].endswith("@quota.example") for m in before) == 3
    q = unit(d, "quota.example")["quota"]
    assert q["limit"] == 3 and q["used"] == 3 and q["deferred"] == 2, q
    st = d.request("GET", "/v1/campaigns/quota")[1]["counts"]
    assert st.get("quota_deferred") == 2, st
    assert "moved to a later day by a daily quota 2 times" in \
        d.ctl("status", "quota").stdout.decode()
    # at the day start the two waiting go, in queue order
    msgs = smtp.wait_count(7, timeout=20)
    late = [m for m in msgs if m["to"][0] in ("q3@quota.example",
                                              "q4@quota.example")]
    assert [m["to"][0] for m in sorted(late, key=lambda m: m["time"])] == \
        ["q3@quota.example", "q4@quota.example"]
    assert min(m["time"] for m in late) >= boundary.replace(
        tzinfo=datetime.timezone.utc).timestamp() - 1.0
    q2 = wait_for(lambda: unit(d, "quota.example")["quota"]["used"] == 2 and
                  unit(d, "quota.example")["quota"], what="the new day")
    assert q2["day"] != q["day"] and q2["limit"] == 3


def test_a_ramp_advances_only_on_sending_days(env):
    smtp = env.start_smtp()
    boundary, hms = day_start_in(8)
    start = (datetime.datetime.utcnow() - datetime.timedelta(days=6)).strftime(
        "%Y-%m-%d")
    d = env.daemon(extra="[warmup new-domain]\nstart = %s\n"
                   "volumes = 2, 3, 5\napplies = ramp.example\n"
                   "[shaping]\nrules = none\n" % start)
    d.stop()
    d.set_conf("smtp", "day_start", hms)
    d.start()
    w = unit(d, "ramp.example")["warmup"]
    # six days since its start, none of them a sending day: still day 1
    assert w["started"] and w["day"] == 1 and w["volume"] == 2, w
    assert w["tomorrow"] == 2, "nothing sent today: tomorrow is day 1 again"
    d.request("POST", "/v1/campaigns", campaign(cid="ramp", rcpts=[
        (None, "r%d@ramp.example" % i) for i in range(7)]))
    smtp.wait_count(2, timeout=20)
    time.sleep(0.5)
    assert len(smtp.messages) == 2 and datetime.datetime.utcnow() < boundary
    # the next day is ramp day 2: three more
    smtp.wait_count(5, timeout=20)
    time.sleep(0.5)
    assert len(smtp.messages) == 5
    w = unit(d, "ramp.example")["warmup"]
    assert w["day"] == 2 and w["volume"] == 3 and w["tomorrow"] == 5, w
    out = d.ctl("domains").stdout.decode()
    assert "warm-up new-domain: running, day 2, 3 today, 5 tomorrow" in out


def test_admission_reserves_quota_and_rejects_past_expiry(env):
    smtp = env.start_smtp()
    d = env.daemon(extra="[domain q.example]\ndaily_limit = 2\n"
                   "[shaping]\nrules = none\n")
    now = datetime.datetime.utcnow()
    midnight = (now + datetime.timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0)
    if (midnight - now).total_seconds() < 600:
        return      # too close to midnight UTC for a one-day test
    exp = (now + datetime.timedelta(seconds=300)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    extra = "  <expires>%s</expires>\n" % exp
    code, a = d.request("POST", "/v1/campaigns", campaign(
        cid="qa1", extra=extra, rcpts=[(None, "a%d@q.example" % i)
                                       for i in range(3)]))
    assert code == 202 and a["accepted"] == 2, a
    assert a["rejected"].get("daily_limit") == 1, a
    # a second campaign finds the day full: reserved, not only sent
    code, b = d.request("POST", "/v1/campaigns", campaign(
        cid="qa2", extra=extra, rcpts=[(None, "b@q.example"),
                                       (None, "c@free.example")]))
    assert b["accepted"] == 1 and b["rejected"].get("daily_limit") == 1, b
    smtp.wait_count(3, timeout=20)
    time.sleep(0.5)
    assert sorted(m["to"][0] for m in smtp.messages) == [
        "a0@q.example", "a1@q.example", "c@free.example"]


def test_a_delayed_dsn_quoting_a_throttle_starts_the_rule(env):
    smtp = env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("feedback", "return_path", "bounces@news.example.com")
    d.set_conf("shaping", "rules", rules(
        env, "rule yahoo-tss04 code=4xx text=\"[TSS04]\" scope=group "
        "action=suspend for=1h\n"))
    d.start()
    d.request("POST", "/v1/campaigns", campaign(cid="dsn", rcpts=[
        (None, "late@yahoo.example")]))
    verp = smtp.wait_count(1)[0]["from"]
    diag = ("smtp; 421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily "
            "deferred due to unexpected volume or user complaints")
    dsn = ("From: MAILER-DAEMON@relay.example\r\nTo: %s\r\n"
           "Subject: Delayed Mail (still being retried)\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
           "report-type=delivery-status; boundary=b\r\n\r\n--b\r\n"
           "Content-Type: message/delivery-status\r\n\r\n"
           "Reporting-MTA: dns; relay.example\r\n\r\n"
           "Final-Recipient: rfc822; late@yahoo.example\r\n"
           "Action: delayed\r\nStatus: 4.7.0\r\n"
           "Diagnostic-Code: %s\r\n\r\n--b--\r\n" % (verp, diag))
    st, r = d.request("POST", "/v1/feedback?rcpt=" + verp.replace(
        "+", "%2B").replace("@", "%40"), dsn, ctype="message/rfc822")
    assert st == 200 and r["kind"] == "delay", (st, r)
    u = wait_for(lambda: (unit(d, "yahoo.example") or {}).get("actions")
                 and unit(d, "yahoo.example"), what="the DSN's action")
    a = u["actions"][0]
    assert a["rule"] == "yahoo-tss04" and a["action"] == "suspend", a
    assert "[TSS04]" in a["reason"]
    assert u["why"].startswith("shaped by a rule"), u
    assert "shaping: rule=yahoo-tss04 starts on group=yahoo.example: " \
        "suspend for 3600 s (line 1; DSN" in d.logtext()
    # suspended: a new message to it waits, one to another domain goes
    d.request("POST", "/v1/campaigns", campaign(cid="dsn2", rcpts=[
        (None, "next@yahoo.example"), (None, "other@else.example")]))
    smtp.wait_count(2)
    time.sleep(1.5)
    assert [m["to"][0] for m in smtp.messages] == [
        "late@yahoo.example", "other@else.example"]
    out = d.ctl("domains").stdout.decode()
    assert "action yahoo-tss04 (group=yahoo.example): suspend until" in out


def spam_rule_daemon(env, at, spam, action, domain_rate):
    """A relay that refuses the message to `spam` as spam at stage `at`,
    and a daemon (stopped, to be started) whose rule content-spam puts
    that campaign under `action` ("suspend for=3s"), with the given
    [smtp] domain_rate."""
    smtp = env.start_smtp()

    def script(stage, rcpt, attempt):
        if stage == at and rcpt == spam:
            return "554 5.7.1 Message rejected as spam by content filter"
        return None

    smtp.handler.script = script
    d = env.daemon(extra="[shaping]\nrules = %s\n" % rules(
        env, "rule content-spam code=554 text=\"as spam\" scope=campaign "
        "action=%s\n" % action))
    d.stop()
    d.set_conf("smtp", "domain_rate", domain_rate)
    return smtp, d


def test_a_campaign_rule_suspends_that_campaign_only_and_ends(env):
    smtp, d = spam_rule_daemon(env, "data", "s0@spam.example",
                               "suspend for=3s", "4/s")
    d.start()
    d.request("POST", "/v1/campaigns", campaign(cid="loud", rcpts=[
        (None, "s%d@spam.example" % i) for i in range(4)]))
    d.request("POST", "/v1/campaigns", campaign(cid="calm", rcpts=[
        (None, "c%d@calm.example" % i) for i in range(4)]))
    wait_for(lambda: "rule=content-spam starts on campaign=loud"
             in d.logtext(), what="the campaign's suspension")
    t0 = time.time()
    a = [x for x in domains(d)["all"]["actions"]
         if x["rule"] == "content-spam"]
    assert a and a[0]["scope"] == "campaign" and a[0]["key"] == "loud", a
    wait_for(lambda: sum(m["to"][0].endswith("@calm.example")
                     for m in smtp.messages) == 4, timeout=10,
             what="the other campaign's four")
    wait_for(lambda: "rule=content-spam on campaign=loud ends after 3 s"
             in d.logtext(), timeout=10, what="the end")
    t1 = time.time()
    smtp.wait_count(7, timeout=20)      # s0 was refused for good
    loud = sorted(m["time"] for m in smtp.messages
                  if m["to"][0].endswith("@spam.example"))
    assert not [t for t in loud if t0 + 0.3 < t < t1 - 0.3], (loud, t0, t1)
    assert d.logtext().count("rule=content-spam starts") == 1


def test_a_reload_brings_a_new_provider_and_its_limits_into_force(env):
    import signal
    smtp = env.start_smtp()
    d = env.daemon(extra="[shaping]\nrules = none\n")
    d.request("POST", "/v1/campaigns", campaign(cid="before", rcpts=[
        (None, "a@gmail.example"), (None, "b@googlemail.example")]))
    smtp.wait_count(2)
    assert unit(d, "google") is None
    d.set_conf("provider google", "domains",
               "gmail.example, googlemail.example")
    d.set_conf("provider google", "rate", "2/s")
    d.set_conf("provider google", "daily_limit", "5")
    d.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "applied" in d.logtext(), what="the reload")
    g = unit(d, "google")
    assert g is not None and g["kind"] == "provider", domains(d)
    assert g["quota"]["limit"] == 5 and abs(g["rate"] - 2.0) < 1e-9, g
    d.request("POST", "/v1/campaigns", campaign(cid="after", rcpts=[
        (None, "c%d@gmail.example" % i) for i in range(3)] + [
        (None, "d%d@googlemail.example" % i) for i in range(3)]))
    smtp.wait_count(7, timeout=20)
    time.sleep(1.5)
    # the five of the day: the two before the reload were not counted
    # against a quota that did not exist yet, so five more go today
    after = [m for m in smtp.messages if not m["to"][0][0] in "ab"]
    assert len(after) == 5, [m["to"][0] for m in after]
    t = sorted(m["time"] for m in after)
    assert min(b - a for a, b in zip(t, t[1:])) >= 0.45, t
    g = unit(d, "google")
    assert g["quota"]["used"] == 5, g
    assert {m["domain"] for m in g["domains"]} == {
        "gmail.example", "googlemail.example"}, g


def test_a_connections_rule_narrows_its_group_to_one_connection(env):
    smtp = env.start_smtp()
    begun = {}

    def script(stage, rcpt, attempt):
        if stage == "rcpt" and rcpt == "x0@outlook.example" and attempt == 1:
            return ("421 RP-003 The mail server IP connecting to "
                    "Outlook.com server has exceeded the connection limit")
        if stage == "data":
            begun[rcpt] = time.time()
            return "SLOW 0.4"
        return None

    smtp.handler.script = script
    d = env.daemon(extra="[shaping]\nrules = %s\n" % rules(
        env, "rule ms-rp003 code=421 text=\"RP-003\" scope=group "
        "action=connections:1 for=1h\n"))
    d.request("POST", "/v1/campaigns", campaign(cid="one", rcpts=[
        (None, "x0@outlook.example")]))
    u = wait_for(lambda: (unit(d, "outlook.example") or {}).get("actions")
                 and unit(d, "outlook.example"), what="the action")
    assert u["concurrency"] == 1, u
    d.request("POST", "/v1/campaigns", campaign(cid="many", rcpts=[
        (None, "y%d@outlook.example" % i) for i in range(5)] + [
        (None, "z%d@other.example" % i) for i in range(3)]))
    smtp.wait_count(9, timeout=30)
    spans = sorted((begun[m["to"][0]], m["time"]) for m in smtp.messages
                   if m["to"][0].startswith("y"))
    # one connection: each transfer's DATA begins after the last ended
    assert all(b[0] >= a[1] - 0.05 for a, b in zip(spans, spans[1:])), spans
    others = sorted((begun[m["to"][0]], m["time"]) for m in smtp.messages
                    if m["to"][0].startswith("z"))
    assert any(b[0] < a[1] for a, b in zip(others, others[1:])), \
        "other.example still uses several connections at once"


def test_many_new_domains_are_looked_up_in_turns_and_all_go(env):
    n = 300         # more than the 128 lookups on their way at once
    dns = StubDNS({"d7.example": (300, ["aspmx.l.google.com"])})
    env.cleanups.append(dns.stop)
    smtp = env.start_smtp()
    d = env.daemon(extra="[provider google]\nmx = google.com\n"
                   "[dns]\nservers = 127.0.0.1:%d\n[shaping]\nrules = none\n"
                   % dns.port)
    d.request("POST", "/v1/campaigns", campaign(cid="wide", rcpts=[
        (None, "r@d%d.example" % i) for i in range(n)]))
    smtp.wait_count(n, timeout=60)
    assert domains(d)["mx"]["lookups"] == n
    assert len({q[0] for q in dns.queries}) == n
    g = unit(d, "google")
    assert [m["domain"] for m in g["domains"]] == ["d7.example"], g


def apart(d, name):
    """The line of a group's domain shaped apart (it names its group)."""
    for u in domains(d)["units"]:
        if u["name"] == name and u.get("group"):
            return u
    return None


def workspace_daemon(env, for_s):
    """A daemon whose provider google takes ws.example in by its MX (stub
    DNS), and a relay that answers hot@ws.example's first attempt with
    Gmail's 421 4.7.28, which a scope=domain rule turns into a slow-down
    of for_s seconds."""
    dns = StubDNS({"ws.example": (300, ["aspmx.l.google.com"])})
    env.cleanups.append(dns.stop)
    smtp = env.start_smtp()

    def script(stage, rcpt, attempt):
        if stage == "rcpt" and rcpt == "hot@ws.example" and attempt == 1:
            return ("421 4.7.28 Gmail has detected an unusual rate of "
                    "unsolicited mail originating from your IP address")
        return None

    smtp.handler.script = script
    d = env.daemon(extra="[provider google]\ndomains = gmail.example\n"
                   "mx = google.com\nrate = 5/s\n"
                   "[dns]\nservers = 127.0.0.1:%d\n[shaping]\nrules = %s\n"
                   % (dns.port, rules(env, "rule ws-rate code=421 "
                      "enhanced=4.7.28 scope=domain action=slow:1/m "
                      "for=%ds after=1/1h\n" % for_s)))
    return smtp, d


def test_a_domain_rule_on_a_workspace_domain_slows_only_that_domain(env):
    """Gap 1: a scope=domain action on a domain that MX placed in a
    group gives that domain a line of its own: it alone slows, gmail
    keeps the group's pace, and the group's rate still holds both."""
    smtp, d = workspace_daemon(env, 8)
    d.request("POST", "/v1/campaigns", campaign(cid="one", rcpts=[
        (None, "hot@ws.example")]))
    u = wait_for(lambda: apart(d, "ws.example"), what="the action to start")
    assert u["group"] == "google" and u["kind"] == "domain", u
    assert abs(u["rate"] - 1 / 60.0) < 1e-6, u
    assert u["actions"][0]["scope"] == "domain", u
    g = unit(d, "google")
    assert g["actions"] == [] and abs(g["rate"] - 5.0) < 1e-9, g
    assert "ws.example" in {m["domain"] for m in g["domains"]}, g
    assert "rule=ws-rate starts on domain=ws.example" in d.logtext()
    out = d.ctl("domains").stdout.decode()
    assert "in group google: its limits and quota apply too" in out, out
    t0 = time.time()
    d.request("POST", "/v1/campaigns", campaign(cid="two", rcpts=[
        (None, "w%d@ws.example" % i) for i in range(4)] + [
        (None, "g%d@gmail.example" % i) for i in range(6)]))
    # gmail.example keeps the group's 5/s while ws.example is slowed
    wait_for(lambda: sum(m["to"][0].endswith("@gmail.example")
                         for m in smtp.messages) == 6, timeout=5,
             what="gmail's six at the group's pace")
    assert apart(d, "ws.example")["actions"], "still shaped meanwhile"
    ws = [m for m in smtp.messages if m["to"][0].endswith("@ws.example")
          and m["time"] >= t0]
    assert len(ws) <= 1, "ws.example went at 1/m: %r" % ws
    # it ends by itself; ws.example goes back to the group and sends
    wait_for(lambda: "rule=ws-rate on domain=ws.example ends" in
             d.logtext(), timeout=15, what="the action to end")
    msgs = smtp.wait_count(11, timeout=30)
    # the group's 5/s held both domains together throughout
    t = sorted(m["time"] for m in msgs if m["time"] >= t0)
    gaps = [b - a for a, b in zip(t, t[1:])]
    assert min(gaps) >= 0.15, gaps
    wait_for(lambda: not apart(d, "ws.example") or
             apart(d, "ws.example")["actions"] == [], what="no action")


def test_a_cancelled_campaign_gives_its_quota_places_back(env):
    """Gap 4: a cancel gives the day's reservations back in the same
    transaction, so a second campaign can use the room."""
    env.start_smtp()
    d = env.daemon(extra="[domain q.example]\ndaily_limit = 3\n"
                   "[shaping]\nrules = none\n")
    now = datetime.datetime.utcnow()
    midnight = (now + datetime.timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0)
    if (midnight - now).total_seconds() < 900:
        return      # too close to midnight UTC for a one-day test
    exp = (now + datetime.timedelta(seconds=600)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    later = (now + datetime.timedelta(seconds=300)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    # held until later, so the drain sends none of it before the cancel
    code, a = d.request("POST", "/v1/campaigns", campaign(
        cid="first", rcpts=[(None, "a%d@q.example" % i) for i in range(3)],
        extra="  <send-after>%s</send-after>\n  <expires>%s</expires>\n"
        % (later, exp)))
    assert a["accepted"] + a["deferred"] == 3, a
    code, full = d.request("POST", "/v1/campaigns?dry_run=1", campaign(
        cid="second", rcpts=[(None, "b%d@q.example" % i) for i in range(3)],
        extra="  <expires>%s</expires>\n" % exp))
    assert full["rejected"].get("daily_limit") == 3, full
    code, c = d.request("DELETE", "/v1/campaigns/first")
    assert code == 200, c
    code, b = d.request("POST", "/v1/campaigns", campaign(
        cid="second", rcpts=[(None, "b%d@q.example" % i) for i in range(3)],
        extra="  <expires>%s</expires>\n" % exp))
    assert b["accepted"] == 3 and not b["rejected"].get("daily_limit"), b


def test_admission_holds_a_domain_placed_by_mx_to_its_groups_quota(env):
    """Gap 3: once the drain has placed a Workspace-like domain in the
    google group by its MX records, admission reserves the group's day
    for it too, and the placement, kept in the store, survives a
    restart (the DNS server is gone by then)."""
    dns = StubDNS({"ws.example": (3600, ["aspmx.l.google.com"])})
    env.cleanups.append(dns.stop)
    smtp = env.start_smtp()
    d = env.daemon(extra="[provider google]\ndomains = gmail.example\n"
                   "mx = google.com\ndaily_limit = 5\n"
                   "[dns]\nservers = 127.0.0.1:%d\n[shaping]\nrules = none\n"
                   % dns.port)
    now = datetime.datetime.utcnow()
    midnight = (now + datetime.timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0)
    if (midnight - now).total_seconds() < 900:
        return      # too close to midnight UTC for a one-day test
    exp = "  <expires>%s</expires>\n" % (
        now + datetime.timedelta(seconds=600)).strftime("%Y-%m-%dT%H:%M:%SZ")
    # not looked up yet: counted on its own at admission
    code, a = d.request("POST", "/v1/campaigns", campaign(
        cid="first", extra=exp, rcpts=[(None, "w0@ws.example")]))
    assert a["accepted"] == 1, a
    smtp.wait_count(1, timeout=20)
    wait_for(lambda: d.request("GET", "/v1/campaigns/first")[1]["counts"]
             .get("sent") == 1, what="the send committed")
    g = unit(d, "google")
    assert "ws.example" in {m["domain"] for m in g["domains"]}, g
    # the group's day: three reserved for gmail and sent, with ws's one
    # four sent of five: one place left
    code, b = d.request("POST", "/v1/campaigns", campaign(
        cid="second", extra=exp, rcpts=[(None, "g%d@gmail.example" % i)
                                        for i in range(3)]))
    assert b["accepted"] == 3, b
    smtp.wait_count(4, timeout=20)
    wait_for(lambda: d.request("GET", "/v1/campaigns/second")[1]["counts"]
             .get("sent") == 3, what="the sends committed")
    assert unit(d, "google")["quota"]["used"] == 4
    dns.stop()
    d.stop()
    d.start()
    code, c = d.request("POST", "/v1/campaigns", campaign(
        cid="third", extra=exp, rcpts=[(None, "x0@ws.example"),
                                       (None, "x1@ws.example")]))
    assert c["accepted"] == 1 and c["rejected"].get("daily_limit") == 1, c


def test_a_campaign_rule_slows_that_campaign_across_its_domains(env):
    """Gap 2: scope=campaign with action=slow: the campaign sends at most
    its rate across all its domains while another campaign to the same
    domains keeps its pace."""
    smtp, d = spam_rule_daemon(env, "rcpt", "s0@a.example",
                               "slow:1/s for=5s", "4/s")
    # mannersd -t takes the rule (a start would refuse what it refuses)
    p = subprocess.run([harness.MANNERSD, "-t", "-c", d.conf],
                       capture_output=True, text=True)
    assert p.returncode == 0, p
    d.start()
    doms = ("a.example", "b.example", "c.example")
    d.request("POST", "/v1/campaigns", campaign(cid="loud", rcpts=[
        (None, "s%d@%s" % (i, doms[i % 3])) for i in range(15)]))
    wait_for(lambda: "rule=content-spam starts on campaign=loud"
             in d.logtext(), what="the campaign's slow-down")
    t0 = time.time()
    a = [x for x in domains(d)["all"]["actions"]
         if x["rule"] == "content-spam"]
    assert a and a[0]["scope"] == "campaign" and a[0]["key"] == "loud", a
    assert a[0]["action"] == "slow to 1/s", a
    d.request("POST", "/v1/campaigns", campaign(cid="calm", rcpts=[
        (None, "c%d@%s" % (i, doms[i % 3])) for i in range(9)]))
    # the other campaign keeps its pace: 4/s per domain, three domains
    wait_for(lambda: sum(m["to"][0].startswith("c") for m in smtp.messages)
             == 9, timeout=4, what="the other campaign's nine")
    wait_for(lambda: "rule=content-spam on campaign=loud ends after 5 s"
             in d.logtext(), timeout=10, what="the end")
    t1 = time.time()
    smtp.wait_count(23, timeout=20)     # s0 was refused for good
    loud = sorted(m["time"] for m in smtp.messages
                  if m["to"][0].startswith("s") and t0 + 0.2 < m["time"] <
                  t1 - 0.2)
    gaps = [b - a for a, b in zip(loud, loud[1:])]
    assert loud and min(gaps or [1.0]) >= 0.85, (loud, t0, t1)
    assert len(loud) <= (t1 - t0) + 1, (loud, t0, t1)


def test_a_campaign_rule_cuts_that_campaign_to_one_connection(env):
    """Gap 2: scope=campaign with action=connections:1: the campaign's
    transfers never overlap, another campaign's still do."""
    smtp = env.start_smtp()
    begun = {}

    def script(stage, rcpt, attempt):
        if stage == "rcpt" and rcpt == "s0@a.example" and attempt == 1:
            return "451 4.7.1 Too many concurrent connections from you"
        if stage == "data":
            begun[rcpt] = time.time()
            return "SLOW 0.4"
        return None

    smtp.handler.script = script
    d = env.daemon(extra="[shaping]\nrules = %s\n" % rules(
        env, "rule one-at-a-time code=451 text=\"concurrent\" "
        "scope=campaign action=connections:1 for=1h\n"))
    d.request("POST", "/v1/campaigns", campaign(cid="first", rcpts=[
        (None, "s0@a.example")]))
    wait_for(lambda: "rule=one-at-a-time starts on campaign=first"
             in d.logtext(), what="the action")
    d.request("POST", "/v1/campaigns", campaign(cid="first", rcpts=[
        (None, "s%d@%s.example" % (i, "abc"[i % 3])) for i in range(1, 6)]))
    d.request("POST", "/v1/campaigns", campaign(cid="other", rcpts=[
        (None, "o%d@%s.example" % (i, "abc"[i % 3])) for i in range(6)]))
    smtp.wait_count(12, timeout=30)
    spans = sorted((begun[m["to"][0]], m["time"]) for m in smtp.messages
                   if m["to"][0].startswith("s"))
    assert all(b[0] >= a[1] - 0.05 for a, b in zip(spans, spans[1:])), spans
    others = sorted((begun[m["to"][0]], m["time"]) for m in smtp.messages
                    if m["to"][0].startswith("o"))
    assert any(b[0] < a[1] for a, b in zip(others, others[1:])), \
        "the other campaign still uses several connections at once"


def test_admission_starts_the_lookup_of_a_domain_it_could_not_place(env):
    """Gap 3: a domain admission counted on its own (no MX answer yet)
    is looked up at once, though its only job is due in an hour; the
    next admission then holds it to its group's quota."""
    dns = StubDNS({"ws.example": (3600, ["aspmx.l.google.com"])})
    env.cleanups.append(dns.stop)
    env.start_smtp()
    d = env.daemon(extra="[provider google]\nmx = google.com\n"
                   "daily_limit = 2\n[dns]\nservers = 127.0.0.1:%d\n"
                   "[shaping]\nrules = none\n" % dns.port)
    now = datetime.datetime.utcnow()
    midnight = (now + datetime.timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0)
    if (midnight - now).total_seconds() < 7200:
        return      # too close to midnight UTC for a one-day test
    later = (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    code, a = d.request("POST", "/v1/campaigns", campaign(
        cid="later", rcpts=[(None, "w0@ws.example")],
        extra="  <send-after>%s</send-after>\n" % later))
    assert a["accepted"] + a["deferred"] == 1, a
    wait_for(lambda: ("ws.example", 15) in dns.queries, timeout=5,
             what="the lookup, started by the admission")
    wait_for(lambda: "ws.example" in {m["domain"] for m in
                                      unit(d, "google")["domains"]},
             what="the placement")
    exp = (now + datetime.timedelta(seconds=600)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    doc = campaign(cid="now", rcpts=[(None, "x%d@ws.example" % i)
                                     for i in range(3)],
                   extra="  <expires>%s</expires>\n" % exp)
    # the writer records the placement a moment after the answer
    wait_for(lambda: d.request("POST", "/v1/campaigns?dry_run=1", doc)[1]
             ["rejected"].get("daily_limit"), timeout=5,
             what="the placement in the store")
    code, b = d.request("POST", "/v1/campaigns", doc)
    assert b["accepted"] == 2 and b["rejected"].get("daily_limit") == 1, b


def held_campaign_daemon(env, action, seconds):
    """A relay that refuses s0@one.example as spam, and a daemon whose
    rule puts that campaign under `action` for `seconds`, with loud's
    first job sent: the action runs on return."""
    smtp, d = spam_rule_daemon(env, "rcpt", "s0@one.example",
                               "%s for=%ds" % (action, seconds), "40/s")
    d.start()
    d.request("POST", "/v1/campaigns", campaign(cid="loud", rcpts=[
        (None, "s0@one.example")]))
    wait_for(lambda: "rule=content-spam starts on campaign=loud"
             in d.logtext(), what="the campaign's hold")
    return smtp, d


def sent_to(smtp, prefix):
    return [m for m in smtp.messages if m["to"][0].startswith(prefix)]


def test_a_slowed_campaign_with_hundreds_of_jobs_never_holds_up_another(env):
    """A campaign slowed by a scope=campaign action, with more jobs due
    in one domain than the pick ever looked past (256), leaves another
    campaign to that domain its pace; meanwhile it keeps its own pace in
    queue order (its jobs are read a few at a time), and when the action
    ends its jobs all go, none lost."""
    smtp, d = held_campaign_daemon(env, "slow:5/s", 25)
    t0 = time.time()
    code, r = d.request("POST", "/v1/campaigns", campaign(cid="loud", rcpts=[
        (None, "s%d@one.example" % i) for i in range(1, 601)]))
    assert r["accepted"] == 600, (code, r)
    tc = time.time()    # the submission reads loud's jobs afresh
    code, r = d.request("POST", "/v1/campaigns", campaign(cid="calm", rcpts=[
        (None, "c%d@one.example" % i) for i in range(6)]))
    assert r["accepted"] == 6, (code, r)
    wait_for(lambda: len(sent_to(smtp, "c")) == 6, timeout=15,
             what="the other campaign's six, at the domain's pace")
    # ...while the slow-down still held the loud one
    assert "rule=content-spam on campaign=loud ends" not in d.logtext()
    assert unit(d, "one.example")["staged"] <= 64, unit(d, "one.example")
    wait_for(lambda: "rule=content-spam on campaign=loud ends after 25 s"
             in d.logtext(), timeout=40, what="the end")
    t1 = time.time()
    held = [int(m["to"][0][1:].split("@")[0]) for m in sent_to(smtp, "s")
            if m["time"] < t1]
    # at its own pace, in queue order, read on past its read-ahead (64
    # staged at the last fresh read) by its own read
    assert len(held) <= 5 * (t1 - t0) + 2, (len(held), t1 - t0)
    assert max(held) <= len(held) + 4, held
    since = [m for m in sent_to(smtp, "s") if tc < m["time"] < t1 - 1]
    assert len(since) > 64 + 10, (len(since), t1 - tc)
    # s0 was refused for good; the other 600 all go, none twice
    wait_for(lambda: len(sent_to(smtp, "s")) == 600, timeout=60,
             what="the slowed campaign's 600")
    loud = [int(m["to"][0][1:].split("@")[0]) for m in sent_to(smtp, "s")]
    assert sorted(loud) == list(range(1, 601)), loud


def test_a_suspended_campaign_with_thousands_of_jobs_never_holds_up_another(
        env):
    """A campaign suspended by a scope=campaign action, with more jobs due
    in one domain than the read ever looked past (4096), leaves another
    campaign to that domain its pace; its own jobs go again when the
    suspension ends."""
    smtp, d = held_campaign_daemon(env, "suspend", 20)
    code, r = d.request("POST", "/v1/campaigns", campaign(cid="loud", rcpts=[
        (None, "s%d@one.example" % i) for i in range(1, 4301)]))
    assert r["accepted"] == 4300, (code, r)
    code, r = d.request("POST", "/v1/campaigns", campaign(cid="calm", rcpts=[
        (None, "c%d@one.example" % i) for i in range(4)]))
    assert r["accepted"] == 4, (code, r)
    wait_for(lambda: len(sent_to(smtp, "c")) == 4, timeout=15,
             what="the other campaign's four")
    assert "rule=content-spam on campaign=loud ends" not in d.logtext()
    assert sent_to(smtp, "s") == [], "loud was suspended"
    wait_for(lambda: "rule=content-spam on campaign=loud ends after 20 s"
             in d.logtext(), timeout=40, what="the end")
    # its jobs go again, from the first in queue order (a few connections
    # may finish out of turn)
    wait_for(lambda: len(sent_to(smtp, "s")) >= 20, timeout=30,
             what="the suspended campaign's jobs after its end")
    loud = [int(m["to"][0][1:].split("@")[0]) for m in sent_to(smtp, "s")]
    assert set(loud[:16]) <= set(range(1, 21)), loud[:20]



def metric(d, line):
    """The value of one metrics line (`name{labels}`), or None."""
    st, m = d.request("GET", "/metrics")
    text = m if isinstance(m, str) else m.decode()
    for ln in text.splitlines():
        if ln.startswith(line + " "):
            return float(ln.split()[-1])
    return None


def test_a_group_counts_the_actions_on_its_domains_shaped_apart(env):
    """A scope=domain action on a group's member gives the member its own
    line; the group's row says so: /v1/domains and the metrics count it
    as a member action, list the member as apart, show the member's line
    (named for its group) with the action, and clear it when it ends."""
    _, d = workspace_daemon(env, 6)
    d.request("POST", "/v1/campaigns", campaign(cid="one", rcpts=[
        (None, "hot@ws.example"), (None, "g0@gmail.example")]))
    wait_for(lambda: apart(d, "ws.example"), what="the action to start")
    g = unit(d, "google")
    assert g["actions"] == [] and g["member_actions"] == 1, g
    assert {m["domain"]: m["apart"] for m in g["domains"]}.get(
        "ws.example") is True, g
    ws = apart(d, "ws.example")
    assert ws["group"] == "google" and len(ws["actions"]) == 1, ws
    assert ws["member_actions"] == 0, ws
    assert metric(d, 'manners_unit_actions{unit="google"}') == 0
    assert metric(d, 'manners_unit_member_actions{unit="google"}') == 1
    assert metric(d, 'manners_unit_actions{unit="ws.example"}') == 1
    out = d.ctl("domains").stdout.decode()
    assert "1 action on its domains shaped apart (see their lines)" in out, \
        out
    assert "domain ws.example (by aspmx.l.google.com; shaped apart" in out, \
        out
    # the action ends: the member goes back, the counts with it
    wait_for(lambda: "rule=ws-rate on domain=ws.example ends" in
             d.logtext(), timeout=20, what="the action to end")
    g = wait_for(lambda: (lambda u: u if u["member_actions"] == 0 else
                          None)(unit(d, "google")), what="no member action")
    assert not {m["domain"]: m["apart"] for m in g["domains"]}.get(
        "ws.example"), g
    assert metric(d, 'manners_unit_member_actions{unit="google"}') == 0
    # its line stays listed, idle, until the tidy forgets it
    assert metric(d, 'manners_unit_actions{unit="ws.example"}') in (None, 0)
