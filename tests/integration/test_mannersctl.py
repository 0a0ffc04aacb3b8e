"""Issue 7, item 6: mannersctl against a running daemon.

Each command runs with --json and the test parses what it printed; the
readable output, the exit codes and the progress display on a terminal
are checked too.
"""
import json
import os
import pty
import subprocess
import time

from harness import MANNERSCTL, campaign, wait_for

LIST = "news.example.com"


def write(env, name, text):
    path = os.path.join(env.tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def later(seconds=3600):
    """A <send-after> element that keeps jobs queued for a while."""
    t = time.gmtime(time.time() + seconds)
    return "  <send-after>%s</send-after>\n" % time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", t)


def js(p):
    """The JSON a mannersctl run printed on stdout."""
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise AssertionError("not JSON on stdout: %r (stderr %r)" % (
            p.stdout, p.stderr))


def run(args, env=None, stderr_tty=False, timeout=60):
    """mannersctl without the harness's --socket, optionally with stderr
    on a pseudo-terminal: (returncode, stdout, stderr) as text."""
    if not stderr_tty:
        p = subprocess.run([MANNERSCTL] + args, capture_output=True,
                           env=env, timeout=timeout)
        return p.returncode, p.stdout.decode(), p.stderr.decode()
    master, slave = pty.openpty()
    p = subprocess.Popen([MANNERSCTL] + args, stdout=subprocess.PIPE,
                         stderr=slave, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:		# EIO: the child closed the terminal
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    out = p.stdout.read()
    p.stdout.close()
    rc = p.wait(timeout=timeout)
    return rc, out.decode(), err.decode(errors="replace")


def test_mannersctl_submit_dry_run_then_submit_and_status(env):
    smtp = env.start_smtp()
    d = env.daemon()
    doc = write(env, "c.xml", campaign(cid="nov-update", rcpts=[
        ("Alice", "alice@example.org"), (None, "bob@example.net"),
        (None, "not-an-address")]))
    # --dry-run: the report, nothing queued
    r = js(d.ctl("--json", "submit", doc, "--dry-run"))
    assert r["dry_run"] is True and r["campaign"] == "nov-update", r
    assert r["accepted"] == 2 and r["rejected"] == {"invalid_address": 1}, r
    assert js(d.ctl("status", "--json")) == {"campaigns": []}
    time.sleep(0.3)
    assert smtp.messages == []
    # for real (--json may come after the command as well)
    r = js(d.ctl("submit", doc, "--json"))
    assert "dry_run" not in r and r["accepted"] == 2, r
    assert r["recipients"] == 3, r
    smtp.wait_count(2)
    assert js(d.ctl("--json", "status")) == {"campaigns": ["nov-update"]}
    wait_for(lambda: js(d.ctl("--json", "status", "nov-update"))
             ["counts"]["sent"] == 2, what="sent counter")
    st = js(d.ctl("--json", "status", "nov-update"))
    assert st["id"] == "nov-update" and st["list"] == LIST, st
    assert st["state"] == "active" and st["counts"]["queued"] == 0, st
    assert st["counts"]["rejected"] == {"invalid_address": 1}, st
    # a document from stdin
    p = subprocess.run([MANNERSCTL, "--socket", d.sock, "--json", "submit",
                        "--dry-run", "-"], capture_output=True, timeout=60,
                       input=campaign(cid="piped").encode())
    assert p.returncode == 0, p.stderr
    assert js(p)["campaign"] == "piped"


def test_mannersctl_submit_wait_returns_once_delivered(env):
    smtp = env.start_smtp()
    d = env.daemon()
    rcpts = [(None, "user%d@example.org" % i) for i in range(5)]
    doc = write(env, "w.xml", campaign(cid="waited", rcpts=rcpts))
    p = d.ctl("--json", "submit", "--wait", doc)
    # One JSON document: the campaign once nothing is queued.
    st = js(p)
    assert st["id"] == "waited", st
    assert st["counts"]["queued"] == 0 and st["counts"]["sent"] == 5, st
    assert st["counts"]["failed"] == 0, st
    # The relay had every message before mannersctl returned.
    got = {m["to"][0] for m in smtp.messages}
    assert got == {a for _, a in rcpts}, got
    # Not on a terminal: no progress display at all.
    assert "\r" not in p.stderr.decode(), p.stderr
    # Readable: the report, then the final state.
    doc2 = write(env, "w2.xml", campaign(cid="waited2", rcpts=rcpts[:2]))
    p = d.ctl("submit", doc2, "--wait")
    out = p.stdout.decode()
    assert "campaign waited2 (news.example.com): 2 recipients" in out, out
    assert "queued 0, sent 2, failed 0" in out, out


def test_mannersctl_submit_wait_exits_4_when_messages_fail(env):
    smtp = env.start_smtp()
    smtp.handler.script = lambda stage, rcpt, n: (
        "550 5.1.1 no such user" if stage == "rcpt" and
        rcpt.startswith("gone@") else None)
    d = env.daemon()
    doc = write(env, "f.xml", campaign(cid="partly", rcpts=[
        (None, "ok@example.org"), (None, "gone@example.org")]))
    p = d.ctl("--json", "submit", "--wait", doc, check=False)
    assert p.returncode == 4, (p.returncode, p.stderr)
    st = js(p)
    assert st["counts"]["sent"] == 1 and st["counts"]["failed"] == 1, st
    assert b"1 message failed" in p.stderr, p.stderr


def test_mannersctl_pause_resume_cancel(env):
    smtp = env.start_smtp()
    d = env.daemon()
    doc = write(env, "l.xml", campaign(cid="held", extra=later(), rcpts=[
        (None, "a@example.org"), (None, "b@example.org")]))
    r = js(d.ctl("--json", "submit", doc))
    assert r["accepted"] == 2, r
    assert js(d.ctl("--json", "status", "held"))["counts"]["queued"] == 2
    r = js(d.ctl("--json", "pause", "held"))
    assert r == {"campaign": "held", "state": "paused"}, r
    assert js(d.ctl("--json", "status", "held"))["state"] == "paused"
    r = js(d.ctl("--json", "resume", "held"))
    assert r == {"campaign": "held", "state": "active"}, r
    r = js(d.ctl("--json", "cancel", "held"))
    assert r["state"] == "cancelled" and r["dropped"] == 2, r
    st = js(d.ctl("--json", "status", "held"))
    assert st["state"] == "cancelled" and st["counts"]["queued"] == 0, st
    # A cancelled campaign cannot be resumed: the daemon refuses (409).
    p = d.ctl("resume", "held", check=False)
    assert p.returncode == 1, p
    assert p.stderr.decode().startswith("mannersctl: error 409: "), p.stderr
    # Readable forms.
    doc2 = write(env, "l2.xml", campaign(cid="held2", extra=later()))
    d.ctl("submit", doc2)
    assert d.ctl("pause", "held2").stdout == b"campaign held2 paused\n"
    assert d.ctl("resume", "held2").stdout == b"campaign held2 resumed\n"
    out = d.ctl("cancel", "held2").stdout.decode()
    assert out == "campaign held2 cancelled: 1 queued message dropped\n", out
    time.sleep(0.3)
    assert smtp.messages == []


def test_mannersctl_recipient_unsubscribe_resubscribe(env):
    smtp = env.start_smtp()
    d = env.daemon()
    doc = write(env, "r.xml", campaign(cid="first", rcpts=[
        ("Alice", "alice@example.org")]))
    d.ctl("submit", "--wait", doc)
    r = js(d.ctl("--json", "recipient", "alice@example.org"))
    assert r["address"] == "alice@example.org" and r["known"] is True, r
    assert [h["campaign"] for h in r["history"]] == ["first"], r
    assert r["flags"] == [], r
    # an address that needs escaping in the path reaches the daemon intact
    odd = "o+tag/x?y%z@example.org"
    r = js(d.ctl("--json", "recipient", odd))
    assert r["address"] == odd and r["known"] is False, r
    # unsubscribe from one list; a queued message of that list is dropped
    held = write(env, "h.xml", campaign(cid="held", extra=later(),
                                        rcpts=[(None, "alice@example.org")]))
    assert js(d.ctl("--json", "submit", held))["accepted"] == 1
    r = js(d.ctl("--json", "unsubscribe", "alice@example.org", "--list",
                 LIST))
    assert r == {"address": "alice@example.org", "list": LIST,
                 "changed": True, "dropped": 1}, r
    r = js(d.ctl("--json", "unsubscribe", "alice@example.org",
                 "--list=" + LIST))
    assert r["changed"] is False and r["dropped"] == 0, r
    r = js(d.ctl("--json", "recipient", "alice@example.org"))
    assert [(f["flag"], f["list"], f["source"]) for f in r["flags"]] == [
        ("unsubscribed", LIST, "admin")], r
    assert r["next_allowed"][LIST] is None, r
    # resubscribe to that list; a second time there is nothing to remove
    r = js(d.ctl("--json", "resubscribe", "alice@example.org", "--list",
                 LIST))
    assert r["resubscribed"] is True and r["list"] == LIST, r
    assert r["after_erasure"] is False, r
    rc = js(d.ctl("--json", "recipient", "alice@example.org"))
    assert rc["flags"] == [], rc
    # the administrator's resubscribe is kept as consent, like the page's
    assert [(c["action"], c["list"], c["source"]) for c in rc["consent"]
            ] == [("resubscribed", LIST, "admin")], rc
    p = d.ctl("resubscribe", "alice@example.org", "--list", LIST,
              check=False)
    assert p.returncode == 1 and b"error 404" in p.stderr, p.stderr
    # every list, and back
    r = js(d.ctl("--json", "unsubscribe", "bob@example.net"))
    assert r["changed"] is True and r.get("list") is None, r
    r = js(d.ctl("--json", "recipient", "bob@example.net"))
    assert [f["list"] for f in r["flags"]] == ["*"], r
    r = js(d.ctl("--json", "resubscribe", "bob@example.net"))
    assert r["resubscribed"] is True, r
    # a bad address: the daemon's 422 and its detail on stderr
    p = d.ctl("unsubscribe", "no-at-sign", check=False)
    assert p.returncode == 1, p
    err = p.stderr.decode()
    assert err.startswith("mannersctl: error 422: invalid address\n"), err
    assert "\n  address: " in err, err
    # readable
    out = d.ctl("recipient", "alice@example.org").stdout.decode()
    assert out.startswith("alice@example.org\n"), out
    assert "first  news.example.com  sent" in out, out
    out = d.ctl("unsubscribe", "carol@example.org", "--list", LIST
                ).stdout.decode()
    assert out == ("carol@example.org unsubscribed from news.example.com: "
                   "0 queued messages dropped\n"), out
    assert len(smtp.messages) == 1


def test_mannersctl_stats(env):
    env.start_smtp()
    d = env.daemon()
    code, _ = d.request("GET", "/metrics")
    if code == 404:
        # GET /metrics is not there (yet): the daemon refused, so exit 1.
        p = d.ctl("stats", check=False)
        assert p.returncode == 1 and b"error 404" in p.stderr, p
        p = d.ctl("--json", "stats", check=False)
        assert p.returncode == 1, p
        return
    assert code == 200, code
    p = d.ctl("stats")
    text = p.stdout.decode()
    assert "# TYPE manners_" in text, text
    m = js(d.ctl("--json", "stats"))
    assert m and all(k.startswith("manners_") for k in m), m
    # every sample line of the text is a key of the JSON (the values may
    # have moved between the two requests)
    samples = [ln.rpartition(" ")[0] for ln in text.splitlines()
               if ln and ln[0] != "#"]
    assert sorted(m) == sorted(samples), (sorted(m), sorted(samples))
    # a whole number stays an integer
    assert m["manners_up"] == 1 and isinstance(m["manners_up"], int), m
    for k, v in m.items():
        assert isinstance(v, (int, float)) or v in ("NaN", "+Inf", "-Inf"), \
            (k, v)


def test_mannersctl_health_and_exit_codes(env):
    env.start_smtp()
    d = env.daemon()
    r = js(d.ctl("--json", "health"))
    assert r["status"] == "ok" and "drain" in r, r
    out = d.ctl("health").stdout.decode()
    assert out.startswith("mannersd on %s: ok\n" % d.sock), out
    # MANNERS_SOCKET chooses the socket; --socket wins over it
    e = dict(os.environ, MANNERS_SOCKET=d.sock)
    rc, out, err = run(["--json", "health"], env=e)
    assert rc == 0 and json.loads(out)["status"] == "ok", (rc, err)
    rc, out, err = run(["--socket", os.path.join(env.tmp, "none.sock"),
                        "health"], env=e)
    assert rc == 3 and "cannot reach mannersd" in err, (rc, err)
    # 1: the daemon refused
    p = d.ctl("--json", "status", "no-such-campaign", check=False)
    assert p.returncode == 1, p
    assert js(p)["error"] == "no such campaign", p.stdout
    assert b"mannersctl: error 404: no such campaign" in p.stderr, p.stderr
    p = d.ctl("cancel", "no-such-campaign", check=False)
    assert p.returncode == 1, p
    p = d.ctl("pause", "no-such-campaign", check=False)
    assert p.returncode == 1, p
    bad = write(env, "bad.xml", "<campaign id='x' list='%s'></campaign>"
                % LIST)
    p = d.ctl("submit", bad, check=False)
    assert p.returncode == 1, p
    err = p.stderr.decode()
    assert err.startswith("mannersctl: error 422: invalid campaign\n"), err
    assert "\n  " in err and "subject" in err, err
    # 2: bad usage, before any request
    for args in ([], ["frobnicate"], ["status", "a", "b"], ["cancel"],
                 ["submit"], ["submit", "x.xml", "--bogus"],
                 ["submit", "x.xml", "--dry-run", "--wait"],
                 ["unsubscribe", "a@example.org", "--list"],
                 ["health", "extra"], ["stats", "--list", "x"],
                 ["--nope", "health"]):
        p = d.ctl(*args, check=False)
        assert p.returncode == 2, (args, p.returncode, p.stderr)
        assert b"mannersctl --help" in p.stderr, (args, p.stderr)
    p = d.ctl("submit", os.path.join(env.tmp, "missing.xml"), check=False)
    assert p.returncode == 2 and b"missing.xml" in p.stderr, p
    rc, out, err = run(["--socket"])
    assert rc == 2, (rc, err)
    rc, out, err = run(["--help"])
    assert rc == 0 and "exit status" in out and "submit FILE" in out, out
    # 3: no daemon on the socket, whatever the command
    nosock = os.path.join(env.tmp, "nobody.sock")
    for args in (["health"], ["status"], ["stats"], ["--json", "status", "x"],
                 ["submit", bad], ["unsubscribe", "a@example.org"]):
        rc, out, err = run(["--socket", nosock] + args)
        assert rc == 3, (args, rc, err)
        assert "cannot reach mannersd on %s" % nosock in err, err
        assert out == "", out


def test_mannersctl_status_is_readable(env):
    smtp = env.start_smtp()
    d = env.daemon()
    doc = write(env, "n.xml", campaign(cid="nov-update", rcpts=[
        ("Alice", "alice@example.org"), (None, "bob@example.net"),
        (None, "carol@example.com")]))
    d.ctl("submit", "--wait", doc)
    smtp.wait_count(3)
    out = d.ctl("status", "nov-update").stdout.decode()
    lines = out.splitlines()
    assert lines[0] == "campaign nov-update (news.example.com): active", out
    assert lines[1] == "  recipients 3, accepted 3, deferred 0", out
    assert lines[2].startswith("  queued 0, sent 3, failed 0"), out
    assert "{" not in out, out		# not JSON
    # the list: a header and one line per campaign
    held = write(env, "h.xml", campaign(cid="later", extra=later()))
    d.ctl("submit", held)
    d.ctl("pause", "later")
    out = d.ctl("status").stdout.decode()
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "LIST", "STATE", "QUEUED", "SENT",
                                "FAILED", "REJECTED"], out
    rows = {ln.split()[0]: ln.split()[1:] for ln in lines[1:]}
    assert rows["nov-update"] == [LIST, "active", "0", "3", "0", "0"], out
    assert rows["later"] == [LIST, "paused", "1", "0", "0", "0"], out
    # a submission's report
    doc = write(env, "s.xml", campaign(cid="again", rcpts=[
        (None, "x@example.org"), (None, "bad")]))
    out = d.ctl("submit", "--dry-run", doc).stdout.decode()
    assert "campaign again (news.example.com): 2 recipients" in out, out
    assert "accepted 1, deferred 0" in out, out
    assert "rejected: invalid_address 1" in out, out
    assert out.endswith("dry run: nothing was queued\n"), out


def test_mannersctl_progress_on_a_terminal(env):
    smtp = env.start_smtp()
    d = env.daemon()
    # an upload over 1 MiB draws a bar, then waits for the answer
    rcpts = [(None, "user%d@example.org" % i) for i in range(40000)]
    big = write(env, "big.xml", campaign(cid="big", rcpts=rcpts))
    assert os.path.getsize(big) > 1024 * 1024
    rc, out, err = run(["--socket", d.sock, "--json", "submit", "--dry-run",
                        big], stderr_tty=True)
    assert rc == 0, (rc, err)
    assert json.loads(out)["accepted"] == 40000
    assert "big.xml" in err and "uploaded 1." in err and "\r" in err, err
    # the line is erased at the end: stderr ends with a carriage return
    assert err.endswith("\r"), repr(err[-80:])
    # --wait: a line with the drain's counters while it runs
    doc = write(env, "t.xml", campaign(cid="tty", rcpts=[
        (None, "a@example.org"), (None, "b@example.org")]))
    rc, out, err = run(["--socket", d.sock, "--json", "submit", "--wait",
                        doc], stderr_tty=True)
    assert rc == 0, (rc, err)
    assert json.loads(out)["counts"]["sent"] == 2
    assert "tty: sent " in err and "queued " in err and "%" in err, err
    assert len(smtp.messages) == 2
    # a small upload draws nothing
    rc, out, err = run(["--socket", d.sock, "submit", "--dry-run", doc],
                       stderr_tty=True)
    assert rc == 0 and err == "", (rc, err)


def test_mannersctl_oversize_submission_is_refused(env):
    env.start_smtp()
    d = env.daemon(extra="[daemon]\nmax_request = 64k\n")
    # small enough to be sent at once, and large enough to be asked about
    # first (Expect: 100-continue): both get the daemon's JSON 413
    for n in (2000, 40000):
        rcpts = [(None, "user%d@example.org" % i) for i in range(n)]
        path = write(env, "o%d.xml" % n, campaign(cid="o%d" % n,
                                                  rcpts=rcpts))
        p = d.ctl("submit", path, check=False)
        assert p.returncode == 1, (n, p.returncode, p.stderr)
        err = p.stderr.decode()
        assert err.startswith("mannersctl: error 413: "), err
        assert "max_request" in err, err
        p = d.ctl("--json", "submit", path, check=False)
        assert p.returncode == 1, p
        assert js(p)["detail"]["max_request"] == 65536, p.stdout
    assert js(d.ctl("--json", "status")) == {"campaigns": []}
    assert js(d.ctl("--json", "health"))["status"] == "ok"


def test_mannersctl_stats_json_of_any_exposition(env):
    """A stand-in server on a Unix socket serves lines the daemon does not
    write (yet): labels with braces, quotes and spaces, timestamps, NaN
    and infinities, a line that is not a sample; then a non-JSON error."""
    import http.server
    import socketserver
    import threading

    text = (
        "# HELP a_total A counter.\n"
        "# TYPE a_total counter\n"
        "a_total 3\n"
        'b{x="1",y="two words"} 2.5 1700000000000\n'
        'c{path="/u/{tok}",q="say \\"hi\\""} -1e3\n'
        "d NaN\n"
        'e_bucket{le="+Inf"} +Inf\n'
        "not a sample line\n"
        "\n")
    state = {"status": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = (text if state["status"] == 200 else
                    "upstream broke\nmore\n").encode()
            self.send_response(state["status"])
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

        def address_string(self):
            return "unix"

    class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
        daemon_threads = True

    sock = os.path.join(env.tmp, "fake.sock")
    srv = Server(sock, Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        rc, out, err = run(["--socket", sock, "--json", "stats"])
        assert rc == 0, (rc, err)
        m = json.loads(out)
        assert m == {
            "a_total": 3,
            'b{x="1",y="two words"}': 2.5,
            'c{path="/u/{tok}",q="say \\"hi\\""}': -1000.0,
            "d": "NaN",
            'e_bucket{le="+Inf"}': "+Inf",
        }, m
        assert "line 8 not understood" in err, err
        rc, out, err = run(["--socket", sock, "stats"])
        assert rc == 0 and out == text, (rc, out)
        state["status"] = 500
        rc, out, err = run(["--socket", sock, "stats"])
        assert rc == 1 and out == "", (rc, out)
        assert err == "mannersctl: error 500: upstream broke\n", err
    finally:
        srv.shutdown()
        srv.server_close()
