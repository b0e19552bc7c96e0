#!/bin/sh
# Makes sure the browser tests (test/browser/) have Debian's chromium at /usr/bin/chromium.
# Run by `npm test` before vitest. Where chromium is missing and this runs as root with apt-get
# (CI, a fresh container), it installs it; otherwise it says what to install, in one line, and lets
# the tests run: the browser tests then fail with the same line (they are never skipped).
# Always exits 0, so that every other test still runs and is reported.
# Usage: sh scripts/chromium.sh
CHROMIUM=/usr/bin/chromium
HINT="install Debian's chromium package (as root: apt-get install -y --no-install-recommends chromium)"

[ -x "$CHROMIUM" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "actbatch: $CHROMIUM is missing; installing Debian's chromium for the browser tests (apt-get, once)" >&2
  if { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; } >&2 &&
    [ -x "$CHROMIUM" ]; then
    exit 0
  fi
  echo "actbatch: could not install chromium with apt-get (see above); the browser tests will fail: $HINT" >&2
  exit 0
fi

echo "actbatch: $CHROMIUM is missing, so the browser tests will fail: $HINT" >&2
exit 0
