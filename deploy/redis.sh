#!/bin/sh
# Redis for deploy/compose.yaml, on Debian's packages (the official redis image's too): a Unix
# socket only, in a volume that only Parlour's containers share, and an append-only file so
# that used token ids (single use, T-15) survive a restart.
set -eu
mkdir -p /run/redis /data
chown redis:redis /run/redis /data
chmod 0755 /run/redis
exec setpriv --reuid=redis --regid=redis --init-groups redis-server --port 0 \
  --unixsocket /run/redis/redis.sock --unixsocketperm 777 \
  --dir /data --appendonly yes --save "" --protected-mode yes
