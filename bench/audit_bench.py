#!/usr/bin/env python3
"""Audit benchmark: what the audit trail costs, Hangar with `--audit on` against `--audit off`.

Starts two Hangar servers on the same machine (fresh temp data dirs, random root credentials,
port 0), one with `--audit on` (every request recorded, and answered only once its record is
durable) and one with `--audit off`, and drives the same two workloads against each:

  * KMS GenerateDataKey (KeySpec AES_256) on a symmetric key: kms_load, 64 keep-alive
    connections, every request SigV4-signed (as kms_bench.py);
  * S3 GET of 4 KiB objects: s3_load, 32 keep-alive connections over 2,000 keys written once
    before the measured runs, every body verified (as s3_bench.py's GET 4 KiB).

Only one server is under load at a time (the idle one costs nothing). With --repeat N each
workload runs N times per server, on and off alternating (the order flips every repetition, so
a slow-down on the machine falls on both alike), and the run with the median rate is reported.

For the audit-on server it also measures what the trail costs on disk: the size of everything
under DATA_DIR/audit before and after each measured run (log files, digests), divided by the
requests the server answered in that run (the records the run added to the log files: warm-up,
preflight and stragglers included), as bytes per request; the client-side request counts are
printed beside it as a cross-check (every request leaves exactly one record).

Checks the bar: with the audit trail on, each workload runs at >= 85% of its rate with it off.
Exit status is 0 whatever the figures, unless --strict (then 1 on any FAIL or request error).
Builds nothing: pass the binaries (defaults: the CMake build tree).

Usage: python3 bench/audit_bench.py [--duration 10] [--repeat 1] [--strict] [--json FILE]
"""

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kms_bench as kb  # noqa: E402 - the KMS benchmark's kms_load runner and median
import s3_bench as sb  # noqa: E402 - the S3 benchmark's Hangar starter and s3_load runner

REGION = sb.REGION
KiB = sb.KiB
MODES = ("on", "off")
WORKLOADS = ("kms-gdk", "s3-get4k")
LABELS = {"kms-gdk": "KMS GenerateDataKey", "s3-get4k": "S3 GET 4 KiB"}
DEFAULT_CONNECTIONS = {"kms-gdk": 64, "s3-get4k": 32}  # kms_bench.py's and s3_bench.py's
MIN_SHARE_OF_OFF = 0.85
SETTLE_SECONDS = 5  # how long to wait for the trail to stop growing after a run
EXPECTED_LOG = re.compile(r"the audit trail is off")  # the warning --audit off prints


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sb.add_program_options(p, "hangar", "kms-load", "s3-load")
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help="comma-separated subset of " + ",".join(WORKLOADS))
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each run")
    p.add_argument("--connections", type=int, default=None,
                   help="connections of every run (default: 64 for KMS, 32 for S3, as "
                        "kms_bench.py and s3_bench.py)")
    p.add_argument("--objects", type=int, default=2000, help="S3: distinct 4 KiB keys")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per workload and server, on/off alternating; median reported")
    p.add_argument("--load-threads", type=int, default=1, help="load generator event loops")
    p.add_argument("--data-root", default=None, help="where temp data dirs go (default: $TMPDIR)")
    p.add_argument("--json", metavar="FILE", help="also write every run's result to FILE")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when a bar fails or any request failed")
    args = p.parse_args()
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for w in args.workloads:
        if w not in WORKLOADS:
            p.error(f"unknown workload {w}; choose from {', '.join(WORKLOADS)}")
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    needed = [args.hangar]
    needed += [args.kms_load] if "kms-gdk" in args.workloads else []
    needed += [args.s3_load] if "s3-get4k" in args.workloads else []
    for path in needed:
        if not os.access(path, os.X_OK):
            p.error(f"{path} is not an executable; build it first "
                    "(ninja -C build hangar kms_load s3_load)")
    return args


log = sb.log


