#!/usr/bin/env python3
"""KMS benchmark: Hangar and moto_server side by side on the same machine and workload.

Starts Hangar (temp data dir, port 0) and moto_server (a free port), creates a symmetric key on
each with boto3, then drives GenerateDataKey, Encrypt and Decrypt against each server with
kms_load (64 keep-alive connections, every request SigV4-signed) and prints both rates, the ratio,
p50/p99 latency and Hangar's peak RSS, and checks the bars of issue 2:

  * Hangar >= 20,000 GenerateDataKey/s (the load generator shares the machine), and
  * Hangar >= 30x moto_server's GenerateDataKey rate.

The servers run one at a time (the idle one costs nothing), so each gets the machine minus the
load generator. Exit status is 0 whatever the figures, unless --strict (then 1 on any FAIL or any
request error). Builds nothing: pass the binaries (defaults: the CMake build tree).

With --policies (issue 5, "Performance") it also measures GenerateDataKey as an IAM user with
three attached managed policies against a key whose policy is the console's split between key
administrators and key users, and checks that rate is within 15% of the root's rate on a key with
the default policy (both go through the same policy engine; the root's is the cheapest path).
The two are measured alternately (at least 3 runs each, medians compared).

Usage: python3 bench/kms_bench.py [--duration 10] [--moto-duration 5] [--strict] [--json FILE]
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import threading
import time

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OPS = ("GenerateDataKey", "Encrypt", "Decrypt")
REGION = "us-east-1"
MIN_HANGAR_GDK_RATE = 20_000
MIN_RATIO = 30.0
MAX_POLICY_SLOWDOWN = 0.15


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hangar", default=os.path.join(ROOT, "build", "hangar"),
                   help="hangar binary (default: build/hangar)")
    p.add_argument("--kms-load", default=os.path.join(ROOT, "build", "bench", "kms_load"),
                   help="kms_load binary (default: build/bench/kms_load)")
    p.add_argument("--moto-server", default="moto_server", help="moto_server command")
    p.add_argument("--ops", default=",".join(OPS), help="comma-separated subset of " + ",".join(OPS))
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--duration", type=float, default=10.0, help="seconds measured per Hangar run")
    p.add_argument("--moto-duration", type=float, default=5.0,
                   help="seconds measured per moto run (it serves only hundreds per second)")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured seconds before each run")
    p.add_argument("--repeat", type=int, default=1,
                   help="runs per op and server; the median rate is reported (noisy machines)")
    p.add_argument("--load-threads", type=int, default=1, help="kms_load event-loop threads")
    p.add_argument("--skip-moto", action="store_true", help="measure Hangar only (no ratio)")
    p.add_argument("--policies", action="store_true",
                   help="also run GenerateDataKey as a user with realistic policies (issue 5)")
    p.add_argument("--json", metavar="FILE", help="also write every run's result to FILE")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when a bar fails or any request failed")
    args = p.parse_args()
    args.ops = [op.strip() for op in args.ops.split(",") if op.strip()]
    for op in args.ops:
        if op not in OPS:
            p.error(f"unknown op {op}; choose from {', '.join(OPS)}")
    for path in (args.hangar, args.kms_load):
        if not os.access(path, os.X_OK):
            p.error(f"{path} is not an executable; build it first "
                    "(ninja -C build hangar kms_load with -DHANGAR_BUILD_BENCH=ON)")
    return args


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def drain(stream, sink):
    """Keeps a child's pipe from filling up; remembers the last lines for error messages."""
    for line in iter(stream.readline, ""):
        sink.append(line.rstrip("\n"))
        del sink[:-50]


