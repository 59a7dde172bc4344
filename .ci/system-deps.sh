#!/usr/bin/env bash
# Install the Debian packages the tests start on loopback (squid, nginx, ...), only when
# missing; `apt-get update` runs only if something has to be installed.
set -euo pipefail
declare -A BIN_OF=( [squid]=squid [nginx-light]=nginx [nginx]=nginx [openssl]=openssl [redis-server]=redis-server [apache2-utils]=htpasswd
  [krb5-kdc]=krb5kdc [krb5-admin-server]=kadmin.local [krb5-user]=kinit )
has_bin() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
present() {
  case "$1" in
    # Headers, not a binary.
    libkrb5-dev) [ -f /usr/include/gssapi/gssapi.h ] ;;
    # Debian's plain squid is built with GnuTLS and has no ssl_bump: squid-openssl replaces it.
    squid-openssl) has_bin squid && /usr/sbin/squid -v 2>/dev/null | grep -q -- '--with-openssl' ;;
    *) has_bin "${BIN_OF[$1]:-$1}" ;;
  esac
}
missing=()
for pkg in "$@"; do
  present "$pkg" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: need ${missing[*]} but not root; install them with apt-get" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