def connections(args, workload):
    return args.connections or DEFAULT_CONNECTIONS[workload]


# --- the trail on disk ------------------------------------------------------------------------

def written_size(path):
    """A file's size, but for the live log file only its records: the trail zero-fills a log
    file ahead of its records (cut when the file is closed), so its st_size runs ahead."""
    size = os.stat(path).st_size
    if not path.endswith(".jsonl") or size == 0:
        return size
    with open(path, "rb") as f:
        f.seek(max(0, size - 1))
        if f.read(1) != b"\0":
            return size
        low, high = 0, size  # records, then zeros: find where the zeros start
        while low < high:
            mid = (low + high) // 2
            f.seek(mid)
            if f.read(1) == b"\0":
                high = mid
            else:
                low = mid + 1
        return low


class TrailSnapshot:
    """Sizes of every file under DATA_DIR/audit at one moment (records only, for log files)."""

    def __init__(self, audit_dir):
        self.audit_dir = audit_dir
        self.sizes = {}
        for dirpath, _, files in os.walk(audit_dir):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    self.sizes[path] = written_size(path)
                except FileNotFoundError:  # a temp file renamed away meanwhile
                    pass

    def total(self):
        return sum(self.sizes.values())


def records_between(before, after):
    """Records (lines) the log files gained from `before` to `after`: for each log file, the
    newlines in the bytes it grew by (a file that appeared counts whole)."""
    records = 0
    for path, size in after.sizes.items():
        if not path.endswith(".jsonl"):
            continue
        start = before.sizes.get(path, 0)
        if size <= start:
            continue
        with open(path, "rb") as f:
            f.seek(start)
            left = size - start
            while left > 0:
                chunk = f.read(min(left, 8 * 1024 * 1024))
                if not chunk:
                    break
                records += chunk.count(b"\n")
                left -= len(chunk)
    return records


def settled_snapshot(audit_dir):
    """The trail once it has stopped growing: a request answered after the load generator gave
    up on it is still recorded; wait (briefly) for such stragglers."""
    deadline = time.monotonic() + SETTLE_SECONDS
    last = TrailSnapshot(audit_dir)
    while time.monotonic() < deadline:
        time.sleep(0.2)
        now = TrailSnapshot(audit_dir)
        if now.sizes == last.sizes:
            return now
        last = now
    return last


# --- servers ----------------------------------------------------------------------------------

def start(args, mode, root):
    """Hangar with --audit <mode> on its own data dir (bucket `bench` created), plus a KMS key."""
    own_root = os.path.join(root, f"audit-{mode}")
    os.makedirs(own_root)
    start_args = argparse.Namespace(**vars(args))
    start_args.hangar_arg = ["--audit", mode, *args.hangar_arg]
    server = sb.start_hangar(start_args, own_root)
    server.name = f"audit-{mode}"
    server.audit_dir = os.path.join(server.data_dir, "audit")
    kms = boto3.client("kms", endpoint_url=server.endpoint, region_name=REGION,
                       aws_access_key_id=server.access_key_id,
                       aws_secret_access_key=server.secret_access_key,
                       config=Config(retries={"max_attempts": 1}))
    server.key_id = kms.create_key(Description=f"audit_bench {mode}")["KeyMetadata"]["KeyId"]
    log(f"hangar --audit {mode}: {server.endpoint} pid {server.proc.pid}, key {server.key_id}")
    return server


def fill(args, server):
    """Every 4 KiB key once (unmeasured), as s3_bench.py does before its GET run."""
    log(f"  {server.name}: writing {args.objects} objects of 4 KiB")
    result = sb.s3_load(args, server, "put", 4 * KiB, "small/", args.objects,
                        ["--connections", str(connections(args, "s3-get4k")),
                         "--requests", str(args.objects)], label=f"{server.name}-fill")
    if result["errors"]:
        raise RuntimeError(f"{server.name}: writing the objects failed: {result['first_error']}")


