#!/usr/bin/env bash
# The optional native `kerberos` module (Negotiate proxy authentication) is built from
# source against libkrb5-dev. `npm ci` leaves it out quietly when the headers were missing
# at install time; once system-deps has installed them, build it here. Never fatal: the
# Kerberos tests say why they skip when it still does not load.
set -uo pipefail
loads() { node -e "require('kerberos')" >/dev/null 2>&1; }
loads && exit 0
if [ ! -f /usr/include/gssapi/gssapi.h ]; then
  echo "native-deps: libkrb5-dev is not installed; the kerberos module is not built" >&2
  exit 0
fi
if [ -d node_modules/kerberos ]; then
  npm rebuild kerberos >&2
else
  version=$(node -p "require('./package-lock.json').packages['node_modules/kerberos'].version")
  npm install --no-save --no-audit --no-fund "kerberos@${version}" >&2
fi
loads || echo "native-deps: the kerberos module still does not load; the Kerberos tests will be skipped" >&2
exit 0
