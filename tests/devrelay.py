"""`make run`'s local SMTP server: prints each message it receives,
decoded for reading (headers' RFC 2047 words, quoted-printable and
base64 bodies, one part after another), into its standard output.

Usage: devrelay.py HOST PORT
"""
import signal
import email
import email.policy
import sys
import time

from aiosmtpd.controller import Controller

SHOWN = ("From", "To", "Reply-To", "Subject", "Date", "Message-ID",
         "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post")


def render(envelope):
    """One delivered message as text a newcomer can read."""
    msg = email.message_from_bytes(envelope.content,
                                   policy=email.policy.default)
    out = ["=" * 72,
           "received %s  MAIL FROM:<%s>  RCPT TO:%s" % (
               time.strftime("%Y-%m-%d %H:%M:%S"), envelope.mail_from,
               ", ".join("<%s>" % r for r in envelope.rcpt_tos))]
    for h in SHOWN:
        for v in msg.get_all(h, []):
            out.append("%s: %s" % (h, " ".join(str(v).split())))
    for part in msg.walk():
        if part.is_multipart():
            continue
        out.append("--- %s (%s, shown decoded) ---" % (
            part.get_content_type(),
            part.get("Content-Transfer-Encoding", "7bit")))
        try:
            body = part.get_content()
        except (LookupError, ValueError) as e:
            body = "(cannot decode this part: %s)" % e
        if isinstance(body, bytes):
            body = "(%d bytes of %s)" % (len(body), part.get_content_type())
        out.append(body.rstrip("\n"))
    out.append("")
    return "\n".join(out)


class Printer:
    async def handle_DATA(self, server, session, envelope):
        print(render(envelope), flush=True)
        return "250 OK"


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    ctl = Controller(Printer(), hostname=host, port=port)
    ctl.start()
    print("devrelay: listening on %s:%d" % (host, port), flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
