"""Issue 4: weighing the HTML and its images before anything is queued."""
import http.server
import json
import os
import socketserver
import subprocess
import threading
import time

from harness import MANNERSCTL, campaign


class ImageServer:
    """Loopback web server: /img/N (HEAD gives N), /nolen/N (HEAD without a
    length; a ranged GET answers 206 with the total), /slow (never
    answers in time), /redir (redirects to file://)."""

    def __init__(self):
        outer = self
        self.requests = []

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _answer(self, body):
                outer.requests.append((self.command, self.path,
                                       self.headers.get("Range")))
                parts = self.path.strip("/").split("/")
                if parts[0] == "slow":
                    time.sleep(4)
                    self.send_response(200)
                    self.send_header("Content-Length", "10")
                    self.end_headers()
                    return
                if parts[0] == "redir":
                    self.send_response(302)
                    self.send_header("Location", "file:///etc/passwd")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                n = int(parts[1])
                if parts[0] == "nolen":
                    if self.command == "HEAD":
                        self.send_response(200)
                        self.send_header("Connection", "close")
                        self.end_headers()
                        return
                    if self.headers.get("Range") == "bytes=0-0":
                        self.send_response(206)
                        self.send_header("Content-Range", "bytes 0-0/%d" % n)
                        self.send_header("Content-Length", "1")
                        self.end_headers()
                        self.wfile.write(b"x")
                        return
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(n))
                self.end_headers()
                if body:
                    self.wfile.write(b"x" * n)

            def do_HEAD(self):
                self._answer(False)

            def do_GET(self):
                self._answer(True)

        class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

        self.httpd = S(("127.0.0.1", 0), H)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d/%s" % (self.port, path)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def html_with(images, text="Hello " * 60):
    imgs = "".join('<img src="%s" width="100" height="50">' % u for u in images)
    return "<html><body><p>%s</p>%s{{unsubscribe_url}}</body></html>" % (
        text, imgs)


def caps(**kv):
    return "[caps]\n" + "".join("%s = %s\n" % kv_ for kv_ in kv.items())


def test_remote_images_are_measured_with_head_and_ranged_get(env):
    web = ImageServer()
    try:
        env.start_smtp()
        d = env.daemon(caps(remote_timeout="1s"))
        urls = [web.url("img/1000"), web.url("img/2000"), web.url("img/1000"),
                web.url("nolen/4000")]
        code, r = d.request("POST", "/v1/campaigns?dry_run=1",
                            campaign(html=html_with(urls)))
        assert code == 200, r
        w = r["weight"]
        assert w["images"] == 3, w          # the repeated URL counts once
        assert w["remote_image_bytes"] == 7000, w
        assert w["largest_image"] == 4000, w
        assert w["unmeasured"] == [], w
        # each URL measured once; the length-less one with a 1-byte range
        heads = [p for m, p, _ in web.requests if m == "HEAD"]
        assert sorted(heads) == ["/img/1000", "/img/2000", "/nolen/4000"], heads
        assert ("GET", "/nolen/4000", "bytes=0-0") in web.requests
    finally:
        web.stop()


def test_over_a_limit_is_refused_whole_and_names_it(env):
    web = ImageServer()
    try:
        env.start_smtp()
        d = env.daemon(caps(max_image_total="7000", remote_timeout="1s"))
        urls = [web.url("img/3000"), web.url("img/4001")]
        code, r = d.request("POST", "/v1/campaigns", campaign(
            cid="heavy", html=html_with(urls)))
        assert code == 422, r
        over = r["detail"]["over_limit"]
        assert [o["limit"] for o in over] == ["max_image_total"], over
        assert over[0]["measured"] == 7001 and over[0]["max"] == 7000, over
        assert len(over[0]["why"]) > 20
        assert d.request("GET", "/v1/campaigns/heavy")[0] == 404
        # just under the limit goes through
        code, r = d.request("POST", "/v1/campaigns", campaign(
            cid="light", html=html_with([web.url("img/3000"),
                                         web.url("img/4000")])))
        assert code == 202 and r["accepted"] == 1, r
    finally:
        web.stop()


