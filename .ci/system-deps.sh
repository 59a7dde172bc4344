#!/usr/bin/env bash
# Install the Debian packages the tests start on loopback (squid, nginx, ...), only when
# missing; `apt-get update` runs only if something has to be installed.
set -euo pipefail
declare -A BIN_OF=( [squid]=squid [nginx-light]=nginx [nginx]=nginx [openssl]=openssl [redis-server]=redis-server [apache2-utils]=htpasswd )
missing=()
for pkg in "$@"; do
  bin=${BIN_OF[$pkg]:-$pkg}
  if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ]; then missing+=("$pkg"); fi
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
