#!/usr/bin/python3
"""A minimal SMTP server that records every delivery, for tests/load/load.py.

Usage: sink.py PORT OUTFILE

Accepts everything (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and
appends one line per recipient of each message to OUTFILE:

    TIME<TAB>RECIPIENT<TAB>MESSAGE-ID<TAB>BYTES

(TIME from time.time(), written when the final "." is read).  Prints
"ready" on stdout once it listens.  Postfix's smtp-sink cannot record per
recipient and aiosmtpd parses more than this needs, so this is the
smallest server that answers what libcurl asks; it runs in its own
process so that the submitters' threads do not slow it down.
"""
import asyncio
import re
import sys
import time

MSGID = re.compile(rb"^message-id:[ \t]*(\S+)", re.I | re.M)


async def session(reader, writer, out):
    w = writer.write
    w(b"220 load-sink ESMTP\r\n")
    rcpts = []
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                rcpts = []
                w(b"250-load-sink\r\n250-8BITMIME\r\n250 SIZE 0\r\n"
                  if verb == b"EHLO" else b"250 load-sink\r\n")
            elif verb == b"MAIL":
                rcpts = []
                w(b"250 2.1.0 OK\r\n")
            elif verb == b"RCPT":
                m = re.search(rb"<([^>]*)>", line)
                rcpts.append((m.group(1) if m else line[8:].strip())
                             .decode(errors="replace"))
                w(b"250 2.1.5 OK\r\n")
            elif verb == b"DATA":
                if not rcpts:
                    w(b"503 5.5.1 RCPT first\r\n")
                    continue
                w(b"354 go ahead\r\n")
                # mannersd's messages always have headers, so the body
                # never starts with the terminator line itself
                data = await reader.readuntil(b"\r\n.\r\n")
                head = data.split(b"\r\n\r\n", 1)[0]
                m = MSGID.search(head)
                mid = m.group(1).decode(errors="replace") if m else "-"
                t = "%.6f" % time.time()
                out.write("".join("%s\t%s\t%s\t%d\n" % (t, r, mid, len(data))
                                  for r in rcpts))
                out.flush()
                rcpts = []
                w(b"250 2.0.0 queued\r\n")
            elif verb == b"RSET":
                rcpts = []
                w(b"250 2.0.0 OK\r\n")
            elif verb == b"NOOP":
                w(b"250 2.0.0 OK\r\n")
            elif verb == b"QUIT":
                w(b"221 2.0.0 bye\r\n")
                await writer.drain()
                break
            else:
                w(b"502 5.5.2 not implemented\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError,
            asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


async def main():
    port, path = int(sys.argv[1]), sys.argv[2]
    out = open(path, "a", buffering=1 << 16)
    server = await asyncio.start_server(
        lambda r, w: session(r, w, out), "127.0.0.1", port,
        limit=64 << 20, reuse_address=True)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
