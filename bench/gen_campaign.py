#!/usr/bin/python3
"""Generate a campaign document with N recipients, streamed to a file.

usage: gen_campaign.py [-i ID] [-l LIST] [-e EXPIRES] [-z] N OUT

Recipient i is u{i}@d{i % 1000}.example.org with the name "User {i}";
every tenth address is written in mixed case (U{i}@D{...}.Example.org),
so normalisation has work to do.  The addresses do not depend on the
campaign id: two documents generated with the same N reach the same
people.  1,000,000 recipients make a document of about 50 MB.  With -z,
recipient i carries tz="ZONES[i % 50]", fifty IANA zones around the
world (offsets of 30 and 45 minutes and both sides of the date line).
"""
import argparse
import datetime
import sys
from xml.sax.saxutils import escape, quoteattr

HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<campaign id={id} list={list}>
  <from name="Bench Shop">news@bench.example.com</from>
  <subject>Our benchmark update</subject>
  <expires>{expires}</expires>
  <text><![CDATA[Hi {{{{name|there}}}},

This is the benchmark campaign.  Nothing to see here.

Unsubscribe: {{{{unsubscribe_url}}}}
]]></text>
  <html><![CDATA[<p>Hi {{{{name|there}}}},</p>
<p>This is the benchmark campaign.  Nothing to see here.</p>
<p><a href="{{{{unsubscribe_url}}}}">Unsubscribe</a></p>
]]></html>
  <recipients>
"""

FOOTER = """  </recipients>
</campaign>
"""


ZONES = [
    "Europe/Berlin", "Europe/London", "Europe/Paris", "Europe/Madrid",
    "Europe/Rome", "Europe/Warsaw", "Europe/Helsinki", "Europe/Athens",
    "Europe/Istanbul", "Europe/Moscow", "Europe/Lisbon", "Europe/Dublin",
    "America/New_York", "America/Chicago", "America/Denver",
    "America/Los_Angeles", "America/Anchorage", "America/Phoenix",
    "America/Toronto", "America/Mexico_City", "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires", "America/Bogota", "America/Lima",
    "America/Santiago", "America/Halifax", "America/St_Johns",
    "Pacific/Honolulu", "Pacific/Pago_Pago", "Pacific/Kiritimati",
    "Pacific/Auckland", "Pacific/Chatham", "Pacific/Fiji",
    "Australia/Sydney", "Australia/Adelaide", "Australia/Perth",
    "Australia/Lord_Howe", "Asia/Tokyo", "Asia/Seoul", "Asia/Shanghai",
    "Asia/Singapore", "Asia/Kolkata", "Asia/Kathmandu", "Asia/Dubai",
    "Asia/Tehran", "Asia/Jakarta", "Africa/Cairo", "Africa/Lagos",
    "Africa/Johannesburg", "UTC",
]


def address(i):
    if i % 10 == 0:
        return "U%d@D%d.Example.org" % (i, i % 1000)
    return "u%d@d%d.example.org" % (i, i % 1000)


def generate(out, n, cid, lst, expires, chunk=10000, zones=False):
    """Write the document to the binary file `out`; returns bytes written.
    zones: give each recipient one of ZONES as its tz."""
    total = 0
    head = HEADER.format(id=quoteattr(cid), list=quoteattr(lst),
                         expires=escape(expires)).encode()
    out.write(head)
    total += len(head)
    for start in range(0, n, chunk):
        if zones:
            lines = ['    <to name="User %d" tz="%s">%s</to>\n' % (
                i, ZONES[i % len(ZONES)], address(i))
                for i in range(start, min(n, start + chunk))]
        else:
            lines = ['    <to name="User %d">%s</to>\n' % (i, address(i))
                     for i in range(start, min(n, start + chunk))]
        b = "".join(lines).encode()
        out.write(b)
        total += len(b)
    tail = FOOTER.encode()
    out.write(tail)
    return total + len(tail)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-i", "--id", default="bench-1", help="campaign id")
    ap.add_argument("-l", "--list", default="bench.example.com",
                    help="list name")
    ap.add_argument("-e", "--expires", default=None,
                    help="RFC 3339 expiry (default: 14 days from now)")
    ap.add_argument("-z", "--zones", action="store_true",
                    help="a tz attribute on every recipient (50 zones)")
    ap.add_argument("n", type=int, help="number of recipients")
    ap.add_argument("out", help="output file ('-' for stdout)")
    a = ap.parse_args(argv)
    expires = a.expires
    if expires is None:
        t = datetime.datetime.now(datetime.timezone.utc) + \
            datetime.timedelta(days=14)
        expires = t.strftime("%Y-%m-%dT%H:%M:%SZ")
    if a.out == "-":
        size = generate(sys.stdout.buffer, a.n, a.id, a.list, expires,
                        zones=a.zones)
    else:
        with open(a.out, "wb") as f:
            size = generate(f, a.n, a.id, a.list, expires, zones=a.zones)
    print("%s: %d recipients, %d bytes" % (a.out, a.n, size),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
