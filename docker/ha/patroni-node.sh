#!/bin/sh
# Starts Patroni for one node of docker/compose.ha.yaml. The node's name and
# address come from the environment (PATRONI_NAME, HOSTNAME); the cluster-wide
# settings from /etc/huxiao-ha/patroni-dcs.json, the file tools/ha.sh uses, so
# that the two clusters behave alike. Passwords: PATRONI_SUPERUSER_PASSWORD,
# PATRONI_REPLICATION_PASSWORD, HUXIAO_DB_PASSWORD (for post-bootstrap.sh).
set -eu
: "${PATRONI_NAME:?set PATRONI_NAME}"
: "${PATRONI_SUPERUSER_PASSWORD:?set PATRONI_SUPERUSER_PASSWORD}"
: "${PATRONI_REPLICATION_PASSWORD:?set PATRONI_REPLICATION_PASSWORD}"
host="${HOSTNAME:-$PATRONI_NAME}"
cfg=/var/lib/huxiao-ha/patroni.yml
cat >"$cfg" <<YAML
scope: huxiao
namespace: /huxiao/
name: $PATRONI_NAME

restapi:
  listen: 0.0.0.0:8008
  connect_address: $host:8008

# Patroni 3.0.2 (Debian 12): the etcd v2 section, not etcd3 (see
# tools/ha.sh, choose_dcs: a split-brain bug of 3.0.2's etcd3 section).
etcd:
  hosts: ${HUXIAO_ETCD_HOSTS:-etcd:2379}
  protocol: http

bootstrap:
  dcs: $(tr -d '\n' </etc/huxiao-ha/patroni-dcs.json)
  initdb:
    - encoding: UTF8
    - locale: C
    - auth-host: scram-sha-256
    - auth-local: peer
  post_bootstrap: /usr/local/bin/post-bootstrap.sh

postgresql:
  listen: 0.0.0.0:5432
  connect_address: $host:5432
  data_dir: /var/lib/huxiao-ha/pg/data
  bin_dir: /usr/lib/postgresql/15/bin
  pgpass: /var/lib/huxiao-ha/pgpass
  authentication:
    superuser:
      username: postgres
    replication:
      username: replicator
  pg_hba:
    - local all all peer
    - host replication replicator all scram-sha-256
    - host all all all scram-sha-256
  parameters:
    password_encryption: scram-sha-256
    unix_socket_directories: /var/run/postgresql

watchdog:
  mode: "off"
YAML
chmod 0600 "$cfg"
exec patroni "$cfg"
