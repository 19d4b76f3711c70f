#!/bin/sh
# PostgreSQL for deploy/compose.yaml, on Debian's packages (the official postgres image's too).
# It listens on a Unix socket only, in a volume that only Parlour's containers share: nothing on
# the network. Its first start makes the cluster, and a plain role `parlour` (no superuser, no
# BYPASSRLS: row-level security holds, T-31) that owns the database `parlour`, with the password
# from the `postgres_password` secret (scram-sha-256). The superuser is reachable only as the
# container's own `postgres` user (peer).
set -eu
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
data=/var/lib/postgresql/data
socket=/run/postgresql
mkdir -p "$data" "$socket"
chown postgres:postgres "$data" "$socket"
chmod 0700 "$data"
chmod 0755 "$socket"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }
if [ ! -s "$data/PG_VERSION" ]; then
  as_postgres "$bin/initdb" --pgdata="$data" --username=postgres --encoding=UTF8 \
    --locale=C.UTF-8 --auth-local=peer --auth-host=reject >/dev/null
  cat > "$data/pg_hba.conf" <<'HBA'
local  all       postgres  peer
local  parlour   parlour   scram-sha-256
HBA
  as_postgres "$bin/pg_ctl" --pgdata="$data" --wait --silent \
    --options="-c listen_addresses='' -c unix_socket_directories=$socket" start
  # The password is read by psql itself (\set with backquotes): never on a command line. The
  # secret may be readable by Parlour's user alone, so postgres reads a copy, removed at once.
  install -o postgres -g postgres -m 0400 /run/secrets/postgres_password "$data/.password"
  as_postgres "$bin/psql" --host="$socket" --username=postgres --dbname=postgres --quiet \
    --set=ON_ERROR_STOP=1 <<'SQL'
\set password `cat /var/lib/postgresql/data/.password`
SET password_encryption = 'scram-sha-256';
CREATE ROLE parlour LOGIN PASSWORD :'password';
CREATE DATABASE parlour OWNER parlour;
SQL
  rm -f "$data/.password"
  as_postgres "$bin/pg_ctl" --pgdata="$data" --wait --silent stop
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "$bin/postgres" -D "$data" \
  -c listen_addresses='' -c unix_socket_directories="$socket" -c password_encryption=scram-sha-256
