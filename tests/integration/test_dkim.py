"""RFC 8058 asks that the DKIM signature cover List-Unsubscribe and
List-Unsubscribe-Post.  mannersd sends through a private Postfix whose
OpenDKIM milter signs with the settings README gives; the delivered
message verifies (python3-dkim), its h= names both headers, and taking
List-Unsubscribe-Post away breaks the signature."""
import re

import dkim

from harness import campaign
from peers import PrivateOpenDKIM, PrivatePostfix

# The relay settings README's "DKIM" section shows, word for word.
SIGN = ("From,Reply-To,Subject,Date,To,Cc,Message-ID,MIME-Version,"
        "Content-Type,Content-Transfer-Encoding,List-Unsubscribe,"
        "List-Unsubscribe-Post,Feedback-ID")
OVERSIGN = "From,Subject,List-Unsubscribe,List-Unsubscribe-Post"


def test_signature_covers_one_click_headers(env):
    sink = env.start_smtp()
    dk = PrivateOpenDKIM(env.tmp, "example.com", SIGN, OVERSIGN).start()
    env.cleanups.append(dk.stop)
    relay = PrivatePostfix(env.tmp, "relay.invalid", extra=(
        "mydestination =\ntransport_maps =\n"
        "relayhost = [127.0.0.1]:%d\n"
        "smtpd_milters = inet:127.0.0.1:%d\n"
        "non_smtpd_milters = $smtpd_milters\n"
        "milter_default_action = tempfail\n"
        "smtpd_relay_restrictions = permit_mynetworks, reject\n"
        "smtp_tls_security_level = none\n" % (sink.port, dk.port))).start()
    env.cleanups.append(relay.stop)
    d = env.daemon(smtp_port=relay.port)
    st, _ = d.request("POST", "/v1/campaigns", campaign(
        "dk1", rcpts=[("Ann", "ann@example.org")]))
    assert st in (200, 202), st
    raw = sink.wait_count(1, timeout=60)[0]["raw"]

    def dns(name, timeout=5):
        assert name == b"test._domainkey.example.com.", name
        return dk.txt.encode()

    sig = re.search(rb"DKIM-Signature:(.*?)\r?\n(?=\S)", raw,
                    re.S | re.I)
    assert sig, raw[:2000]
    h = re.search(rb"(?:^|;)\s*h=([^;]*)", sig.group(1)).group(1)
    names = [n.strip().lower() for n in re.sub(rb"\s", b"", h).split(b":")]
    assert b"list-unsubscribe" in names, names
    assert b"list-unsubscribe-post" in names, names
    # Oversigned: listed once more than present, so none can be added.
    assert names.count(b"list-unsubscribe-post") == 2, names
    assert dkim.verify(raw, dnsfunc=dns), raw[:3000]
    stripped = re.sub(rb"(?im)^List-Unsubscribe-Post:[^\r\n]*\r?\n", b"",
                      raw)
    assert stripped != raw
    assert not dkim.verify(stripped, dnsfunc=dns)
    added = raw.replace(b"\r\n\r\n", b"\r\nList-Unsubscribe-Post: "
                        b"List-Unsubscribe=One-Click\r\n\r\n", 1)
    assert not dkim.verify(added, dnsfunc=dns)
