"""Issue 19, point 6: the first ten minutes of a new user."""
import email
import email.policy
import json
import os
import re
import subprocess
import urllib.request

from harness import (MANNERSCTL, MANNERSD, campaign, free_port, wait_for)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True,
                          timeout=30, **kw)


def test_make_run_installs_only_what_running_needs(env):
    run_n = run("make", "-n", "--no-print-directory", "run-deps",
                cwd=ROOT).stdout
    check_n = run("make", "-n", "--no-print-directory", "deps",
                  cwd=ROOT).stdout
    for pkg in ("gcc", "liblmdb-dev", "libgmime-3.0-dev", "python3-aiosmtpd"):
        assert re.search(r"\b%s\b" % re.escape(pkg), run_n), (pkg, run_n)
    for pkg in ("chromium", "python3-selenium", "postfix", "dovecot-imapd",
                "libcriterion-dev", "opendkim"):
        assert not re.search(r"\b%s\b" % re.escape(pkg), run_n), pkg
        assert re.search(r"\b%s\b" % re.escape(pkg), check_n), pkg
    # `make run` goes through run-deps, not deps
    mk = open(os.path.join(ROOT, "Makefile")).read()
    assert re.search(r"^run: run-deps$", mk, re.M), "make run's prerequisite"


def test_smtp_log_of_make_run_is_decoded(env):
    port = free_port()
    log = os.path.join(env.tmp, "smtp.log")
    with open(log, "wb") as f:
        relay = subprocess.Popen([
            "/usr/bin/python3", os.path.join(ROOT, "tests", "devrelay.py"),
            "127.0.0.1", str(port)], stdout=f, stderr=subprocess.STDOUT)
    env.cleanups.append(lambda: (relay.terminate(), relay.wait(5)))
    wait_for(lambda: "listening" in open(log).read(), what="devrelay")
    d = env.daemon(smtp_port=port)
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="readable", subject="Grüße aus dem Laden — November",
        rcpts=[("Zoë Müller", "zoe@example.org")],
        text="Hi {{name}}, " + "this line is long enough to be wrapped " * 4
             + "\n{{unsubscribe_url}}\n",
        html="<p>Hi {{name}}</p><a href=\"{{unsubscribe_url}}\">u</a>"))
    assert code == 202, r
    wait_for(lambda: "text/html" in open(log).read(), what="the message")
    text = open(log).read()
    assert "Subject: Grüße aus dem Laden — November" in text, text
    assert "To: Zoë Müller <zoe@example.org>" in text, text
    assert "Hi Zoë Müller, this line is long enough to be wrapped this" \
        in text, text
    assert "<p>Hi Zoë Müller</p>" in text, text
    # no quoted-printable left: soft breaks, =C3 escapes, encoded words
    assert not re.search(r"[^=]=\n|=C3|=\?UTF-8\?", text), text


