"""Issue 19, point 2: a hot backup taken during a drain, restored."""
import json
import os
import shutil
import subprocess
import time

from harness import Daemon, campaign, free_port, wait_for

N = 100


def history_state(d, addr, cid):
    code, rc = d.request("GET", "/v1/recipients/" + addr)
    assert code == 200, rc
    states = [h["state"] for h in rc.get("history", [])
              if h["campaign"] == cid]
    assert len(states) <= 1, rc
    return (states[0] if states else None), rc.get("flags", [])


def test_backup_during_a_drain_restores_what_was_committed(env):
    smtp = env.start_smtp()
    d = env.daemon(start=False)
    d.set_conf("smtp", "rate", "25/s")
    d.start()
    addrs = ["r%03d@example.org" % i for i in range(N)]
    code, r = d.request("POST", "/v1/campaigns", campaign(
        cid="drain", rcpts=[(None, a) for a in addrs]))
    assert code == 202 and r["accepted"] == N, r
    # a flag set before the backup, and one after it
    code, u = d.request("POST", "/v1/unsubscribes", json.dumps(
        {"address": "before@example.org"}), ctype="application/json")
    assert code == 200, u
    smtp.wait_count(20)
    backup = os.path.join(env.tmp, "backup", "store.mdb")
    os.mkdir(os.path.dirname(backup))
    p = d.ctl("backup", backup)
    relayed_after = {m["to"][0] for m in smtp.messages}
    assert "bytes" in p.stdout.decode(), p.stdout
    code, u = d.request("POST", "/v1/unsubscribes", json.dumps(
        {"address": "after@example.org"}), ctype="application/json")
    assert code == 200, u
    # the drain went on meanwhile, and finishes
    smtp.wait_count(N, timeout=30)
    assert len(relayed_after) < N, "the backup was not taken mid-drain"
    assert not [f for f in os.listdir(os.path.dirname(backup))
                if ".tmp." in f], "a temporary file was left"

    # restore into a fresh daemon, whose relay is not there: nothing sent
    tmp2 = os.path.join(env.tmp, "restored")
    os.mkdir(tmp2)
    r2 = Daemon(tmp2, free_port())
    env.daemons.append(r2)
    r2.set_conf("smtp", "retry_min", "1h")
    r2.set_conf("smtp", "retry_max", "2h")
    os.mkdir(r2.state, 0o750)
    shutil.copy(backup, os.path.join(r2.state, "data.mdb"))
    shutil.copy(os.path.join(env.tmp, "secret"), os.path.join(tmp2, "secret"))
    r2.start()
    code, st = r2.request("GET", "/v1/campaigns/drain")
    assert code == 200, st
    c = st["counts"]
    sent_b, queued_b = set(), set()
    for a in addrs:
        state, _ = history_state(r2, a, "drain")
        assert state in ("sent", "queued"), (a, state)
        (sent_b if state == "sent" else queued_b).add(a)
    # every job is either sent before the backup or queued in it
    assert len(sent_b) + len(queued_b) == N
    assert sent_b and queued_b, (len(sent_b), len(queued_b))
    assert sent_b <= relayed_after, sent_b - relayed_after
    assert c["sent"] == len(sent_b), (c, len(sent_b))
    assert c["queued"] == len(queued_b), (c, len(queued_b))
    # flags: what was committed before the backup, not after
    _, flags = history_state(r2, "before@example.org", "drain")
    assert flags and flags[0]["source"] == "admin", flags
    _, flags = history_state(r2, "after@example.org", "drain")
    assert flags == [], flags


def test_backup_checks_its_path_and_never_overwrites_unasked(env):
    env.start_smtp()
    d = env.daemon()
    target = os.path.join(env.tmp, "b.mdb")
    bad = [("relative.mdb", "not absolute"),
           (os.path.join(d.state, "copy.mdb"), "inside the state directory"),
           (os.path.join(env.tmp, "no-such-dir", "b.mdb"), "directory"),
           (env.tmp + "/", "names a directory")]
    for path, why in bad:
        code, r = d.request("POST", "/v1/backup", json.dumps({"path": path}),
                            ctype="application/json")
        assert code == 422 and why in r["error"], (path, code, r)
    code, r = d.request("POST", "/v1/backup", json.dumps({"file": target}),
                        ctype="application/json")
    assert code == 422 and r["detail"]["field"] == "file", r
    code, r = d.request("POST", "/v1/backup", json.dumps({"path": target}),
                        ctype="application/json")
    assert code == 200 and r["bytes"] == os.path.getsize(target), r
    first = os.stat(target)
    code, r = d.request("POST", "/v1/backup", json.dumps({"path": target}),
                        ctype="application/json")
    assert code == 409 and "overwrite" in r["error"], r
    assert os.stat(target).st_ino == first.st_ino
    p = d.ctl("backup", target, check=False)
    assert p.returncode == 1, p
    p = d.ctl("backup", "--overwrite", target)
    assert os.stat(target).st_ino != first.st_ino
    assert oct(os.stat(target).st_mode & 0o777) == "0o600"
    # the copy is a store LMDB opens
    p = subprocess.run(["mdb_stat", "-n", "-a", target], capture_output=True)
    assert p.returncode == 0 and b"rcpt" in p.stdout and b"erased" in \
        p.stdout, p
