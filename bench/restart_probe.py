#!/usr/bin/env python3
"""Time from starting huxiaod to a terminal's welcome (docs/performance.md,
"Restart"). Used by bench/restart.sh; standard library only.

  bench/restart_probe.py PORT TERMINAL CERT KEY CA -- HUXIAOD ARGS...

Starts HUXIAOD ARGS... (stdout and stderr to huxiaod.out/.err in the current
directory), then tries every 5 ms to connect to 127.0.0.1:PORT with mutual
TLS as TERMINAL, send hello and read the welcome. Prints one line

  welcome_s=S

S: seconds from the start of the process to the welcome. Stops huxiaod with SIGTERM and
waits for it. Gives up after 120 s (exit 1).
"""
import json
import signal
import socket
import ssl
import subprocess
import sys
import time

GIVE_UP_S = 120.0


def try_welcome(port, terminal, ctx):
    """One attempt: the welcome frame as a dict, or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                hello = {"type": "hello", "terminal": terminal, "proto": 1, "fw": "bench"}
                tls.sendall((json.dumps(hello) + "\n").encode())
                data = b""
                while b"\n" not in data and len(data) < 4096:
                    chunk = tls.recv(4096)
                    if not chunk:
                        return None
                    data += chunk
                frame = json.loads(data.split(b"\n", 1)[0])
                return frame if frame.get("type") == "welcome" else None
    except (OSError, ssl.SSLError, ValueError):
        return None


def main():
    if len(sys.argv) < 8 or sys.argv[6] != "--":
        print(__doc__, file=sys.stderr)
        return 2
    port, terminal = int(sys.argv[1]), sys.argv[2]
    cert, key, ca = sys.argv[3], sys.argv[4], sys.argv[5]
    command = sys.argv[7:]
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)
    ctx.load_cert_chain(cert, key)

    with open("huxiaod.out", "w") as out, open("huxiaod.err", "w") as err:
        start = time.monotonic()
        server = subprocess.Popen(command, stdout=out, stderr=err)
    welcome_s = None
    try:
        while time.monotonic() - start < GIVE_UP_S:
            if server.poll() is not None:
                print(f"huxiaod exited with {server.returncode}", file=sys.stderr)
                return 1
            if try_welcome(port, terminal, ctx) is not None:
                welcome_s = time.monotonic() - start
                break
            time.sleep(0.005)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    if welcome_s is None:
        print(f"no welcome within {GIVE_UP_S:.0f} s", file=sys.stderr)
        return 1
    print(f"welcome_s={welcome_s:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
