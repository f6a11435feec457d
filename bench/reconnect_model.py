#!/usr/bin/env python3
"""A model of a reconnect storm: how long N terminals take to get back.

Not a benchmark (bench/scale.sh measures the real thing); a way to see which
of the terminals' back-off settings and the server's waiting room set the
time, before spending a 19,800-terminal run on each (docs/performance.md
§12.8).

The model: at t=0 every terminal loses its connection and, as
docs/terminals.md says, waits a random time in [0, first] before it tries
again. The server completes handshakes one after another at RATE per second.
A connection is taken in (waiting room or handshake) only if everything ahead
of it finishes within MAX_WAIT seconds at that rate (common/util/waiting_room.hpp);
otherwise it is refused at once and the terminal backs off: after the n-th
failure in a row a uniform draw from [0, min(cap, first * 2^(n-1))].
What it leaves out: the restart's own downtime, handshakes that fail for
other reasons, the client's CPU (part of RATE on one machine).

    bench/reconnect_model.py [--terminals N] [--rate R] [--max-wait S]
                             [--first S] [--cap S ...] [--runs K]

Prints, per cap, the time until the last terminal is back (min/max over
K runs with different seeds) and the refusals on the way; N / RATE is the
floor no back-off can beat.
"""
import argparse
import collections
import heapq
import random


def reconnect(terminals, rate, max_wait, first, cap, seed):
    rnd = random.Random(seed)
    attempts = [(rnd.uniform(0, first), i, 1) for i in range(terminals)]
    heapq.heapify(attempts)
    busy_until = 0.0  # when the last connection taken in is done
    in_server = collections.deque()  # completion times, in order
    last_back = 0.0
    refusals = 0
    while attempts:
        t, terminal, failures = heapq.heappop(attempts)
        while in_server and in_server[0] <= t:
            in_server.popleft()
        if len(in_server) + 1 <= rate * max_wait:
            busy_until = max(busy_until, t) + 1.0 / rate
            in_server.append(busy_until)
            last_back = busy_until
        else:
            refusals += 1
            window = min(cap, first * 2**failures)
            heapq.heappush(attempts, (t + rnd.uniform(0, window), terminal, failures + 1))
    return last_back, refusals


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--terminals", type=int, default=19800)
    p.add_argument("--rate", type=float, default=1000.0, help="handshakes per second")
    p.add_argument("--max-wait", type=float, default=5.0, help="the waiting room's horizon, s")
    p.add_argument("--first", type=float, default=1.0, help="the first back-off window, s")
    p.add_argument("--cap", type=float, nargs="+", default=[30.0, 20.0, 15.0, 10.0, 5.0])
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    if a.terminals < 1 or a.rate <= 0 or a.max_wait <= 0 or a.first <= 0 or a.runs < 1:
        p.error("terminals, rate, max-wait, first and runs must be positive")
    print(f"{a.terminals} terminals at {a.rate:g} handshakes/s (floor {a.terminals / a.rate:.1f} s), "
          f"waiting room horizon {a.max_wait:g} s, first window {a.first:g} s")
    for cap in a.cap:
        if cap < a.first:
            p.error("each cap must be at least the first window")
        runs = [reconnect(a.terminals, a.rate, a.max_wait, a.first, cap, seed) for seed in range(a.runs)]
        times = [r[0] for r in runs]
        refused = sum(r[1] for r in runs) // len(runs)
        print(f"cap {cap:5g} s: all back after {min(times):5.1f}-{max(times):5.1f} s, {refused} refusals")


if __name__ == "__main__":
    main()
