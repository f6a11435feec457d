#!/bin/sh
# Patroni runs this once, on the node that made the cluster, with a superuser
# connection string as $1: the application's role and database.
set -eu
: "${HUXIAO_DB_PASSWORD:?set HUXIAO_DB_PASSWORD}"
psql "$1" -v ON_ERROR_STOP=1 -v pw="$HUXIAO_DB_PASSWORD" <<'SQL'
CREATE ROLE huxiao LOGIN PASSWORD :'pw';
CREATE DATABASE huxiao OWNER huxiao;
SQL
