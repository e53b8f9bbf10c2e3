#!/usr/bin/env bash
# Make sure the Debian packages of the production-shaped stack are installed:
# PostgreSQL, Redis and nginx. Fast (no apt call) when they are all present already.
# As root the missing ones are installed with apt-get; otherwise it says what to install.
# Nothing is started here: scripts/localstack.py starts private servers on loopback ports.
set -euo pipefail

missing=()
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
	missing+=(postgresql)
fi
if ! command -v redis-server >/dev/null 2>&1; then
	missing+=(redis-server)
fi
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
	missing+=(nginx)
fi
if ! command -v openssl >/dev/null 2>&1; then
	missing+=(openssl)
fi

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "Missing Debian packages: ${missing[*]}" >&2
	echo "Install them as root:  sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi

echo "Installing ${missing[*]} from Debian packages ..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The packages' own services stay off: policy-rc.d refuses service starts during the install
# (containers have no init anyway); the stack runs its own servers on non-default ports.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	created_policy=1
fi
status=0
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || status=$?
if [ "$created_policy" = 1 ]; then
	rm -f "$policy"
fi
exit "$status"
