"""A long soak of `flowsight serve` over stdio: `python bench/soak.py [--edits 30000]`.

The CI soak (`tests/robustness/test_soak.py`) is 4,000 edits; this one runs as many as asked
(30,000 by default, the length at which issue 15 measured a leak of ≈2.3 KB per notification)
against a small project opened as a workspace folder. Every edit turns the sink of `app.py` on
or off (`os.system` ↔ `os.systen`), so each edit changes the diagnostics and is published.

Measured:
  latency   client time of each edit: didChange sent → publishDiagnostics of that version
            received (transport included); p50/p95/p99/max over all edits, and per tenth of the
            run (a drift would show as rising percentiles)
  server    server time (change handler → publish written) from `flowsight/status`, p50/p95
  RSS       the server's resident set every 500 edits; the least-squares slope in KiB per edit
            over the second half (after warm-up), and first/last/peak

Prints a table and writes `bench/results/soak.json`. Uses the raw-pipe client of the
robustness tests (`tests/robustness/pipe.py`; the server under their memory limit).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPOSITORY = BENCH.parent
sys.path.insert(0, str(REPOSITORY / "tests"))

from run import percentile, table  # noqa: E402  (bench/run.py: the suites' shared helpers)

from robustness import pipe  # noqa: E402
from robustness.harness import LIMITED, MEMORY_LIMIT  # noqa: E402
from robustness.pipe import PipeServer  # noqa: E402

SAMPLE_EVERY = 500
# The robustness tests' memory limit; CPU time as long as a soak may need.
CPU_SECONDS = 4 * 3600
LIMITS = [sys.executable, "-P", str(LIMITED), str(MEMORY_LIMIT), str(CPU_SECONDS), "0"]
pipe.SERVER = [*LIMITS, sys.executable, "-P", "-m", "flowsight", "serve"]
APP = 'import os\nfrom flask import request\n\n\ndef run():\n    command = request.args["cmd"]\n    os.system(command)\n'
SINK_LINE, SINK_COLUMN = 6, len("    os.syste")
HELPERS = "".join(f"def helper_{i}(value):\n    return value.strip()\n\n\n" for i in range(50))


def slope(samples: list[tuple[int, int]]) -> float:
    """Least-squares slope of (edits, KiB)."""
    n = len(samples)
    mean_x = sum(x for x, _ in samples) / n
    mean_y = sum(y for _, y in samples) / n
    return sum((x - mean_x) * (y - mean_y) for x, y in samples) / sum((x - mean_x) ** 2 for x, _ in samples)


def soak(project: Path, edits: int) -> dict:
    (project / "app.py").write_text(APP)
    (project / "helpers.py").write_text(HELPERS)
    uri = (project / "app.py").as_uri()
    server = PipeServer(project)
    try:
        server.initialize(project)
        server.notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": APP}})
        server.notification("textDocument/publishDiagnostics", timeout=60, where=lambda p: p["uri"] == uri and p.get("version") == 1)
        latencies: list[float] = []
        rss: list[tuple[int, int]] = [(0, server.rss_kib())]
        server_ms: list[float] = []
        started = time.monotonic()
        for version in range(2, edits + 2):
            letter = "n" if version % 2 == 0 else "m"
            change = {
                "range": {"start": {"line": SINK_LINE, "character": SINK_COLUMN}, "end": {"line": SINK_LINE, "character": SINK_COLUMN + 1}},
                "text": letter,
            }
            sent = time.perf_counter()
            server.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]})
            published = server.notification(
                "textDocument/publishDiagnostics", timeout=60, where=lambda p, v=version: p["uri"] == uri and p.get("version") == v
            )
            latencies.append((time.perf_counter() - sent) * 1000)
            expected = 0 if letter == "n" else 1
            assert len(published["diagnostics"]) == expected, (version, published)
            server.seen.clear()  # the client keeps nothing per edit
            done = version - 1
            if done % SAMPLE_EVERY == 0:
                rss.append((done, server.rss_kib()))
                status = server.call("flowsight/status", None, timeout=60)["result"]
                server_ms.extend(sample["milliseconds"] for sample in status["latencies"][-SAMPLE_EVERY:])
        seconds = time.monotonic() - started
        assert server.call("shutdown", timeout=60)["result"] is None
        server.notify("exit")
        status = server.wait(30)
    finally:
        server.close()
    tenth = max(1, edits // 10)
    half = [(x, y) for x, y in rss if x >= edits // 2]
    return {
        "edits": edits,
        "seconds": round(seconds, 1),
        "exit_status": status,
        "latency_ms": {
            "p50": round(percentile(latencies, 0.50), 2),
            "p95": round(percentile(latencies, 0.95), 2),
            "p99": round(percentile(latencies, 0.99), 2),
            "max": round(max(latencies), 2),
            "p95_per_tenth": [round(percentile(latencies[i : i + tenth], 0.95), 2) for i in range(0, edits, tenth)],
        },
        "server_ms": {"p50": round(percentile(server_ms, 0.50), 2), "p95": round(percentile(server_ms, 0.95), 2)} if server_ms else None,
        "rss_kib": {
            "first": rss[0][1],
            "last": rss[-1][1],
            "peak": max(y for _, y in rss),
            "slope_kib_per_edit_second_half": round(slope(half), 4) if len(half) >= 2 else None,
            "samples": rss,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=30_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flowsight-soak-") as directory:
        result = soak(Path(directory), args.edits)
    latency, rss = result["latency_ms"], result["rss_kib"]
    rows = [
        ("measure", "value"),
        ("edits", f"{result['edits']:,} in {result['seconds']} s"),
        ("edit → publish (client) p50 / p95 / p99 / max", f"{latency['p50']} / {latency['p95']} / {latency['p99']} / {latency['max']} ms"),
        ("p95 per tenth of the run", " ".join(str(v) for v in latency["p95_per_tenth"])),
        ("server time p50 / p95", f"{result['server_ms']['p50']} / {result['server_ms']['p95']} ms" if result["server_ms"] else "-"),
        ("RSS first / last / peak", f"{rss['first'] / 1024:.1f} / {rss['last'] / 1024:.1f} / {rss['peak'] / 1024:.1f} MiB"),
        ("RSS slope, second half", f"{rss['slope_kib_per_edit_second_half']} KiB/edit"),
        ("exit status after shutdown + exit", str(result["exit_status"])),
    ]
    print(table(rows))
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    (results / "soak.json").write_text(json.dumps(result, indent=2))
    print(f"wrote {results / 'soak.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
