#!/usr/bin/env python3
# Reads a bench/ha/soak.sh results directory (SOAK_OUT) after the run and says
# where the time of each huxiaod kill -9 went, and which of the leaders'
# step-downs "the lease was not renewed in time" came without a fault
# (docs/availability.md §7, "What the logs of the 100-fault run show").
#
#   python3 bench/ha/decompose.py .local/bench/soak-DATE
#
# Per huxiaod-kill cycle: the ack gap (last ack before the first ack that came
# 50 ms or more after the kill), kill -> "took the lease" -> "open incidents
# recovered" -> "leading with epoch" (listeners open) -> that first ack, and
# any step-down in the 6 s before the kill. Then the step-downs: inside a
# fault's window (1 s before it to 5 s after acks flowed again) by fault, and
# outside any (false step-downs), with the longest ack gap around each.
# Reads a.err, b.err (the nodes' logs), faults.log and acks.sorted.
import sys, re, datetime, bisect, subprocess, os
if len(sys.argv) != 2 or not os.path.isfile(os.path.join(sys.argv[1], "faults.log")):
    sys.exit("usage: decompose.py SOAK_OUT (a bench/ha/soak.sh results directory, with faults.log)")
d = sys.argv[1]
def ms(iso):  # 2026-12-01T18:02:17.495Z
    t = datetime.datetime.strptime(iso[:23], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
    return int(t.timestamp() * 1000)
ev = []
for node in "ab":
    out = subprocess.run(["grep", "-E", r"\[leadership\]|\[server\] (registry: |leading with|restarting)", f"{d}/{node}.err"],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "OFFLINE" in line: continue
        ev.append((ms(line[:24]), node, line[25:]))
ev.sort()
faults = []
for line in open(f"{d}/faults.log"):
    p = line.split()
    faults.append((p[0], int(p[1]), int(p[2]), int(p[3])))
acks = [int(l.split()[0]) for l in open(f"{d}/acks.sorted")]
def first_ack_after(t):
    i = bisect.bisect_right(acks, t); return acks[i] if i < len(acks) else None
def last_ack_before(t):
    i = bisect.bisect_left(acks, t); return acks[i-1] if i else None
print("huxiaod-kill: cycle, gap(s) [last ack before kill -> first after], kill->took lease, took->recovered, recovered->listening, listening->first ack, stepdown-before-kill")
for f, c, t0, t1 in faults:
    if f != "huxiaod-kill": continue
    took = next((e for e in ev if e[0] > t0 and "took the lease" in e[2]), None)
    rec = next((e for e in ev if took and e[0] >= took[0] and e[1] == took[1] and "open incidents recovered" in e[2]), None)
    lis = next((e for e in ev if took and e[0] >= took[0] and e[1] == took[1] and "leading with epoch" in e[2]), None)
    fa = first_ack_after(t0 + 50); la = last_ack_before(fa) if fa else None
    pre = [e for e in ev if t0 - 6000 < e[0] < t0 and "not renewed in time" in e[2]]
    r = lambda a, b: f"{(a-b)/1000:.2f}" if a and b else "?"
    print(f"  #{c:2d} gap {r(fa, la)} (kill at last+{r(t0, la)})  took {r(took and took[0], t0)}  recover {r(rec and rec[0], took and took[0])}  listen {r(lis and lis[0], rec and rec[0])}  ack {r(fa, lis and lis[0])}  {'PRE-KILL STEP-DOWN ' + str([(e[0]-t0)/1000 for e in pre]) if pre else ''}")
# step-downs: inside a fault window (t0 - 1 s .. t1 + 5 s) or outside
win = [(t0 - 1000, t1 + 5000, f) for f, c, t0, t1 in faults]
inside = {}; outside = []
for e in ev:
    if "not renewed in time" not in e[2]: continue
    w = next((w for w in win if w[0] <= e[0] <= w[1]), None)
    if w: inside[w[2]] = inside.get(w[2], 0) + 1
    else: outside.append(e)
print("step-downs 'not renewed in time':", sum(inside.values()) + len(outside), "; inside a fault's window by fault:", inside, "; outside any fault:", len(outside))
for e in outside: print("   ", datetime.datetime.fromtimestamp(e[0]/1000, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:12], e[1])
gaps = []
for e in outside:
    i = bisect.bisect_left(acks, e[0] - 4000); j = bisect.bisect_right(acks, e[0] + 8000)
    g = max((acks[k+1] - acks[k] for k in range(i, j - 1)), default=0)
    gaps.append(g / 1000)
if gaps:
    gaps.sort()
    print("longest ack gap around each false step-down (s): min %.2f median %.2f max %.2f; > 5 s: %d" % (gaps[0], gaps[len(gaps)//2], gaps[-1], sum(g > 5 for g in gaps)))