def measure(args, server, workload):
    """One measured run; for the audit-on server also the trail's growth over it."""
    before = TrailSnapshot(server.audit_dir) if server.audit else None
    if workload == "kms-gdk":
        run_args = argparse.Namespace(**vars(args))
        run_args.connections = connections(args, workload)
        result = kb.run_load(run_args, server, "GenerateDataKey", args.duration)
        # kms_load reports the measured requests only; its preflight is one more.
        result["client_requests"] = result["requests"] + 1
        result["client_requests_exact"] = False  # warm-up and stragglers are not reported
    else:
        result = sb.s3_load(args, server, "get", 4 * KiB, "small/", args.objects,
                            ["--connections", str(connections(args, workload)),
                             "--duration", str(args.duration), "--warmup", str(args.warmup),
                             "--verify"])
        result["client_requests"] = result["issued"] + result["preflight"]
        result["client_requests_exact"] = True
    if server.proc.poll() is not None:
        raise RuntimeError(f"{server.name} exited with {server.proc.returncode} during "
                           f"{workload}:\n" + "\n".join(server.output[-20:]))
    if before is not None:
        after = settled_snapshot(server.audit_dir)
        result["trail_bytes"] = after.total() - before.total()
        result["trail_records"] = records_between(before, after)
        if result["trail_records"]:
            result["bytes_per_request"] = result["trail_bytes"] / result["trail_records"]
    result["workload"] = workload
    result["mode"] = server.mode
    return result


def median_run(runs):
    """kms_bench.py's median (the slower middle run for an even count, errors summed) and the
    trail's figures summed over every run."""
    chosen = kb.median_run(runs)
    if any("trail_bytes" in r for r in runs):
        chosen["trail_bytes_all"] = sum(r.get("trail_bytes", 0) for r in runs)
        chosen["trail_records_all"] = sum(r.get("trail_records", 0) for r in runs)
        chosen["client_requests_all"] = sum(r["client_requests"] for r in runs)
    return chosen


def odd_log_lines(server):
    """Warnings and errors the server logged (its last 50 lines are kept), the expected
    `--audit off` warning aside."""
    return [line for line in server.output
            if re.search(r"\[(warning|error|critical)\]", line) and not EXPECTED_LOG.search(line)]


# --- report -----------------------------------------------------------------------------------

def fmt_lat(r):
    return f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}"


