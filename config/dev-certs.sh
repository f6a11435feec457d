#!/usr/bin/env bash
# Development certificates for huxiao, made with the openssl CLI.
#
#   config/dev-certs.sh OUT_DIR REGISTRY.json
#
# Writes into OUT_DIR, each only when it is missing, no longer verifies against
# its CA, or expires within a day:
#   server-ca.crt/.key         a dev CA for the server certificate
#   server.crt/.key            the server certificate (SAN DNS:localhost, IP:127.0.0.1)
#   terminal-ca.crt/.key       the CA that terminal client certificates chain to
#   terminals/<ID>.crt/.key    one client certificate per terminal of the registry,
#                              subject CN=<ID>
# Keys are EC P-256, written 0600 (never readable by others, not even for a
# moment: umask 077), certificates are valid for 825 days. A CA that is made
# anew has all of its certificates made anew too. For development only.
#
# Serve none of OUT_DIR: the server needs server.crt/.key and terminal-ca.crt
# only; terminal-ca.key lets whoever reads it impersonate any terminal, so it
# stays out of containers (docker/compose.yaml mounts single files).
set -euo pipefail

DAYS=825

die() { printf 'error: %s\n' "$*" >&2; exit 1; }
say() { printf '%s\n' "$*" >&2; }

[[ $# -eq 2 ]] || die "usage: $0 OUT_DIR REGISTRY.json"
OUT=$1
REGISTRY=$2
[[ -r "$REGISTRY" ]] || die "cannot read the registry file $REGISTRY"
command -v openssl >/dev/null 2>&1 || die "openssl not found (apt-get install openssl)"

# Not inside the web console's sources (web/ is compiled into huxiaod and
# served to anyone): keys never go there.
web_dir="$(realpath -m "$(dirname "${BASH_SOURCE[0]}")/../web")"
out_real="$(realpath -m "$OUT")"
if [[ "$out_real" == "$web_dir" || "$out_real" == "$web_dir"/* ]]; then
  die "OUT_DIR $OUT is inside the web console's directory $web_dir; choose another"
fi
mkdir -p "$OUT/terminals"
chmod 700 "$OUT" "$OUT/terminals"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

made=()

# Terminal ids of the registry's "terminals" array, without python3 or jq:
# take the text from `"terminals": [` to its closing `]` (terminal records
# hold no nested arrays) and pick every "id" value out of it.
terminal_ids() {
  tr -d '\r\n' <"$REGISTRY" \
    | sed -n 's/.*"terminals"[[:space:]]*:[[:space:]]*\[\([^]]*\)\].*/\1/p' \
    | grep -o '"id"[[:space:]]*:[[:space:]]*"[^"]*"' \
    | sed 's/.*"\([^"]*\)"$/\1/'
}

new_key() {
  # umask in a subshell: the key file is created 0600, not chmod-ed afterwards.
  (umask 077 && rm -f "$1" && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null)
  chmod 600 "$1"
}
serial() { printf '0x%s' "$(openssl rand -hex 15)"; }

# usable CERT [CA]: CERT and its key exist, CERT verifies against CA (or is a
# valid self-signed CA) and does not expire within a day.
usable() {
  local crt=$1 ca=${2:-$1}
  [[ -s "$crt" && -s "${crt%.crt}.key" ]] || return 1
  openssl x509 -in "$crt" -noout -checkend 86400 >/dev/null 2>&1 || return 1
  openssl verify -CAfile "$ca" "$crt" >/dev/null 2>&1
}

# make_ca NAME "Common Name": NAME.crt/.key, self-signed.
make_ca() {
  local name=$1 cn=$2
  new_key "$OUT/$name.key"
  openssl req -new -x509 -key "$OUT/$name.key" -out "$OUT/$name.crt" -days "$DAYS" \
    -subj "/O=huxiao dev/CN=$cn" -set_serial "$(serial)" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  made+=("$OUT/$name.crt")
}

# make_leaf CRT CA_NAME SUBJECT EXTENSIONS: CRT and its key, signed by CA_NAME.
make_leaf() {
  local crt=$1 ca=$2 subj=$3 ext=$4 key="${1%.crt}.key"
  new_key "$key"
  openssl req -new -key "$key" -subj "$subj" -out "$TMP/req.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$TMP/ext.cnf"
  openssl x509 -req -in "$TMP/req.csr" -CA "$OUT/$ca.crt" -CAkey "$OUT/$ca.key" \
    -set_serial "$(serial)" -days "$DAYS" -extfile "$TMP/ext.cnf" -out "$crt" 2>/dev/null
  made+=("$crt")
}

fresh_server_ca=0
if ! usable "$OUT/server-ca.crt"; then
  make_ca server-ca "huxiao dev server CA"
  fresh_server_ca=1
fi
if [[ $fresh_server_ca -eq 1 ]] || ! usable "$OUT/server.crt" "$OUT/server-ca.crt"; then
  make_leaf "$OUT/server.crt" server-ca "/O=huxiao dev/CN=localhost" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"
fi

fresh_terminal_ca=0
if ! usable "$OUT/terminal-ca.crt"; then
  make_ca terminal-ca "huxiao dev terminal CA"
  fresh_terminal_ca=1
fi

mapfile -t ids < <(terminal_ids)
[[ ${#ids[@]} -gt 0 ]] || die "no terminal ids found in the \"terminals\" array of $REGISTRY"
for id in "${ids[@]}"; do
  [[ "$id" =~ ^[A-Za-z0-9._-]+$ ]] || die "terminal id \"$id\" is not usable as a file name"
  crt="$OUT/terminals/$id.crt"
  if [[ $fresh_terminal_ca -eq 1 ]] || ! usable "$crt" "$OUT/terminal-ca.crt"; then
    make_leaf "$crt" terminal-ca "/O=huxiao dev/CN=$id" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
  fi
done

if [[ ${#made[@]} -eq 0 ]]; then
  say "dev certificates in $OUT are up to date (server, terminal CA, ${#ids[@]} terminals)"
else
  say "made ${#made[@]} certificate(s) (each with its .key) in $OUT:"
  terminals=()
  for f in "${made[@]}"; do
    case "$f" in
      "$OUT"/terminals/*) terminals+=("$(basename "$f" .crt)") ;;
      *) say "  ${f#"$OUT"/}" ;;
    esac
  done
  if [[ ${#terminals[@]} -gt 3 ]]; then
    say "  terminals/<ID>.crt for ${#terminals[@]} terminals: ${terminals[0]}, ${terminals[1]}, ... ${terminals[-1]}"
  elif [[ ${#terminals[@]} -gt 0 ]]; then
    say "  terminals/<ID>.crt for: ${terminals[*]}"
  fi
fi
