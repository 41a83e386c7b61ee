"""bench/report regenerates docs from a saved run: from a small fixture it must write a table and
a well-formed SVG per benchmark, replace only the marked region of the document (the hand-written
prose around it stays), and put every implementation's median in the tables.

    python3 report_check.py REPORT"""

import json
import os
import subprocess
import sys
import tempfile
import xml.dom.minidom

META = {"machine": "test machine, 2 CPUs", "kernel": "6.0", "compiler": "g++ 12", "commit": "abc1234",
        "date": "2026-01-01 00:00 UTC", "reps": 3, "scale": 0.3, "net_seconds": 3}


def row(bench, workload, impl, role, value, placement="-", higher=True, unit="M msg/s", rep=0):
    return {"bench": bench, "workload": workload, "impl": impl, "role": role, "value": value, "unit": unit,
            "higher_is_better": higher, "placement": placement, "two_threads": placement != "-", "rep": rep}


def main():
    report = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for rep, (ours, peer) in enumerate([(60.0, 20.0), (62.0, 25.0), (58.0, 22.0)]):
            rows.append(row("channel_bench", "C1 stream, 1 executor", "channel (MPMC)", "ours", ours, rep=rep))
            rows.append(row("channel_bench", "C1 stream, 1 executor", "asio <channel>", "peer", peer, rep=rep))
            rows.append(row("runtime_bench", "C7 hop | round trip", "switch_to", "ours", 900 + rep, "far", False, "ns"))
        fixture = os.path.join(tmp, "results.jsonl")
        with open(fixture, "w") as f:
            f.write(json.dumps({"meta": META}) + "\n")
            for r in rows:
                f.write(json.dumps(r) + "\n")
        doc = os.path.join(tmp, "benchmarks.md")
        with open(doc, "w") as f:
            f.write("# Benchmarks\n\nhand-written prose\n\n<!-- report:begin -->\nold table\n<!-- report:end -->\n\nmore prose\n")
        out = os.path.join(tmp, "out")
        subprocess.run([sys.executable, report, "--from", fixture, "--out", out, "--doc", doc], check=True)

        text = open(doc).read()
        assert text.startswith("# Benchmarks\n\nhand-written prose\n") and text.endswith("more prose\n"), text
        assert "old table" not in text and "abc1234" in text, text
        assert "| C1 stream, 1 executor | - | **channel (MPMC)** | 60.0 | 58.0 | 62.0 | M msg/s | 3 | 2.73x asio &lt;channel&gt; |" in text, text
        assert "C7 hop \\| round trip | far" in text, text
        for bench in ("channel_bench", "runtime_bench"):
            xml.dom.minidom.parse(os.path.join(out, f"{bench}.svg"))  # well-formed
            assert os.path.exists(os.path.join(out, f"{bench}.md"))
        saved = [json.loads(line) for line in open(os.path.join(out, "results.jsonl"))]
        assert saved[0]["meta"] == META and len(saved) == len(rows) + 1
    print("report check passed")


if __name__ == "__main__":
    main()