def report(args, results):
    print()
    conns = ", ".join(f"{LABELS[w]} {connections(args, w)}" for w in args.workloads)
    print(f"Audit benchmark on {os.cpu_count()} CPUs shared with the load generator: "
          f"--audit on vs off, {args.duration:g} s per run (+{args.warmup:g} s warm-up), "
          f"{args.repeat} run(s) per cell, median reported; connections: {conns}")
    header = (f"{'workload':<20} {'on req/s':>10} {'off req/s':>10} {'on/off':>7}   "
              f"{'on p50/p99 ms':>14}   {'off p50/p99 ms':>14}   {'B/request':>9}   {'errors':>6}")
    print(header)
    print("-" * len(header))
    bars = []
    for w in args.workloads:
        on, off = results.get(("on", w)), results.get(("off", w))
        if not on or not off:
            continue
        share = on["rate"] / off["rate"] if off["rate"] > 0 else 0.0
        per_req = "-"
        if on.get("trail_records_all"):
            per_req = f"{on['trail_bytes_all'] / on['trail_records_all']:,.0f}"
        errors = on["errors"] + off["errors"]
        print(f"{LABELS[w]:<20} {on['rate']:>10,.0f} {off['rate']:>10,.0f} {share:>7.1%}   "
              f"{fmt_lat(on):>14}   {fmt_lat(off):>14}   {per_req:>9}   {errors:>6}")
        ok = errors == 0 and share >= MIN_SHARE_OF_OFF
        bars.append((ok, f"{LABELS[w]} with the audit trail on >= {MIN_SHARE_OF_OFF:.0%} of off: "
                         f"{share:.1%} ({on['rate']:,.0f} vs {off['rate']:,.0f}/s)"))
    if args.repeat > 1:
        print("rates of every run (req/s): " + ";  ".join(
            f"{LABELS[w]} {m} " + ", ".join(f"{x:,.0f}" for x in results[(m, w)]["all_rates"])
            for w in args.workloads for m in MODES if (m, w) in results))

    print()
    print("trail growth (audit on; all files under DATA_DIR/audit, summed over the runs):")
    for w in args.workloads:
        on = results.get(("on", w))
        if not on or "trail_bytes_all" not in on:
            continue
        recs, client = on["trail_records_all"], on["client_requests_all"]
        check = "= " if on["client_requests_exact"] else ">= "
        per = on["trail_bytes_all"] / recs if recs else float("nan")
        print(f"  {LABELS[w]:<20} {on['trail_bytes_all'] / 1e6:,.1f} MB for {recs:,} records "
              f"({per:,.0f} B/request; client-side request count {client:,}, records should be "
              f"{check}that)")
        consistent = recs == client if on["client_requests_exact"] else recs >= client
        if not consistent:
            print(f"  ! {LABELS[w]}: {recs:,} records for {client:,} requests sent")

    failures = 0
    for ok, text in bars:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
        failures += 0 if ok else 1
    errors = {k: r for k, r in results.items() if r["errors"]}
    if errors:
        print("FAIL  requests failed (a run with errors is a failed run):")
        for (mode, w), r in errors.items():
            print(f"      audit {mode} {LABELS[w]}: {r['errors']} errors, first: "
                  f"{r['first_error']}")
        failures += 1
    return bars, failures


def main():
    args = parse_args()
    root = tempfile.mkdtemp(prefix="hangar-audit-bench-", dir=args.data_root)
    runs = {}  # (mode, workload) -> [result, ...]
    servers = {}
    odd = {}
    try:
        for mode in MODES:
            server = start(args, mode, root)
            server.mode = mode
            server.audit = mode == "on"
            servers[mode] = server
            if "s3-get4k" in args.workloads:
                fill(args, server)
        for rep in range(args.repeat):
            order = MODES if rep % 2 == 0 else tuple(reversed(MODES))
            for w in args.workloads:
                for mode in order:
                    log(f"run {rep + 1}/{args.repeat}: {LABELS[w]}, audit {mode}")
                    runs.setdefault((mode, w), []).append(measure(args, servers[mode], w))
        off_dir = servers["off"].audit_dir
        if os.path.isdir(off_dir) and TrailSnapshot(off_dir).total() > 0:
            log(f"note: the --audit off server wrote {TrailSnapshot(off_dir).total()} bytes "
                "under its audit directory")
    finally:
        for mode, server in servers.items():
            server.stop()
            odd[mode] = odd_log_lines(server)
        shutil.rmtree(root, ignore_errors=True)

    results = {k: median_run(v) for k, v in runs.items()}
    bars, failures = report(args, results)
    for mode, lines in odd.items():
        if lines:
            print(f"note: hangar --audit {mode} logged warnings/errors (last 50 lines kept):")
            for line in lines:
                print(f"      {line}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpus": os.cpu_count(), "duration": args.duration, "warmup": args.warmup,
                       "repeat": args.repeat, "min_share_of_off": MIN_SHARE_OF_OFF,
                       "runs": [r for v in runs.values() for r in v],
                       "medians": [dict(r, mode=m, workload=w) for (m, w), r in results.items()],
                       "server_warnings": odd,
                       "bars": [{"pass": ok, "text": text} for ok, text in bars]}, f, indent=2)
    return 1 if args.strict and failures else 0


if __name__ == "__main__":
    sys.exit(main())
