#!/usr/bin/env python3
"""DC-09 ACK latency: one plain SIA-DCS panel sends alarms over UDP, one at a
time, and times each until its ACK (which huxiaod sends only after the
alarm's commit). Standard library only; docs/performance.md, section 9.

  bench/dc09_ack.py HOST PORT ACCOUNT [COUNT]

The account must be a registered DC-09 identity without a key, and
dc09_listener.allow_plain must be true (the demo configuration of
tools/setup.sh has both: account 2029 is T-0029). Alarms of one school within
dispatch.repeat_window_s join one incident, as a real panel's would.
"""
import socket
import sys
import time


def crc16_arc(data: bytes) -> int:
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def frame(seq: int, account: str) -> bytes:
    now = time.gmtime()
    stamp = time.strftime("_%H:%M:%S,%m-%d-%Y", now)
    span = f'"SIA-DCS"{seq:04d}L0#{account}[#{account}|Nri1/PA1]{stamp}'.encode()
    return b"\n%04X0%03X" % (crc16_arc(span), len(span)) + span + b"\r"


def main() -> int:
    if len(sys.argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    host, port, account = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) == 5 else 500
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(5)
    sock.connect((host, port))
    latencies = []
    seq = int(time.time()) % 5000  # a fresh range per run: no retransmissions
    for i in range(count):
        # max_frames_per_s (default 10/s, burst 20) applies per sender.
        time.sleep(0.11)
        data = frame(seq + i, account)
        start = time.perf_counter()
        sock.send(data)
        answer = sock.recv(2048)
        latencies.append(time.perf_counter() - start)
        if b'"ACK"' not in answer:
            print(f"not acked: {answer!r}", file=sys.stderr)
            return 1
    latencies.sort()

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(f"{count} alarms, ACK after commit (ms): p50 {pct(0.50):.2f}  p90 {pct(0.90):.2f}  "
          f"p99 {pct(0.99):.2f}  max {latencies[-1] * 1000:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
