#!/usr/bin/python3
"""Generate a campaign document with N recipients, streamed to a file.

usage: gen_campaign.py [-i ID] [-l LIST] [-e EXPIRES] N OUT

Recipient i is u{i}@d{i % 1000}.example.org with the name "User {i}";
every tenth address is written in mixed case (U{i}@D{...}.Example.org),
so normalisation has work to do.  The addresses do not depend on the
campaign id: two documents generated with the same N reach the same
people.  1,000,000 recipients make a document of about 50 MB.
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


def address(i):
    if i % 10 == 0:
        return "U%d@D%d.Example.org" % (i, i % 1000)
    return "u%d@d%d.example.org" % (i, i % 1000)


def generate(out, n, cid, lst, expires, chunk=10000):
    """Write the document to the binary file `out`; returns bytes written."""
    total = 0
    head = HEADER.format(id=quoteattr(cid), list=quoteattr(lst),
                         expires=escape(expires)).encode()
    out.write(head)
    total += len(head)
    for start in range(0, n, chunk):
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
    ap.add_argument("n", type=int, help="number of recipients")
    ap.add_argument("out", help="output file ('-' for stdout)")
    a = ap.parse_args(argv)
    expires = a.expires
    if expires is None:
        t = datetime.datetime.now(datetime.timezone.utc) + \
            datetime.timedelta(days=14)
        expires = t.strftime("%Y-%m-%dT%H:%M:%SZ")
    if a.out == "-":
        size = generate(sys.stdout.buffer, a.n, a.id, a.list, expires)
    else:
        with open(a.out, "wb") as f:
            size = generate(f, a.n, a.id, a.list, expires)
    print("%s: %d recipients, %d bytes" % (a.out, a.n, size),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
