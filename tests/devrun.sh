#!/bin/sh
# `make run`: a local SMTP server that prints what it receives into
# var/smtp.log, and mannersd in the foreground with the development
# defaults (state, socket and secret under ./var/).  Ctrl-C stops both.
set -eu
build=${1:-build/default}
mkdir -p var
smtp_port=2525
# tests/devrelay.py prints each message decoded (headers' encoded words,
# quoted-printable bodies), so var/smtp.log reads as the recipient sees it.
/usr/bin/python3 "$(dirname "$0")/devrelay.py" 127.0.0.1 $smtp_port \
    >var/smtp.log 2>&1 &
smtp_pid=$!
trap 'kill $smtp_pid 2>/dev/null || true' EXIT INT TERM
sleep 0.5
if ! kill -0 $smtp_pid 2>/dev/null; then
	echo "make run: the local SMTP server did not start (port $smtp_port busy?):" >&2
	cat var/smtp.log >&2
	exit 1
fi
cat <<MSG
make run: local SMTP server on 127.0.0.1:$smtp_port, writing to var/smtp.log
make run: mannersd on var/control.sock; in another terminal try
    ./mannersctl submit conf/example-campaign.xml
    tail -f var/smtp.log
MSG
"$build/mannersd" -v