class Server:
    """A server process under test: its endpoint, credentials and a key to use."""

    def __init__(self, name, proc, port, access_key_id, secret_access_key, output):
        self.name = name
        self.proc = proc
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.output = output
        self.key_id = None

    def kms(self):
        return boto3.client("kms", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=self.access_key_id,
                            aws_secret_access_key=self.secret_access_key,
                            config=Config(retries={"max_attempts": 1}))

    def create_key(self):
        meta = self.kms().create_key(Description=f"kms_bench {time.time():.0f}")["KeyMetadata"]
        self.key_id = meta["KeyId"]

    def cpu_seconds(self):
        """utime + stime of the process (Linux /proc)."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status_kb(self, field):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_hangar(binary, data_dir):
    alphabet = string.ascii_uppercase + string.digits
    access_key_id = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
    secret_access_key = secrets.token_urlsafe(30)[:40]
    env = dict(os.environ,
               HANGAR_ACCOUNT_ID="111122223333",
               HANGAR_ROOT_ACCESS_KEY_ID=access_key_id,
               HANGAR_ROOT_SECRET_ACCESS_KEY=secret_access_key)
    env.pop("HANGAR_DEV_CLOCK", None)
    proc = subprocess.Popen([binary, "serve", "--data-dir", data_dir, "--listen", "127.0.0.1:0"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    first = proc.stdout.readline().strip()
    prefix = "Hangar listening on http://127.0.0.1:"
    if not first.startswith(prefix):
        rest = proc.stdout.read() if proc.poll() is not None else ""
        proc.kill()
        raise RuntimeError(f"hangar did not start: {first}\n{rest}")
    output = []
    threading.Thread(target=drain, args=(proc.stdout, output), daemon=True).start()
    return Server("hangar", proc, int(first[len(prefix):]), access_key_id, secret_access_key,
                  output)


def start_moto(command):
    port = free_port()
    proc = subprocess.Popen([command, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    threading.Thread(target=drain, args=(proc.stdout, output), daemon=True).start()
    server = Server("moto", proc, port, "AKIAMOTOBENCH0000000", "moto-accepts-any-secret", output)
    # moto prints nothing reliable before it serves: wait until it answers an API call.
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError("moto_server exited:\n" + "\n".join(output))
        try:
            server.kms().list_keys(Limit=1)
            return server
        except Exception:  # connection refused while it starts
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("moto_server did not answer within 60 s")
            time.sleep(0.1)


def setup_policy_user(server):
    """A key user with three attached managed policies (KMS use, S3 read, a guard rail denying key
    deletion) and a key whose policy splits administrators from users as the console writes it.
    Returns a Server-like view of `server` signed as that user, on that key."""
    iam = boto3.client("iam", endpoint_url=server.endpoint, region_name=REGION,
                       aws_access_key_id=server.access_key_id,
                       aws_secret_access_key=server.secret_access_key)
    account = "111122223333"
    user = iam.create_user(UserName="bench-key-user")["User"]["Arn"]
    admin = iam.create_user(UserName="bench-key-admin")["User"]["Arn"]
    root = f"arn:aws:iam::{account}:root"
    key_policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": root},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
         "Principal": {"AWS": admin},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
                    "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
                    "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
                    "kms:CancelKeyDeletion"], "Resource": "*"},
        {"Sid": "Allow use of the key", "Effect": "Allow", "Principal": {"AWS": user},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                    "kms:DescribeKey"], "Resource": "*"},
        {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
         "Principal": {"AWS": user}, "Action": ["kms:CreateGrant", "kms:ListGrants",
                                                 "kms:RevokeGrant"], "Resource": "*",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}]}
    key_arn = server.kms().create_key(Description="kms_bench policies",
                                      Policy=json.dumps(key_policy))["KeyMetadata"]["Arn"]
    identity_policies = {
        "kms-use": {"Version": "2012-10-17", "Statement": [
            {"Sid": "UseTheKey", "Effect": "Allow",
             "Action": ["kms:GenerateDataKey*", "kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
             "Resource": key_arn,
             "Condition": {"StringEquals": {"aws:RequestedRegion": REGION}}}]},
        "s3-read": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"],
             "Resource": ["arn:aws:s3:::telemetry", "arn:aws:s3:::telemetry/*"]}]},
        "no-key-deletion": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"],
             "Resource": "*"}]},
    }
    for name, doc in identity_policies.items():
        arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(doc))["Policy"]["Arn"]
        iam.attach_user_policy(UserName="bench-key-user", PolicyArn=arn)
    key = iam.create_access_key(UserName="bench-key-user")["AccessKey"]
    view = Server("hangar-user", server.proc, server.port, key["AccessKeyId"],
                  key["SecretAccessKey"], server.output)
    view.key_id = key_arn
    return view


def run_load(args, server, op, duration):
    cmd = [args.kms_load, "--host", "127.0.0.1", "--port", str(server.port),
           "--key-id", server.key_id, "--op", op, "--label", server.name,
           "--connections", str(args.connections), "--threads", str(args.load_threads),
           "--duration", str(duration), "--warmup", str(args.warmup)]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=server.access_key_id,
               AWS_SECRET_ACCESS_KEY=server.secret_access_key)
    cpu_before = server.cpu_seconds()
    done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cpu_after = server.cpu_seconds()
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode == 2 or not lines:
        raise RuntimeError(f"kms_load failed against {server.name} ({op}):\n{done.stderr}")
    result = json.loads(lines[-1])
    result["server_cpu_s"] = round(cpu_after - cpu_before, 3)
    log(f"  {done.stderr.strip()}  server_cpu={result['server_cpu_s']:.1f}s")
    return result


def median_run(runs):
    """The run with the median rate, the slower middle one for an even count (its latencies
    travel with it); errors are summed over all runs."""
    ordered = sorted(runs, key=lambda r: r["rate"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["errors"] = sum(r["errors"] for r in runs)
    chosen["all_rates"] = [r["rate"] for r in runs]
    return chosen


def fmt_rate(r):
    return f"{r['rate']:,.0f}" if r else "-"


def fmt_lat(r):
    return f"{r['p50_ms']:.2f} / {r['p99_ms']:.2f}" if r else "-"


def main():
    args = parse_args()
    data_dir = tempfile.mkdtemp(prefix="hangar-bench-")
    servers = []
    results = {}  # (server, op) -> result
    try:
        hangar = start_hangar(args.hangar, data_dir)
        servers.append(hangar)
        hangar.create_key()
        log(f"hangar {hangar.endpoint} pid {hangar.proc.pid}, key {hangar.key_id}")
        moto = None
        if not args.skip_moto:
            moto = start_moto(args.moto_server)
            servers.append(moto)
            moto.create_key()
            log(f"moto   {moto.endpoint} pid {moto.proc.pid}, key {moto.key_id}")

        for op in args.ops:
            for server, duration in ((hangar, args.duration), (moto, args.moto_duration)):
                if server is None:
                    continue
                runs = [run_load(args, server, op, duration) for _ in range(args.repeat)]
                results[(server.name, op)] = median_run(runs)
        if args.policies:
            user_view = setup_policy_user(hangar)
            log(f"hangar as IAM user {user_view.access_key_id} with 3 policies, key {user_view.key_id}")
            # Root and user runs alternate, so load from elsewhere falls on both alike.
            root_runs, user_runs = [], []
            for _ in range(max(args.repeat, 3)):
                root_runs.append(run_load(args, hangar, "GenerateDataKey", args.duration))
                user_runs.append(run_load(args, user_view, "GenerateDataKey", args.duration))
            results[("hangar-root-paired", "GenerateDataKey")] = median_run(root_runs)
            results[("hangar-user", "GenerateDataKey")] = median_run(user_runs)
        peak_rss_kb = hangar.status_kb("VmHWM")
        rss_kb = hangar.status_kb("VmRSS")
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    # Report.
    print()
    print(f"KMS benchmark: {args.connections} keep-alive connections, SigV4-signed, "
          f"{os.cpu_count()} CPUs shared with the load generator; "
          f"Hangar {args.duration:g} s per op, moto {args.moto_duration:g} s per op")
    header = (f"{'op':<16} {'hangar req/s':>13} {'moto req/s':>11} {'ratio':>7}   "
              f"{'hangar p50/p99 ms':>18}   {'moto p50/p99 ms':>18}   {'errors':>6}")
    print(header)
    print("-" * len(header))
    for op in args.ops:
        h = results.get(("hangar", op))
        m = results.get(("moto", op))
        ratio = f"{h['rate'] / m['rate']:.1f}x" if h and m and m["rate"] > 0 else "-"
        errors = sum(r["errors"] for r in (h, m) if r)
        print(f"{op:<16} {fmt_rate(h):>13} {fmt_rate(m):>11} {ratio:>7}   {fmt_lat(h):>18}   "
              f"{fmt_lat(m):>18}   {errors:>6}")
    print(f"Hangar peak RSS (VmHWM): {peak_rss_kb / 1024:.1f} MiB "
          f"(RSS at the end {rss_kb / 1024:.1f} MiB)")

    # Bars (issue 2, "Performance").
    failures = 0
    gdk_h = results.get(("hangar", "GenerateDataKey"))
    gdk_m = results.get(("moto", "GenerateDataKey"))
    bars = []
    if gdk_h:
        ok = gdk_h["errors"] == 0 and gdk_h["rate"] >= MIN_HANGAR_GDK_RATE
        bars.append((ok, f"Hangar GenerateDataKey >= {MIN_HANGAR_GDK_RATE:,}/s: "
                         f"{gdk_h['rate']:,.0f}/s"))
        if gdk_m:
            ratio = gdk_h["rate"] / gdk_m["rate"] if gdk_m["rate"] > 0 else float("inf")
            ok = gdk_h["errors"] == 0 and gdk_m["errors"] == 0 and ratio >= MIN_RATIO
            bars.append((ok, f"Hangar GenerateDataKey >= {MIN_RATIO:g}x moto: {ratio:.1f}x"))
    gdk_u = results.get(("hangar-user", "GenerateDataKey"))
    gdk_h = results.get(("hangar-root-paired", "GenerateDataKey"), gdk_h)
    if gdk_h and gdk_u:
        print(f"GenerateDataKey as root on a default-policy key:             {gdk_h['rate']:,.0f}/s")
        print(f"GenerateDataKey as a user with 3 policies, console key policy: {gdk_u['rate']:,.0f}/s "
              f"({gdk_u['rate'] / gdk_h['rate']:.1%}), p50/p99 {fmt_lat(gdk_u)} ms")
        ok = gdk_u["errors"] == 0 and gdk_u["rate"] >= (1 - MAX_POLICY_SLOWDOWN) * gdk_h["rate"]
        bars.append((ok, f"GenerateDataKey with realistic policies within "
                         f"{MAX_POLICY_SLOWDOWN:.0%} of the root's rate: "
                         f"{gdk_u['rate'] / gdk_h['rate']:.1%}"))
    for ok, text in bars:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
        failures += 0 if ok else 1
    request_errors = sum(r["errors"] for r in results.values())
    if request_errors:
        print(f"FAIL  {request_errors} requests failed (a run with errors is a failed run); "
              "first errors:")
        for (name, op), r in results.items():
            if r["errors"]:
                print(f"      {name} {op}: {r['first_error']}")
        failures += 1

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"connections": args.connections, "cpus": os.cpu_count(),
                       "hangar_peak_rss_kb": peak_rss_kb,
                       "runs": [dict(r, server=name) for (name, _), r in results.items()],
                       "bars": [{"pass": ok, "text": text} for ok, text in bars]}, f, indent=2)
    return 1 if args.strict and failures else 0


if __name__ == "__main__":
    sys.exit(main())
