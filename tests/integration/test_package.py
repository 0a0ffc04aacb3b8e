"""Issue 19: the Debian package and the Prometheus alert rules.

The package is built from this tree with `make deb` (debhelper,
dpkg-buildpackage, lintian with errors and warnings fatal), unpacked
with dpkg-deb -x into a temporary root, and what it installed is checked
there: the files, the conffile, `mannersd -t` on the shipped
configuration, and `systemd-analyze verify` on the shipped units.

The alert rules are checked with promtool (syntax, then the unit tests in
tests/alerts/), a rule broken on purpose must fail those tests, and a
running mannersd must expose every metric the rules use.
"""
import os
import re
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
RULES = os.path.join(TOP, "conf", "manners-alerts.yml")
RULE_TESTS = os.path.join(TOP, "tests", "alerts", "manners-alerts.test.yml")


def run(args, cwd=None, timeout=600):
    # Not the flags of a `make check SANITIZE=1` this test runs under:
    # the package is built as Debian builds it.
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "SANITIZE")}
    p = subprocess.run(args, cwd=cwd, capture_output=True, text=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout + p.stderr


def build_package(out):
    rc, text = run(["make", "--no-print-directory", "deb", "DEB_OUT=" + out],
                   cwd=TOP, timeout=1200)
    assert rc == 0, "make deb failed:\n" + text[-4000:]
    debs = [f for f in os.listdir(out)
            if f.startswith("manners_") and f.endswith(".deb")]
    assert len(debs) == 1, os.listdir(out)
    return os.path.join(out, debs[0])


def test_deb_package(env):
    out = os.path.join(env.tmp, "deb")
    deb = build_package(out)

    # lintian ran inside `make deb` with --fail-on error,warning; run it
    # again here to show its verdict in the test's own terms.
    changes = [f for f in os.listdir(out) if f.endswith(".changes")][0]
    rc, text = run(["lintian", "--fail-on", "error,warning",
                    os.path.join(out, changes)])
    assert rc == 0, text
    bad = [ln for ln in text.splitlines() if re.match(r"^[EW]: ", ln)]
    assert bad == [], bad

    root = os.path.join(env.tmp, "root")
    rc, text = run(["dpkg-deb", "-x", deb, root])
    assert rc == 0, text
    for f in ("usr/sbin/mannersd", "usr/bin/mannersctl",
              "usr/share/man/man8/mannersd.8.gz",
              "usr/share/man/man1/mannersctl.1.gz",
              "usr/share/man/man5/manners.conf.5.gz",
              "lib/systemd/system/mannersd.service",
              "lib/systemd/system/mannersd.socket",
              "usr/lib/sysusers.d/manners.conf",
              "etc/manners/manners.conf",
              "etc/manners/shaping.rules",
              "usr/share/doc/manners/copyright",
              "usr/share/doc/manners/examples/manners-alerts.yml",
              # The unsubscribe pages' languages, where mannersd looks.
              "usr/share/manners/locale/de/LC_MESSAGES/manners.mo",
              "usr/share/manners/locale/fr/LC_MESSAGES/manners.mo",
              "usr/share/manners/locale/es/LC_MESSAGES/manners.mo"):
        assert os.path.exists(os.path.join(root, f)), f
    for f in ("usr/sbin/mannersd", "usr/bin/mannersctl"):
        assert os.access(os.path.join(root, f), os.X_OK), f

    # The configuration is a conffile: an administrator's edits survive
    # an upgrade.
    rc, text = run(["dpkg-deb", "-e", deb, os.path.join(env.tmp, "ctl")])
    assert rc == 0, text
    with open(os.path.join(env.tmp, "ctl", "conffiles")) as f:
        conffiles = f.read().split()
    assert "/etc/manners/manners.conf" in conffiles
    assert "/etc/manners/shaping.rules" in conffiles, conffiles
    # The sysusers entry makes the user the unit runs as.
    with open(os.path.join(root, "usr/lib/sysusers.d/manners.conf")) as f:
        assert re.search(r"^u manners ", f.read(), re.M)
    with open(os.path.join(root, "lib/systemd/system/mannersd.service")) as f:
        unit = f.read()
    assert "ExecStart=/usr/sbin/mannersd " in unit, unit
    assert "@SBINDIR@" not in unit

    # The installed daemon accepts the installed configuration.
    rc, text = run([os.path.join(root, "usr/sbin/mannersd"), "-t", "-c",
                    os.path.join(root, "etc/manners/manners.conf")])
    assert rc == 0, text
    # ... and was built to find the catalogs where they are installed.
    with open(os.path.join(root, "usr/sbin/mannersd"), "rb") as f:
        assert b"/usr/share/manners/locale" in f.read()

    # systemd-analyze verify in a root made of this system's units and
    # the package's files: the binaries the units name, their man pages.
    units = os.path.join(root, "lib/systemd/system")
    for u in os.listdir("/lib/systemd/system"):
        dst = os.path.join(units, u)
        if not os.path.lexists(dst):
            src = os.path.join("/lib/systemd/system", u)
            if os.path.isdir(src) and not os.path.islink(src):
                shutil.copytree(src, dst, symlinks=True)
            else:
                shutil.copy(src, dst, follow_symlinks=False)
    os.makedirs(os.path.join(root, "tmp"), exist_ok=True)
    verify = ["systemd-analyze", "verify", "--root=" + root,
              "/lib/systemd/system/mannersd.service",
              "/lib/systemd/system/mannersd.socket"]
    manenv = dict(os.environ, MANPATH=os.path.join(root, "usr/share/man"))
    p = subprocess.run(verify, env=manenv, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr

    # The same check fails for a unit that names a binary the package
    # does not ship: it is a real check of the package's paths.
    svc = os.path.join(units, "mannersd.service")
    with open(svc) as f:
        text = f.read()
    with open(svc, "w") as f:
        f.write(text.replace("ExecStart=/usr/sbin/mannersd",
                             "ExecStart=/usr/sbin/mannersd-missing"))
    p = subprocess.run(verify, env=manenv, capture_output=True, text=True,
                       timeout=120)
    assert p.returncode != 0 and "mannersd-missing" in p.stdout + p.stderr


def test_alert_rules(env):
    rc, text = run(["promtool", "check", "rules", RULES])
    assert rc == 0, text
    rc, text = run(["promtool", "test", "rules", RULE_TESTS],
                   cwd=os.path.dirname(RULE_TESTS))
    assert rc == 0 and "SUCCESS" in text, text

    # A rule broken on purpose (the relay alert's threshold) fails them.
    broken = os.path.join(env.tmp, "conf")
    os.makedirs(broken)
    with open(RULES) as f:
        rules = f.read()
    assert "> 0.5" in rules
    with open(os.path.join(broken, "manners-alerts.yml"), "w") as f:
        f.write(rules.replace("> 0.5", "> 0.95"))
    tdir = os.path.join(env.tmp, "tests", "alerts")
    os.makedirs(tdir)
    shutil.copy(RULE_TESTS, tdir)
    rc, text = run(["promtool", "test", "rules", "manners-alerts.test.yml"],
                   cwd=tdir)
    assert rc != 0 and "MannersRelayFailing" in text, text

    # Every metric the rules use is one mannersd exposes.
    used = set(re.findall(r"\bmanners_[a-z_]+", rules))
    assert used, rules
    env.start_smtp()
    d = env.daemon()
    status, body = d.request("GET", "/metrics")
    assert status == 200, body
    exposed = set(re.findall(r"^(manners_[a-z_]+)", body, re.M))
    assert used <= exposed, sorted(used - exposed)


def _metric(d, name):
    status, body = d.request("GET", "/metrics")
    assert status == 200, body
    m = re.search(r"^%s (\S+)$" % re.escape(name), body, re.M)
    assert m, (name, body)
    return float(m.group(1))


def test_metrics_the_alerts_read(env):
    """The oldest due job's time, as MannersQueueLate and
    MannersSendsStalled read it: jobs held back by the cadence are due
    and count; a paused campaign's jobs do not; an empty queue is 0."""
    import time
    from harness import campaign, wait_for
    smtp = env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("smtp", "rate", "1/h")
    d.start()
    oldest = "manners_queue_oldest_due_timestamp_seconds"
    assert _metric(d, oldest) == 0
    assert _metric(d, "manners_store_map_max_bytes") >= \
        _metric(d, "manners_store_used_bytes") > 0
    t0 = time.time()
    st, r = d.request("POST", "/v1/campaigns", campaign("late", rcpts=[
        (None, "a%d@example.org" % i) for i in range(3)]))
    assert r.get("accepted") == 3, (st, r)
    smtp.wait_count(1)
    due = _metric(d, oldest)
    assert t0 - 2 <= due <= time.time(), (t0, due)
    d.ctl("pause", "late")
    wait_for(lambda: _metric(d, oldest) == 0, what="paused jobs not counted")
    d.ctl("resume", "late")
    assert _metric(d, oldest) == due