def test_unmeasurable_images_are_listed_and_counted_as_configured(env):
    web = ImageServer()
    try:
        env.start_smtp()
        d = env.daemon(caps(remote_timeout="1s"))
        urls = [web.url("slow"), web.url("redir"), "cid:logo@x", web.url("img/10")]
        code, r = d.request("POST", "/v1/campaigns?dry_run=1",
                            campaign(html=html_with(urls, "Hello " * 100)))
        assert code == 200, r
        un = r["weight"]["unmeasured"]
        assert len(un) == 3, un
        whys = {i["url"]: i.get("why", "") for i in r["weight"]["image_list"]}
        assert "no answer" in whys[web.url("slow")], whys
        assert "scheme" in whys[web.url("redir")], whys
        d.stop()
        with open(d.conf, "a") as f:
            f.write("remote_images_unknown = refuse\n")
        d.start()
        code, r = d.request("POST", "/v1/campaigns", campaign(
            cid="unknown", html=html_with(urls, "Hello " * 100)))
        assert code == 422, r
        assert "remote_images_unknown" in [o["limit"] for o in
                                           r["detail"]["over_limit"]], r
    finally:
        web.stop()


def test_limits_just_under_and_just_over(env):
    env.start_smtp()
    d = env.daemon(caps(max_html="2k", max_images="3", min_text_per_image="30",
                        remote_images="ignore"))
    pad = lambda html, n: html.replace("<p>", "<p>" + "a" * (n - len(html)), 1)
    base = "<html><body><p>{{unsubscribe_url}}</p></body></html>"
    ok = pad(base, 2048)
    assert len(ok) == 2048
    code, r = d.request("POST", "/v1/campaigns?dry_run=1", campaign(html=ok))
    assert code == 200, r
    code, r = d.request("POST", "/v1/campaigns?dry_run=1",
                        campaign(html=pad(base, 2049)))
    assert code == 422 and r["detail"]["over_limit"][0]["limit"] == "max_html"
    three = html_with(["http://x.example/%d.png" % i for i in range(3)],
                      text="t" * 200)
    code, r = d.request("POST", "/v1/campaigns?dry_run=1", campaign(html=three))
    assert code == 200, r
    four = html_with(["http://x.example/%d.png" % i for i in range(4)],
                     text="t" * 200)
    code, r = d.request("POST", "/v1/campaigns?dry_run=1", campaign(html=four))
    assert code == 422, r
    assert {o["limit"] for o in r["detail"]["over_limit"]} == {"max_images"}, r
    # image-only mail: too little text per image
    code, r = d.request("POST", "/v1/campaigns?dry_run=1", campaign(
        html=html_with(["http://x.example/a.png"], text="hi")))
    assert code == 422, r
    assert r["detail"]["over_limit"][0]["limit"] == "min_text_per_image", r


def test_a_warning_without_unsubscribe_link_and_refusal_when_required(env):
    env.start_smtp()
    d = env.daemon()
    code, r = d.request("POST", "/v1/campaigns?dry_run=1", campaign(
        text="no link here", html="<p>nothing</p>"))
    assert code == 200 and any("unsubscribe" in w for w in r["warnings"]), r
    d.stop()
    text = open(d.conf).read().replace(
        "[daemon]\n", "[daemon]\nrequire_unsubscribe_link = yes\n", 1)
    open(d.conf, "w").write(text)
    d.start()
    code, r = d.request("POST", "/v1/campaigns", campaign(
        text="no link here", html="<p>nothing</p>"))
    assert code == 422 and "unsubscribe" in r["detail"][0], r


def test_mannersctl_weigh_prints_the_report_without_a_daemon(env):
    path = os.path.join(env.tmp, "n.html")
    with open(path, "w") as f:
        f.write("<html><body><p>%s</p>" % ("word " * 50) +
                '<img src="data:image/png;base64,iVBORw0KGgo=" width="10" '
                'height="10"></body></html>')
    p = subprocess.run([MANNERSCTL, "weigh", "--json", path],
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    r = json.loads(p.stdout)
    assert r["images"] == 1 and r["inline_image_bytes"] == 8, r
    p = subprocess.run([MANNERSCTL, "weigh", path], capture_output=True,
                       timeout=30)
    assert p.returncode == 0 and b"images" in p.stdout, p.stdout
    big = os.path.join(env.tmp, "big.html")
    with open(big, "w") as f:
        f.write("<p>" + "x" * 200000 + "</p>")
    p = subprocess.run([MANNERSCTL, "weigh", big], capture_output=True,
                       timeout=30)
    assert p.returncode == 1 and b"max_html" in p.stdout + p.stderr, p
