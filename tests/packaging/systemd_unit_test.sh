#!/usr/bin/env bash
# Checks packaging/huxiaod.service: `systemd-analyze verify` accepts it with
# no warning at all (it exits 0 on unknown keys and bad values, so its output
# must be empty too), and the sandbox and readiness settings that
# docs/operations.md promises are there.
#   systemd_unit_test.sh UNIT_FILE HUXIAOD_BINARY
set -euo pipefail
unit=$1 binary=$2
command -v systemd-analyze >/dev/null || { echo "systemd-analyze not found (apt-get install systemd)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# verify checks that ExecStart names an executable: point it at the build.
sed "s#^ExecStart=/usr/local/bin/huxiaod #ExecStart=$binary #" "$unit" >"$work/huxiaod.service"
grep -q "^ExecStart=$binary serve" "$work/huxiaod.service" || { echo "ExecStart line not found"; exit 1; }

out=$(cd "$work" && SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$work/huxiaod.service" 2>&1) || {
  echo "systemd-analyze verify failed:"; echo "$out"; exit 1; }
if [[ -n "$out" ]]; then
  echo "systemd-analyze verify warned:"; echo "$out"; exit 1
fi

failed=0
for line in Type=notify NotifyAccess=main User=huxiao ProtectSystem=strict NoNewPrivileges=yes \
            ProtectHome=yes PrivateDevices=yes CapabilityBoundingSet= WatchdogSec=30; do
  grep -qx "$line" "$unit" || { echo "missing: $line"; failed=1; }
done
grep -qE '^LimitNOFILE=[0-9]{5,}$' "$unit" || { echo "LimitNOFILE is missing or below 10000"; failed=1; }
# setrlimit is how huxiaod raises its soft limit: a filter must not forbid it.
if grep -E '^SystemCallFilter=~.*@resources' "$unit"; then echo "@resources denied: setrlimit would kill huxiaod"; failed=1; fi
[[ $failed -eq 0 ]] && echo "huxiaod.service verified"
exit $failed
