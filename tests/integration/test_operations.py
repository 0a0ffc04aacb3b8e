"""Issue 7: config checks, systemd integration, metrics, storage care."""
import os
import signal
import socket
import subprocess
import time
import urllib.request

from harness import MANNERSD, campaign, free_port, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))


def test_config_check_accepts_the_shipped_file_and_names_bad_lines(env):
    p = subprocess.run([MANNERSD, "-t", "-c",
                        os.path.join(ROOT, "conf/manners.conf")],
                       capture_output=True, timeout=20)
    assert p.returncode == 0, p.stderr
    bad = os.path.join(env.tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("[daemon]\nsocket = /tmp/x.sock\n\n[smtp]\nrate = 5/fortnight\n")
    p = subprocess.run([MANNERSD, "-t", "-c", bad], capture_output=True,
                       timeout=20)
    assert p.returncode == 1
    assert ("%s:5: bad rate unit" % bad).encode() in p.stderr, p.stderr
    with open(bad, "w") as f:
        f.write("[caps]\nper_recipent = 1/1d\n")
    p = subprocess.run([MANNERSD, "-t", "-c", bad], capture_output=True,
                       timeout=20)
    assert p.returncode == 1 and b':2: unknown key "per_recipent"' in p.stderr


def test_systemd_units_verify(env):
    unit = os.path.join(env.tmp, "mannersd.service")
    with open(os.path.join(ROOT, "systemd/mannersd.service")) as f:
        text = f.read().replace("@SBINDIR@", os.path.dirname(MANNERSD))
    with open(unit, "w") as f:
        f.write(text)
    sock = os.path.join(env.tmp, "mannersd.socket")
    with open(os.path.join(ROOT, "systemd/mannersd.socket")) as f, \
            open(sock, "w") as g:
        g.write(f.read())
    p = subprocess.run(["systemd-analyze", "verify", "--man=no", unit, sock],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    for key in ("Type=notify", "WatchdogSec=", "ExecReload=",
                "StateDirectory=", "RuntimeDirectory=",
                "ConfigurationDirectory=", "NoNewPrivileges=yes",
                "ProtectSystem=strict", "PrivateTmp=yes",
                "RestrictAddressFamilies=", "SystemCallFilter=@system-service"):
        assert key in text, key
    for page in ("man/mannersd.8", "man/mannersctl.1", "man/manners.conf.5"):
        assert os.path.exists(os.path.join(ROOT, page)), page


def test_notify_ready_status_reload_stopping_and_watchdog(env):
    env.start_smtp()
    d = env.daemon(start=False)
    path = os.path.join(env.tmp, "notify.sock")
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(path)
    ns.settimeout(10)
    os.environ["NOTIFY_SOCKET"] = path
    os.environ["WATCHDOG_USEC"] = "400000"
    try:
        d.start()
    finally:
        del os.environ["NOTIFY_SOCKET"]
        del os.environ["WATCHDOG_USEC"]
    got = []

    def until(word):
        end = time.time() + 10
        while time.time() < end:
            msg = ns.recv(4096).decode()
            got.append(msg)
            if word in msg:
                return msg
        raise AssertionError("no %s in %r" % (word, got))

    until("READY=1")
    assert "STATUS=" in until("STATUS=")
    until("WATCHDOG=1")
    until("WATCHDOG=1")
    d.proc.send_signal(signal.SIGHUP)
    until("RELOADING=1")
    until("READY=1")
    d.proc.send_signal(signal.SIGTERM)
    until("STOPPING=1")
    ns.close()


def test_socket_activation(env):
    env.start_smtp()
    d = env.daemon(start=False)
    act = subprocess.Popen(["systemd-socket-activate", "-l", d.sock,
                            MANNERSD, "-c", d.conf],
                           stdout=subprocess.DEVNULL,
                           stderr=open(d.log, "ab"))
    try:
        wait_for(lambda: os.path.exists(d.sock), what="the socket")
        code, r = d.request("GET", "/v1/health")
        assert code == 200 and r["status"] == "ok", r
        assert "socket activation" in d.logtext()
    finally:
        act.send_signal(signal.SIGTERM)
        act.wait(timeout=30)


def test_metrics_on_the_socket_and_on_tcp(env):
    smtp = env.start_smtp()
    port = free_port()
    d = env.daemon("[daemon]\n".replace("[daemon]\n", ""), start=False)
    text = open(d.conf).read().replace(
        "[daemon]\n", "[daemon]\nmetrics_listen = 127.0.0.1:%d\n" % port, 1)
    open(d.conf, "w").write(text)
    d.start()
    d.request("POST", "/v1/campaigns", campaign(
        rcpts=[(None, "m1@example.org"), (None, "bad")]))
    smtp.wait_count(1)
    wait_for(lambda: 'manners_sends_total{outcome="sent"} 1' in
             d.request("GET", "/metrics")[1], what="sent metric")
    code, body = d.request("GET", "/metrics")
    assert code == 200
    for name in ("manners_queue_jobs{state=\"due\"}",
                 "manners_rejections_total{reason=\"invalid_address\"} 1",
                 "manners_admissions_total{decision=\"accepted\"} 1",
                 "manners_throttle_waits_total",
                 "manners_smtp_duration_seconds_bucket{le=\"+Inf\"} 1",
                 "manners_store_map_bytes", "manners_store_used_bytes"):
        assert name in body, name
    # one local transaction: counted from its start, well under a second
    dur = [float(l.split()[1]) for l in body.splitlines()
           if l.startswith("manners_smtp_duration_seconds_sum ")]
    assert dur and 0 < dur[0] < 1.0, dur
    for line in body.splitlines():
        if line and not line.startswith("#"):
            assert line.startswith("manners_"), line
    tcp = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                 timeout=10).read().decode()
    assert "manners_up 1" in tcp


def test_the_map_grows_before_it_fills_and_a_hard_limit_answers_507(env):
    env.start_smtp()
    d = env.daemon(start=False)
    text = open(d.conf).read().replace(
        "[daemon]\n", "[daemon]\nmap_size = 1m\nmap_max = 256m\n", 1)
    open(d.conf, "w").write(text)
    d.start()
    rcpts = [(None, "g%05d@example.org" % i) for i in range(6000)]
    code, r = d.request("POST", "/v1/campaigns?dry_run=0", campaign(
        cid="big", rcpts=rcpts, extra="  <send-after>2099-01-01T00:00:00Z"
        "</send-after>\n  <expires>2099-02-01T00:00:00Z</expires>\n"))
    assert code == 202 and r["accepted"] == 6000, (code, r)
    assert "map grown" in d.logtext()
    d.stop()
    # with map_max at the current size, a campaign that does not fit is
    # refused whole and the daemon carries on
    text = open(d.conf).read().replace("map_max = 256m", "map_max = 1m")
    text = text.replace("map_size = 1m", "map_size = 1m")
    open(d.conf, "w").write(text)
    import shutil
    shutil.rmtree(d.state)
    d.start()
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="toobig", rcpts=rcpts, extra="  <send-after>2099-01-01T00:00:00Z"
        "</send-after>\n  <expires>2099-02-01T00:00:00Z</expires>\n"))
    assert code == 507, (code, r)
    assert "map" in r["error"], r
    assert d.request("GET", "/v1/campaigns/toobig")[0] == 404
    code, r = d.request("POST", "/v1/campaigns", campaign(cid="small"))
    assert code == 202, r


def test_quiet_mode_logs_only_warnings(env):
    env.start_smtp()
    d = env.daemon(start=False)
    p = subprocess.Popen([MANNERSD, "-q", "-c", d.conf],
                         stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    d.proc = p
    d.logf = open(d.log, "ab")
    wait_for(d.health_ok, what="daemon")
    d.request("POST", "/v1/campaigns", campaign())
    p.send_signal(signal.SIGTERM)
    err = p.communicate(timeout=30)[1].decode()
    d.proc = None
    assert "mannersd started" not in err and "admitted" not in err, err
