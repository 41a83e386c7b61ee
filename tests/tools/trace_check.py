#!/usr/bin/env python3
"""Checks cosync's timeline trace and its SVG rendering.

    trace_check.py WORKLOAD PIPELINE TRACE_TIMELINE WORKDIR

Runs tests/tools/trace_workload twice (a buffer big enough for everything, and one of 64 events
per executor that must wrap around) and examples/pipeline with COSYNC_TRACE, loads each file with
json and checks its shape: every begin has an end on the same track, properly nested; every flow
starts inside a run and ends inside one, later; the workload's labels, parks, cancellation and
hops are there. Then tools/trace-timeline draws each one, and the SVG must parse with a row per
executor and a bar per run; its --waiting list names the cancelled sleep.
"""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict

SVG = "{http://www.w3.org/2000/svg}"


def fail(message):
    sys.exit("trace_check: " + message)


def check_shape(path):
    with open(path, encoding="utf-8") as f:
        trace = json.load(f)
    events = trace["traceEvents"]
    if not isinstance(events, list) or not events:
        fail("%s: no traceEvents" % path)
    runs = defaultdict(list)  # tid -> [(begin, end)]
    stacks = defaultdict(list)
    flows = defaultdict(dict)
    last_ts = defaultdict(lambda: float("-inf"))
    for e in events:
        for key in ("ph", "pid", "tid", "name"):
            if key not in e:
                fail("%s: an event without %s: %r" % (path, key, e))
        ph, tid = e["ph"], e["tid"]
        if ph == "M":
            continue
        ts = e["ts"]
        if ph in "BE":
            if ts < last_ts[tid]:
                fail("%s: track %d goes back in time at %r" % (path, tid, e))
            last_ts[tid] = ts
        if ph == "B":
            stacks[tid].append(ts)
        elif ph == "E":
            if not stacks[tid]:
                fail("%s: an end without a begin on track %d at %s" % (path, tid, ts))
            runs[tid].append((stacks[tid].pop(), ts))
        elif ph in "sf":
            if ph in flows[e["id"]]:
                fail("%s: flow %s has two '%s' events" % (path, e["id"], ph))
            flows[e["id"]][ph] = (tid, ts)
        elif ph == "i":
            if e.get("s") not in ("t", "p", "g"):
                fail("%s: an instant without a scope: %r" % (path, e))
        else:
            fail("%s: unexpected phase %r" % (path, ph))
    for tid, stack in stacks.items():
        if stack:
            fail("%s: %d begins without an end on track %d" % (path, len(stack), tid))

    def inside(tid, ts):
        return any(b <= ts <= end for b, end in runs[tid])

    for fid, ends in flows.items():
        if set(ends) != {"s", "f"}:
            fail("%s: flow %s is not a start and a finish: %r" % (path, fid, ends))
        (stid, sts), (ftid, fts) = ends["s"], ends["f"]
        if fts < sts:
            fail("%s: flow %s ends before it starts" % (path, fid))
        if not inside(stid, sts) or not inside(ftid, fts):
            fail("%s: flow %s does not connect two runs" % (path, fid))
    return trace, events, flows


def check_svg(tool, trace_path, workdir, executors, runs):
    svg_path = os.path.join(workdir, os.path.basename(trace_path) + ".svg")
    subprocess.run([sys.executable, tool, trace_path, "-o", svg_path], check=True)
    root = ET.parse(svg_path).getroot()
    if root.tag != SVG + "svg":
        fail("%s: not an SVG document" % svg_path)
    rows = [g for g in root.iter(SVG + "g") if g.get("class") == "executor"]
    bars = [r for r in root.iter(SVG + "rect") if r.get("class") == "run"]
    if len(rows) != executors:
        fail("%s: %d rows for %d executors" % (svg_path, len(rows), executors))
    if len(bars) != runs:
        fail("%s: %d bars for %d runs" % (svg_path, len(bars), runs))


def run_workload(workload, path, events):
    subprocess.run([workload, path, str(events)], check=True, timeout=120)
    return check_shape(path)


def main():
    workload, pipeline, tool, workdir = sys.argv[1:5]
    os.makedirs(workdir, exist_ok=True)

    # Everything kept.
    full = os.path.join(workdir, "workload.json")
    trace, events, flows = run_workload(workload, full, 1 << 16)
    if trace["otherData"]["dropped_events"] != 0:
        fail("the full trace dropped events")
    names = Counter(e["name"] for e in events if e["ph"] in "Bi")
    # (The sleeper's runs are those of the timeout task it awaits: named by that function.)
    for label in ("receiver", "sender", "hopper", "selector"):
        if names[label] == 0:
            fail("no run labelled %r: %r" % (label, names))
    for instant in ("park: channel recv", "park: sleep", "park: select", "cancel", "wake"):
        if names[instant] == 0:
            fail("no %r instant: %r" % (instant, names))
    flow_names = Counter(e["name"] for e in events if e["ph"] == "s")
    crossing = sum(1 for f in flows.values() if f["s"][0] != f["f"][0])
    if flow_names["hop"] < 10 or crossing < 20:
        fail("expected most of the hopper's 20 hops between executors as flows: %r, %d crossing" % (flow_names, crossing))
    if flow_names["wake"] == 0:
        fail("no flow from a sender to the receiver it woke: %r" % flow_names)
    threads = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    if threads != {"executor 0", "executor 1"}:
        fail("tracks: %r" % threads)
    check_svg(tool, full, workdir, 2, sum(1 for e in events if e["ph"] == "B"))
    # --waiting: the sleeper's hour-long sleep was parked until its timeout cancelled it.
    listed = subprocess.run([sys.executable, tool, full, "--waiting"], check=True, capture_output=True,
                            text=True).stdout
    if not any("sleep" in line and "cancelled at" in line for line in listed.splitlines()):
        fail("--waiting does not list the cancelled sleep:\n" + listed)

    # Only the newest 64 events per executor: the oldest are dropped, the shape still holds.
    small = os.path.join(workdir, "workload_small.json")
    trace, events, _ = run_workload(workload, small, 64)
    if trace["otherData"]["dropped_events"] == 0:
        fail("64 events per executor should have dropped some")
    per_track = Counter(e["tid"] for e in events if e["ph"] in "BEi")
    if max(per_track.values()) > 64:
        fail("a track kept more than 64 events: %r" % per_track)
    check_svg(tool, small, workdir, 2, sum(1 for e in events if e["ph"] == "B"))

    # The example pipeline, as the guide shows it.
    piped = os.path.join(workdir, "pipeline.json")
    subprocess.run([pipeline, "--items", "200000"], check=True, timeout=120, stdout=subprocess.DEVNULL,
                   env=dict(os.environ, COSYNC_TRACE=piped))
    trace, events, _ = check_shape(piped)
    labels = {e["name"] for e in events if e["ph"] == "B"}
    if not {"generate", "transform", "aggregate"} <= labels:
        fail("the pipeline's stages are not named: %r" % labels)
    check_svg(tool, piped, workdir, trace["otherData"]["executors"], sum(1 for e in events if e["ph"] == "B"))
    print("trace_check: ok")


if __name__ == "__main__":
    main()