def test_development_defaults_find_the_built_catalogs(env):
    """`make run` starts mannersd without -c from the tree: its pages
    come in every language this build compiled, not only English (the
    installed catalogs are not there)."""
    build = os.path.dirname(MANNERSD)
    rel = os.path.relpath(build, ROOT)
    os.makedirs(os.path.join(env.tmp, rel))
    os.symlink(os.path.join(build, "locale"),
               os.path.join(env.tmp, rel, "locale"))
    log = os.path.join(env.tmp, "dev.log")
    with open(log, "wb") as f:
        p = subprocess.Popen([MANNERSD, "-v"], cwd=env.tmp, stdout=f,
                             stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    env.cleanups.append(lambda: (p.terminate(), p.wait(10)))
    wait_for(lambda: "mannersd started" in open(log).read() or
             p.poll() is not None, what="mannersd with the defaults")
    text = open(log).read()
    assert "pages in English and 3 other languages from %s/locale" % rel \
        in text, text


def test_help_and_version(env):
    r = run(MANNERSD, "--version")
    assert r.returncode == 0 and re.fullmatch(r"mannersd \d+\.\d+\.\d+\n",
                                              r.stdout), r
    r = run(MANNERSD, "--help")
    assert r.returncode == 0 and "-t " in r.stdout and "--version" in \
        r.stdout, r
    r = run(MANNERSD, "--bogus")
    assert r.returncode == 2 and "usage:" in r.stderr, r
    r = run(MANNERSCTL, "--version")
    assert r.returncode == 0 and re.fullmatch(r"mannersctl \d+\.\d+\.\d+\n",
                                              r.stdout), r
    # the version is the Debian package's
    with open(os.path.join(ROOT, "debian", "changelog")) as f:
        pkg = re.match(r"manners \(([^)-]+)", f.readline()).group(1)
    assert r.stdout == "mannersctl %s\n" % pkg, (r.stdout, pkg)


def conf_check(env, text):
    path = os.path.join(env.tmp, "check.conf")
    open(path, "w").write(text)
    return path, run(MANNERSD, "-t", "-c", path)


def test_config_errors_are_errors(env):
    path, r = conf_check(env, "[daemon]\nsocket = /a\nsocket = /b\n")
    assert r.returncode == 1, r
    assert r.stderr.startswith("error: %s:3: socket is set twice" % path), r
    assert "warn:" not in r.stderr and "line above" not in r.stderr, r
    path, r = conf_check(env, "[smtp]\nrate = 5\n")
    assert r.returncode == 1 and "N/s, N/m, N/h or N/d" in r.stderr, r
    r = run(MANNERSD, "-t", "-c", os.path.join(env.tmp, "missing.conf"))
    assert r.returncode == 1, r
    assert r.stderr.startswith("error: cannot read the configuration file "
                               ), r
    assert "No such file" in r.stderr and "line above" not in r.stderr, r


def test_link_settings_are_checked_by_mannersd_t(env):
    path, r = conf_check(env, "[daemon]\npublic_url = https://n.example.com/\n"
                         "hostname = mail.example.com\n")
    assert r.returncode == 0 and r.stderr == "", r
    path, r = conf_check(env, "[daemon]\npublic_url = http://n.example.com\n"
                         "hostname = mail.example.com\n")
    assert r.returncode == 0 and "warn:" in r.stderr and "RFC 8058" in \
        r.stderr, r
    for bad in ("public_url = https://n.example.com/a>b",
                "public_url = https://n.example.com/a b",
                "public_url = n.example.com",
                "unsubscribe_mailto = <u@n.example.com>",
                "unsubscribe_mailto = u@n.example.com?subject=x"):
        path, r = conf_check(env, "[daemon]\n%s\n" % bad)
        assert r.returncode == 1 and r.stderr.startswith(
            "error: %s:2: " % path), (bad, r)
    path, r = conf_check(env, "[daemon]\nhostname = vm\n")
    assert r.returncode == 0 and "not fully qualified" in r.stderr, r


def test_a_trailing_slash_in_public_url_makes_working_links(env):
    smtp = env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("daemon", "public_url", "http://127.0.0.1:%d/" % d.public_port)
    d.start()
    code, r = d.request("POST", "/v1/campaigns", campaign(cid="slash"))
    assert code == 202, r
    m = smtp.wait_count(1)[0]
    link = str(m["msg"]["List-Unsubscribe"]).strip("<>")
    assert "//u/" not in link and link.startswith(
        "http://127.0.0.1:%d/u/" % d.public_port), link
    with urllib.request.urlopen(link, timeout=10) as resp:
        assert resp.status == 200
    # the EHLO name is the name the Message-ID carries
    assert m["helo"] == "test.manners.invalid", m["helo"]
    assert str(m["msg"]["Message-ID"]).endswith("@test.manners.invalid>")


def test_submit_names_the_invalid_addresses(env):
    env.start_smtp()
    d = env.daemon()
    doc = campaign(cid="typos", rcpts=[(None, "ok@example.org"),
                                       (None, "no-at.example.org"),
                                       (None, "bob@localhost")])
    path = os.path.join(env.tmp, "typos.xml")
    open(path, "w").write(doc)
    out = d.ctl("submit", path).stdout.decode()
    assert "invalid addresses:" in out, out
    assert "    no-at.example.org: no @ in address" in out, out
    assert "    bob@localhost: domain \"localhost\" has no dot" in out, out
    r = json.loads(d.ctl("--json", "submit", "--dry-run", path).stdout)
    assert r["invalid"] == [
        {"address": "no-at.example.org", "reason": "no @ in address"},
        {"address": "bob@localhost",
         "reason": "domain \"localhost\" has no dot"}], r


def test_unsubscribe_from_an_unknown_list_is_404(env):
    env.start_smtp()
    d = env.daemon(extra="[list configured.example.com]\nmin_gap = 0\n")
    body = {"address": "kim@example.org", "list": "newz.example.com"}
    code, r = d.request("POST", "/v1/unsubscribes", json.dumps(body),
                        ctype="application/json")
    assert code == 404 and "unknown list \"newz.example.com\"" in \
        r["error"], (code, r)
    code, st = d.request("GET", "/v1/recipients/kim@example.org")
    assert not st.get("unsubscribed"), st
    # a list a campaign used, or one the configuration names, is known
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="k", lst="news.example.com"))
    for lst in ("news.example.com", "configured.example.com"):
        body["list"] = lst
        code, r = d.request("POST", "/v1/unsubscribes", json.dumps(body),
                            ctype="application/json")
        assert code == 200 and r["list"] == lst, (code, r)
    # and every list needs no list at all
    del body["list"]
    code, r = d.request("POST", "/v1/unsubscribes", json.dumps(body),
                        ctype="application/json")
    assert code == 200, (code, r)


