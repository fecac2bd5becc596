#!/bin/bash
# healthcheck.sh - the image's HEALTHCHECK (/usr/local/bin/walkrec-healthcheck): exit 0 when
# GET /healthz answers 200.
#
# bash's /dev/tcp instead of curl: bookworm-slim has no HTTP client, and curl would add
# libcurl and about a dozen libraries (TLS, LDAP, Kerberos, SSH) to the image for one request
# on loopback. The address and port are walkrecd's own effective settings (config file and
# WALKREC_* variables); a port given as a flag on the command line is not seen here, so set
# it with WALKREC_PORT or in the file.
set -uo pipefail

if ! settings=$(WALKREC_ADMIN_TOKEN=probe walkrecd --print-config 2>&1); then
    echo "walkrec-healthcheck: cannot read the settings: $settings"
    exit 1
fi
port=$(printf '%s\n' "$settings" | sed -n 's/^port = //p')
host=$(printf '%s\n' "$settings" | sed -n 's/^bind = //p')
case $host in
0.0.0.0 | "") host=127.0.0.1 ;;
:: | "[::]") host=::1 ;;
esac

if ! { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
    echo "walkrec-healthcheck: nothing listening on $host port $port"
    exit 1
fi
printf 'GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n' >&3
IFS= read -r -t 4 status <&3
status=${status%$'\r'}
echo "walkrec-healthcheck: $host port $port: ${status:-no answer}"
[[ $status == "HTTP/1."?" 200 "* ]]
