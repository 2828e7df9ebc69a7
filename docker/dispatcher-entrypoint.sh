#!/bin/sh
# Entrypoint of the dispatcher image. Started as root (as Compose does), it
#  1. finds the group that owns the Docker socket and gives it to the
#     dispatcher process, so nobody has to look up the host's docker group id;
#  2. builds REDIS_URL from a password file when Compose generated the Redis
#     password (REDIS_PASSWORD_FILE, and REDIS_URL unset);
#  3. runs the dispatcher as the unprivileged `node` user with no capabilities
#     and no way to gain privileges again.
# Started as any other user (Kubernetes runs it as uid 1000), it runs the
# command as it is.
set -eu

if [ "$(id -u)" != 0 ]; then
  exec "$@"
fi

groups="$(id -g node)"
socket="${DOCKER_HOST:-/var/run/docker.sock}"
case "$socket" in
  unix://*) socket="${socket#unix://}" ;;
esac
if [ -S "$socket" ]; then
  groups="$groups,$(stat -c %g "$socket")"
fi

if [ -z "${REDIS_URL:-}" ] && [ -n "${REDIS_PASSWORD_FILE:-}" ]; then
  if [ ! -s "$REDIS_PASSWORD_FILE" ]; then
    echo "switchboard: REDIS_PASSWORD_FILE ($REDIS_PASSWORD_FILE) is missing or empty; Redis writes it when it starts" >&2
    exit 78
  fi
  # Percent-encoded, so a password of any characters makes a valid URL.
  REDIS_URL="$(node -e 'const [f, user, address] = process.argv.slice(1); const pw = require("node:fs").readFileSync(f, "utf8").trim(); process.stdout.write(`redis://${encodeURIComponent(user)}:${encodeURIComponent(pw)}@${address}`)' \
    "$REDIS_PASSWORD_FILE" "${REDIS_USER:-switchboard}" "${REDIS_ADDRESS:-redis:6379}")"
  export REDIS_URL
fi

export HOME=/home/node
exec setpriv --reuid=node --regid=node --groups="$groups" --inh-caps=-all --bounding-set=-all --no-new-privs -- "$@"