def test_shipped_config_turns_no_example_on(env):
    path = os.path.join(ROOT, "conf", "manners.conf")
    section = None
    for n, line in enumerate(open(path), 1):
        line = line.split(";")[0].split(" #")[0].strip()
        if not line:
            continue
        if line.startswith("["):
            section = line
            assert section in ("[daemon]", "[smtp]", "[caps]", "[feedback]", "[shaping]", "[dns]",
                               "[quiet]"), \
                "line %d: an example section is on: %s" % (n, section)
            continue
        assert "example" not in line, "line %d: an example is on: %s" % (
            n, line)
    r = run(MANNERSD, "-t", "-c", path)
    assert r.returncode == 0, r
    # what a copy to /etc must still be told: its links go nowhere yet
    assert "public_url" in r.stderr and "this machine" in r.stderr, r


def test_submit_wait_without_a_terminal_says_why(env):
    import time
    smtp = env.start_smtp()
    d = env.daemon()
    after = time.strftime("%Y-%m-%dT%H:%M:%SZ",
                          time.gmtime(int(time.time()) + 3))
    path = os.path.join(env.tmp, "later.xml")
    open(path, "w").write(campaign(
        cid="later", extra="  <send-after>%s</send-after>\n" % after))
    p = d.ctl("submit", "--wait", path)
    err = p.stderr.decode()
    assert "mannersctl: later: sent 0, failed 0, queued 1: nothing is due " \
        "before %s" % after in err, err
    assert len(smtp.messages) == 1
    assert "sent 1" in p.stdout.decode(), p.stdout


def test_throttled_counts_messages_not_waits(env):
    import time
    smtp = env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("smtp", "domain_rate", "4/s")
    d.start()
    rcpts = [(None, "r%d@example.org" % i) for i in range(6)]
    code, r = d.request("POST", "/v1/campaigns", campaign(cid="t",
                                                          rcpts=rcpts))
    assert code == 202, r
    smtp.wait_count(6)
    wait_for(lambda: d.request("GET", "/v1/health")[1]["drain"]["sent"] == 6,
             what="6 sends committed")
    h = d.request("GET", "/v1/health")[1]["drain"]
    # one domain at 4/s: the first goes at once, the others each waited
    assert h["throttled"] == 5, h
    assert h["cadence_waits"] >= h["throttled"], h
    time.sleep(0.5)
    assert d.request("GET", "/v1/health")[1]["drain"]["throttled"] == 5
    out = d.ctl("health").stdout.decode()
    assert "sent 6 (5 of them waited for a rate limit)" in out, out
