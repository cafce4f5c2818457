#!/usr/bin/env python3
"""SSE benchmark: Hangar's encryption modes side by side with Ceph RGW (SSE-KMS) and nginx.

Runs the same workloads, with s3_load, against:

  * Hangar (temp data dir, port 0): one bucket per mode, each with its default encryption set by
    PutBucketEncryption (SSE-S3 = AES256; SSE-KMS = aws:kms + a key made with CreateKey, Bucket
    Key off; SSE-KMS + Bucket Key = the same key, BucketKeyEnabled true) and one bucket written
    and read with SSE-C headers (a fixed 32-byte key, its base64 and MD5);
  * Ceph RGW 16.2 (bench/ceph-rgw.sh: one mon, one bluestore OSD on a sparse file, radosgw with
    the SSE-KMS "testing" backend):
    SSE-KMS = x-amz-server-side-encryption: aws:kms + key id testkey-1 on every PUT; SSE-C = the
    same headers as for Hangar. RGW 16.2 has no SSE-S3 (its `rgw crypt default encryption key`
    answers no SSE header, so nothing would show a row was encrypted): Hangar's SSE-S3 rows have
    no RGW peer. RGW has no Bucket Keys: Hangar's SSE-KMS + Bucket Key rows are compared with
    RGW's SSE-KMS rows;
  * nginx (the same bytes as static files, sendfile on): the ceiling for a GET on this machine.

All three are started first and stay up to the end; one is under load at a time. Each workload
runs --repeat times (default 3), and every repetition goes through Hangar's modes, RGW's and
nginx in turn, so a change in the machine's background load during the run falls on all cells
alike; the median run of each cell is reported and the spread printed.

Workloads: PUT and GET of 4 KiB objects (ops/s, 32 keep-alive connections, SigV4 per request,
2,000 keys written once before the runs), of 64 MiB and of 256 MiB objects (wall-clock MB/s,
2 parallel transfers, 4 PUTs streamed with UNSIGNED-PAYLOAD, 8 GETs). 256 MiB runs Hangar only,
under SSE-KMS, SSE-S3 and SSE-C, and nginx. Every PUT and GET response must say it was
encrypted, and how (s3_load --expect-sse: the algorithm or SSE-C's customer algorithm; for KMS
modes --expect-kms-key-id and, with a Bucket Key, --expect-bucket-key); a response that does not
is a failed request. Every GET of 4 KiB is byte-compared with the object written; of the large
GETs, the first of each run.

Prints the figures and ratios, Hangar's KMS calls per workload (the delta of its own counters,
GET /_hangar/metrics) and checks the bars of issue 4 ("Performance"):

  * Hangar 256 MiB GET of an SSE-KMS object >= 45% of nginx's,
  * Hangar 4 KiB PUT into an SSE-KMS bucket with a Bucket Key >= 80% of the rate into SSE-S3,
  * Hangar ahead of RGW on every row they share (4 KiB and 64 MiB, PUT and GET; SSE-KMS,
    SSE-KMS + Bucket Key against RGW's SSE-KMS, SSE-C).

Exit status is 0 whatever the figures, unless --strict (then 1 on any FAIL or request error).
Builds nothing: pass the binaries (defaults: the CMake build tree). Needs root for RGW (Debian's
ceph packages are installed with apt-get by bench/ceph-rgw.sh when missing).

Usage: python3 bench/sse_bench.py [--duration 5] [--repeat 3] [--servers hangar,rgw,nginx]
"""

import argparse
import base64
import hashlib
import json
import re
import os
import secrets
import shutil
import signal
import statistics
import string
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_bench as sb  # noqa: E402 - the S3 benchmark's servers and s3_load runner

ROOT = sb.ROOT
KiB, MiB = sb.KiB, sb.MiB
SERVERS = ("hangar", "rgw", "nginx")
MODES = ("sse-s3", "sse-kms", "sse-kms-bk", "sse-c")
MODE_LABELS = {"sse-s3": "SSE-S3", "sse-kms": "SSE-KMS", "sse-kms-bk": "SSE-KMS + Bucket Key",
               "sse-c": "SSE-C"}
WORKLOADS = ("put4k", "get4k", "put64m", "get64m", "put256m", "get256m")
SIZES = {"4k": 4 * KiB, "64m": 64 * MiB, "256m": 256 * MiB}
PREFIXES = {"4k": "small/", "64m": "m64/", "256m": "m256/"}
MODES_256M = ("sse-kms", "sse-s3", "sse-c")  # the list; Hangar (and nginx) only
# RGW 16.2 has no SSE-S3 (Quincy added it, with Vault): its `rgw crypt default encryption key`
# encrypts at rest but answers no SSE header, so such a row could not show it was encrypted.
RGW_MODES = ("sse-kms", "sse-c")
RGW_PEER_MODE = {"sse-s3": None, "sse-kms": "sse-kms", "sse-kms-bk": "sse-kms", "sse-c": "sse-c"}
RGW_KMS_KEY = "testkey-1"  # a key of the testing backend (bench/ceph-rgw.sh)
NGINX_BUCKET = "bench"
MIN_GET256M_KMS_SHARE_OF_NGINX = 0.45
MIN_PUT4K_BUCKET_KEY_SHARE_OF_SSE_S3 = 0.80
# A fixed SSE-C key: 32 bytes, sent as base64 with its MD5 (s3_load computes the MD5).
SSE_C_KEY = base64.b64encode(hashlib.sha256(b"hangar sse_bench SSE-C key").digest()).decode()
CEPH_SCRIPT = os.path.join(ROOT, "bench", "ceph-rgw.sh")
RESULT_LINE = re.compile(r"^([a-z_]+)=(\S+)$")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sb.add_program_options(p, "hangar", "s3-load", "nginx")
    p.add_argument("--ceph-script", default=CEPH_SCRIPT,
                   help="script that starts and stops the Ceph cluster (default bench/ceph-rgw.sh)")
    p.add_argument("--no-install", action="store_true",
                   help="fail instead of installing a missing nginx or ceph")
    p.add_argument("--servers", default=",".join(SERVERS),
                   help="comma-separated subset of " + ",".join(SERVERS))
    p.add_argument("--modes", default=",".join(MODES),
                   help="comma-separated subset of " + ",".join(MODES))
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help="comma-separated subset of " + ",".join(WORKLOADS))
    p.add_argument("--connections", type=int, default=32, help="4 KiB runs: connections")
    p.add_argument("--objects", type=int, default=2000, help="4 KiB runs: distinct keys")
    p.add_argument("--duration", type=float, default=5.0, help="4 KiB runs: measured seconds")
    p.add_argument("--warmup", type=float, default=1.0, help="4 KiB runs: unmeasured lead-in")
    p.add_argument("--large-parallel", type=int, default=2, help="large runs: parallel transfers")
    p.add_argument("--large-puts", type=int, default=4, help="large runs: PUTs (= objects)")
    p.add_argument("--large-gets", type=int, default=8, help="large runs: GETs")
    p.add_argument("--repeat", type=int, default=3,
                   help="runs per cell, interleaved across servers and modes; the median is "
                        "reported and the spread printed")
    p.add_argument("--osd-size-gb", type=int, default=0,
                   help="RGW's sparse OSD file (default: sized for the run, at least 10)")
    p.add_argument("--load-threads", type=int, default=1, help="s3_load event-loop threads")
    p.add_argument("--data-root", default=None, help="where temp data goes (default: $TMPDIR)")
    p.add_argument("--json", metavar="FILE", help="also write every run's result to FILE")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when a bar fails or any request failed")
    args = p.parse_args()
    for name, allowed in (("servers", SERVERS), ("modes", MODES), ("workloads", WORKLOADS)):
        chosen = [v.strip() for v in getattr(args, name).split(",") if v.strip()]
        for v in chosen:
            if v not in allowed:
                p.error(f"unknown {name[:-1]} {v}; choose from {', '.join(allowed)}")
        setattr(args, name, [v for v in allowed if v in chosen])  # canonical order
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    for path in (args.hangar, args.s3_load):
        if not os.access(path, os.X_OK):
            p.error(f"{path} is not an executable; build it first (ninja -C build hangar s3_load)")
    args.moto_server = None  # s3_bench's runner reads these; unused here
    return args


log = sb.log


def random_credentials():
    alphabet = string.ascii_uppercase + string.digits
    return ("AKIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
            secrets.token_urlsafe(30)[:40])


# --- RGW --------------------------------------------------------------------------------------

class PidProcess:
    """The little of subprocess.Popen that s3_bench's runner uses, for a daemon we did not fork."""

    def __init__(self, pid):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None and not os.path.exists(f"/proc/{self.pid}"):
            self.returncode = -1
        return self.returncode


class RgwServer(sb.Server):
    """radosgw of a cluster started by bench/ceph-rgw.sh; its CPU counts mon, OSD and radosgw."""

    def __init__(self, args, ceph_dir, port, access_key_id, secret_access_key):
        self.args = args
        self.ceph_dir = ceph_dir
        with open(os.path.join(ceph_dir, "run", "client.rgw.a.pid")) as f:
            proc = PidProcess(int(f.read().strip()))
        super().__init__("rgw", proc, port, access_key_id, secret_access_key,
                         [f"(logs under {ceph_dir}/log)"], None)

    def pids(self):
        pids = []
        run = os.path.join(self.ceph_dir, "run")
        for name in sorted(os.listdir(run)):
            if name.endswith(".pid"):
                with open(os.path.join(run, name)) as f:
                    pids.append(int(f.read().strip()))
        return pids

    def status_kb(self, field):
        return None

    def stop(self):
        stop_ceph(self.args, self.ceph_dir)


def ceph_env(args, ceph_dir, **extra):
    env = dict(os.environ, CEPH_DIR=ceph_dir, NO_INSTALL="1" if args.no_install else "0")
    env.update({k: str(v) for k, v in extra.items()})
    return env


def stop_ceph(args, ceph_dir):
    if os.path.exists(ceph_dir):
        subprocess.run(["bash", args.ceph_script, "stop"], env=ceph_env(args, ceph_dir),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_rgw(args, root):
    if os.geteuid() != 0:
        raise RuntimeError("RGW needs root (bench/ceph-rgw.sh runs the Ceph daemons and apt-get)")
    ceph_dir = os.path.join(root, "ceph")
    access_key_id, secret_access_key = random_credentials()
    osd_gb = args.osd_size_gb or max(10, 2 + 3 * 2 * args.repeat * args.large_puts * 64 // 1024)
    env = ceph_env(args, ceph_dir, RGW_PORT=sb.free_port(), MON_PORT=sb.free_port(),
                   MON_PORT_V1=sb.free_port(), OSD_SIZE_GB=osd_gb, DEFAULT_ENCRYPTION=0,
                   WITH_MGR=0, QUIET_RGW_LOG=1, ACCESS_KEY=access_key_id,
                   SECRET_KEY=secret_access_key)
    log(f"rgw: starting a Ceph cluster in {ceph_dir} (OSD {osd_gb} GiB sparse)")
    done = subprocess.run(["bash", args.ceph_script, "start"], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    if done.returncode != 0:
        stop_ceph(args, ceph_dir)
        raise RuntimeError(f"{args.ceph_script} start failed:\n{done.stderr[-3000:]}")
    # The script's result lines are `name=value`; the daemons may print other lines around them.
    info = dict(m.groups() for m in map(RESULT_LINE.match, done.stdout.splitlines()) if m)
    port = int(info["endpoint"].rsplit(":", 1)[1])
    log(f"rgw: up in {info.get('startup_seconds', '?')} s on port {port}")
    return RgwServer(args, ceph_dir, port, info["access_key"], info["secret_key"])


# --- Hangar -----------------------------------------------------------------------------------

def hangar_bucket(mode):
    return f"sse-{mode}"


def admin_endpoint(server):
    """The operator listener (metrics) from the banner's "  admin: http://HOST:PORT" line, which
    the drain thread may still be reading."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in list(server.output):
            m = re.search(r"^\s*admin:\s+(http://\S+)", line)
            if m:
                return m.group(1)
        time.sleep(0.05)
    raise RuntimeError("hangar printed no admin listener line")


def kms_counts(server):
    with urllib.request.urlopen(admin_endpoint(server) + "/_hangar/metrics", timeout=10) as r:
        return json.load(r)["kms_calls"]


def setup_hangar(args, server):
    """One bucket per mode with its default encryption; returns the KMS key's ARN."""
    kms = boto3_client(server, "kms")
    arn = kms.create_key(Description="sse_bench")["KeyMetadata"]["Arn"]
    s3 = server.s3()
    for mode in args.modes:
        bucket = hangar_bucket(mode)
        s3.create_bucket(Bucket=bucket)
        if mode in ("sse-kms", "sse-kms-bk"):
            rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                           "KMSMasterKeyID": arn},
                    "BucketKeyEnabled": mode == "sse-kms-bk"}
        else:  # SSE-S3; the SSE-C bucket too (SSE-C is per request)
            rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        s3.put_bucket_encryption(Bucket=bucket,
                                 ServerSideEncryptionConfiguration={"Rules": [rule]})
    return arn


def boto3_client(server, service):
    import boto3
    from botocore.config import Config
    return boto3.client(service, endpoint_url=server.endpoint, region_name=sb.REGION,
                        aws_access_key_id=server.access_key_id,
                        aws_secret_access_key=server.secret_access_key,
                        config=Config(retries={"max_attempts": 1}))


def describe_object(server, bucket, key, mode):
    """What HeadObject says about an object's encryption, as one short string."""
    extra = {}
    if mode == "sse-c":
        extra = {"SSECustomerAlgorithm": "AES256",
                 "SSECustomerKey": base64.b64decode(SSE_C_KEY)}
    h = server.s3().head_object(Bucket=bucket, Key=key, **extra)
    parts = [h.get("ServerSideEncryption") or "-"]
    if h.get("SSEKMSKeyId"):
        parts.append(h["SSEKMSKeyId"].rsplit("/", 1)[-1] if "/" in h["SSEKMSKeyId"] else
                     h["SSEKMSKeyId"])
    if h.get("BucketKeyEnabled"):
        parts.append("BucketKey")
    if h.get("SSECustomerAlgorithm"):
        parts.append("SSE-C " + h["SSECustomerAlgorithm"])
    return " ".join(parts)


# --- runs -------------------------------------------------------------------------------------

def sse_options(server, mode):
    """s3_load options for `mode` on a server: request headers and what every response must say
    (every PUT and GET answer is checked, so every row shows its objects really were encrypted)."""
    if mode == "sse-c":  # per request on both servers
        return ["--sse-c-key", SSE_C_KEY, "--expect-sse", "SSE-C"]
    if server.name == "hangar":
        # The bucket default does the work: no SSE headers on the requests.
        if mode == "sse-s3":
            return ["--expect-sse", "AES256"]
        opts = ["--expect-sse", "aws:kms", "--expect-kms-key-id", server.kms_key_arn]
        return opts + (["--expect-bucket-key"] if mode == "sse-kms-bk" else [])
    if server.name == "rgw" and mode == "sse-kms":
        return ["--sse", "aws:kms", "--sse-kms-key-id", RGW_KMS_KEY, "--expect-sse", "aws:kms",
                "--expect-kms-key-id", RGW_KMS_KEY]
    if server.name == "nginx":
        return []  # plaintext static files: the ceiling, not a peer
    raise ValueError(f"no SSE options for {server.name} {mode}")


def request_count(r):
    return r.get("issued", r["requests"]) + r.get("preflight", 0)


def value_of(workload, r):
    return r["rate"] if workload.endswith("4k") else r["mb_per_s"]


class Runner:
    """Runs one s3_load per call and keeps every result; finish() reduces each cell
    (server, workload, mode) to its median run."""

    def __init__(self, args):
        self.args = args
        self.runs = {}      # (server, workload, mode) -> [s3_load result, one per repetition]
        self.results = {}   # (server, workload, mode) -> median result, + "values"
        self.kms = {}       # (workload, mode) -> {"requests": n, op: calls}
        self.checks = []    # (server, mode, key, HeadObject summary)

    def run(self, server, workload, mode, bucket, record=True, rep=0):
        """One run; `record` False = unmeasured (a large PUT that only writes the GETs' objects)."""
        args = self.args
        op = workload[:3]
        size_key = workload[3:]
        size = SIZES[size_key]
        prefix = PREFIXES[size_key]
        if size_key == "4k":
            objects = args.objects
            extra = ["--connections", str(args.connections), "--duration", str(args.duration),
                     "--warmup", str(args.warmup)]
            if op == "get":
                extra.append("--verify")
        else:
            objects = args.large_puts
            count = args.large_puts if op == "put" else args.large_gets
            extra = ["--connections", str(args.large_parallel), "--timeout", "600",
                     "--requests", str(count)]
            if op == "put":
                extra.append("--unsigned-payload")
        extra += sse_options(server, mode)
        before = kms_counts(server) if server.name == "hangar" else None
        label = f"{server.name}-{mode}" + (f"#{rep + 1}" if record and args.repeat > 1 else "")
        r = sb.s3_load(args, server, op, size, prefix, objects, extra, label=label, bucket=bucket)
        if before is not None:
            self.add_kms(workload if record else "fill" + size_key, mode, r, before,
                         kms_counts(server))
        if record:
            self.runs.setdefault((server.name, workload, mode), []).append(r)
        return r

    def finish(self):
        for cell, runs in self.runs.items():
            workload = cell[1]
            ordered = sorted(runs, key=lambda r: value_of(workload, r))
            median = dict(ordered[(len(ordered) - 1) // 2])  # the lower middle for an even count
            median["values"] = [value_of(workload, r) for r in runs]
            median["errors_all_runs"] = sum(r["errors"] for r in runs)
            median["first_error_any_run"] = next((r["first_error"] for r in runs if r["errors"]),
                                                 "")
            self.results[cell] = median

    def add_kms(self, workload, mode, r, before, after):
        cell = self.kms.setdefault((workload, mode), {"requests": 0})
        cell["requests"] += request_count(r)
        for op, n in after.items():
            delta = n - before.get(op, 0)
            if delta:
                cell[op] = cell.get(op, 0) + delta

    def fill_small(self, server, mode, bucket):
        """Writes every 4 KiB key once (unmeasured) so that GETs find them and PUTs overwrite."""
        args = self.args
        before = kms_counts(server) if server.name == "hangar" else None
        log(f"  {server.name} {mode}: writing {args.objects} objects of 4 KiB")
        r = sb.s3_load(args, server, "put", 4 * KiB, PREFIXES["4k"], args.objects,
                       ["--connections", str(args.connections), "--requests", str(args.objects)]
                       + sse_options(server, mode), label=f"{server.name}-{mode}-fill",
                       bucket=bucket)
        if r["errors"]:
            raise RuntimeError(f"filling {bucket} on {server.name} failed: {r['first_error']}")
        if before is not None:
            self.add_kms("fill4k", mode, r, before, kms_counts(server))


def modes_for(args, server_name, workload):
    if server_name == "rgw":
        if workload.endswith("256m"):
            return []  # the issue compares RGW on 4 KiB and 64 MiB
        return [m for m in RGW_MODES if m in args.modes or
                (m == "sse-kms" and "sse-kms-bk" in args.modes)]
    if workload.endswith("256m"):
        return [m for m in MODES_256M if m in args.modes]
    return list(args.modes)


def run_all(args, runner, s3_servers, nginx):
    """Every workload, size by size. All servers are up; one is under load at a time. The
    repetitions of a workload interleave the servers and modes (Hangar's modes, RGW's, nginx; then
    again), so that a change in the machine's background load during the run (other builds)
    falls on every cell alike instead of on whichever ran last.

    s3_servers: [(server, bucket_of_mode)] for Hangar and RGW; nginx: a server or None."""
    wl = args.workloads
    for size_key in ("4k", "64m", "256m"):
        put, get = "put" + size_key, "get" + size_key
        if put not in wl and get not in wl:
            continue
        active = [(srv, bucket_of) for srv, bucket_of in s3_servers
                  if modes_for(args, srv.name, put)]
        if size_key == "4k":
            for srv, bucket_of in active:
                for mode in modes_for(args, srv.name, put):
                    runner.fill_small(srv, mode, bucket_of(mode))
        if nginx and get in wl:
            objects = args.objects if size_key == "4k" else args.large_puts
            subprocess.run([args.s3_load, "--op", "fill-dir", "--dir", nginx.data_dir, "--bucket",
                            NGINX_BUCKET, "--size", str(SIZES[size_key]), "--prefix",
                            PREFIXES[size_key], "--objects", str(objects)], check=True)
        for workload in (put, get):
            measured = workload in wl
            # Large GETs need the objects: their PUT runs (measured or not) write them.
            if not measured and not (workload == put and get in wl):
                continue
            for rep in range(args.repeat if measured else 1):
                for srv, bucket_of in active:
                    for mode in modes_for(args, srv.name, workload):
                        runner.run(srv, workload, mode, bucket_of(mode), record=measured,
                                   rep=rep)
                if nginx and workload == get:
                    runner.run(nginx, workload, "plain", NGINX_BUCKET, rep=rep)
        for srv, bucket_of in active:
            for mode in modes_for(args, srv.name, put):
                key = PREFIXES[size_key] + "00000000"
                runner.checks.append((srv.name, mode, key,
                                      describe_object(srv, bucket_of(mode), key, mode)))


# --- report -----------------------------------------------------------------------------------

def labels():
    return {"put4k": "PUT 4 KiB (ops/s)", "get4k": "GET 4 KiB (ops/s)",
            "put64m": "PUT 64 MiB (MB/s)", "get64m": "GET 64 MiB (MB/s)",
            "put256m": "PUT 256 MiB (MB/s)", "get256m": "GET 256 MiB (MB/s)"}


def fmt(workload, r):
    if not r:
        return "-"
    v = value_of(workload, r)
    return f"{v:,.0f}" + ("!" if r.get("errors_all_runs") else "")


def report(args, runner, hangar_rss_kb):
    res = runner.results
    LABELS = labels()  # noqa: N806
    print()
    print(f"SSE benchmark on {os.cpu_count()} CPUs shared with the load generator. 4 KiB: "
          f"{args.connections} keep-alive connections, SigV4 per request, {args.objects} keys, "
          f"{args.duration:g} s per run after {args.warmup:g} s warm-up. 64/256 MiB: "
          f"{args.large_parallel} parallel transfers, {args.large_puts} PUTs / "
          f"{args.large_gets} GETs (wall-clock MB/s, 1 MB = 10^6 B). "
          + (f"Median of {args.repeat} runs per cell." if args.repeat > 1 else "One run per cell."))
    print("RGW 16.2: SSE-KMS = aws:kms with the testing backend's testkey-1 per request; "
          "its key derivation is in-process (no KMS calls to count); no SSE-S3 in RGW 16.2 (-); "
          "* = RGW has no Bucket Keys, compared with its SSE-KMS figure. nginx serves the "
          "plaintext (GET ceiling).")
    lw = max(len(v) for v in LABELS.values())
    mw = max(len(v) for v in MODE_LABELS.values())
    header = (f"{'workload':<{lw}}  {'mode':<{mw}}{'hangar':>10}{'rgw':>10}{'nginx':>10}"
              f"{'hangar/rgw':>12}{'hangar/nginx':>14}")
    print(header)
    print("-" * len(header))
    shared_rows = []  # (text, ok)
    for w in args.workloads:
        for i, mode in enumerate(modes_for(args, "hangar", w)):
            h = res.get(("hangar", w, mode))
            rgw_mode = RGW_PEER_MODE[mode]
            g = res.get(("rgw", w, rgw_mode))
            n = res.get(("nginx", w, "plain")) if w.startswith("get") else None
            rgw_cell = fmt(w, g) + ("*" if g and rgw_mode != mode else "")
            ratio_rgw = ratio_nginx = "-"
            if h and g and value_of(w, g) > 0:
                x = value_of(w, h) / value_of(w, g)
                ratio_rgw = f"{x:.1f}x" if x >= 1.95 else f"{x:.2f}x"
                ok = x > 1 and not h.get("errors_all_runs") and not g.get("errors_all_runs")
                shared_rows.append((f"{LABELS[w].split(' (')[0]} {MODE_LABELS[mode]}: "
                                    f"{fmt(w, h)} vs {fmt(w, g)} ({ratio_rgw})", ok))
            if h and n and value_of(w, n) > 0:
                ratio_nginx = f"{100 * value_of(w, h) / value_of(w, n):.0f}%"
            first = LABELS[w] if i == 0 else ""
            print(f"{first:<{lw}}  {MODE_LABELS[mode]:<{mw}}{fmt(w, h):>10}{rgw_cell:>10}"
                  f"{fmt(w, n):>10}{ratio_rgw:>12}{ratio_nginx:>14}")
    if args.repeat > 1:
        print()
        print(f"run-to-run spread over {args.repeat} runs (min .. max):")
        for (server, w, mode), r in sorted(res.items(), key=lambda kv: (
                args.workloads.index(kv[0][1]), kv[0][0], kv[0][2])):
            vals = r["values"]
            spread = 100 * (max(vals) - min(vals)) / max(statistics.median(vals), 1e-9)
            print(f"  {LABELS[w]:<{lw}} {server:<6} {MODE_LABELS.get(mode, mode):<{mw}} "
                  f"{min(vals):>10,.0f} .. {max(vals):<10,.0f} ({spread:.0f}% of the median)")

    print()
    print("latency p50 / p99 (ms), 4 KiB:")
    for w in ("put4k", "get4k"):
        for mode in modes_for(args, "hangar", w) if w in args.workloads else []:
            cells = []
            for server, m in (("hangar", mode), ("rgw", RGW_PEER_MODE[mode]),
                              ("nginx", "plain")):
                r = res.get((server, w, m))
                if r and (server != "nginx" or w == "get4k"):
                    cells.append(f"{server} {r['p50_ms']:.2f} / {r['p99_ms']:.2f}")
            print(f"  {LABELS[w].split(' (')[0]:<10} {MODE_LABELS[mode]:<{mw}}  " +
                  ";  ".join(cells))

    if runner.kms:
        print()
        print("Hangar KMS calls per workload (delta of GET /_hangar/metrics over the runs; "
              "requests = every request sent: warm-up, measured, preflight):")
        fills = {"fill4k": "fill 4 KiB", "fill64m": "fill 64 MiB", "fill256m": "fill 256 MiB"}
        order = [w for size in ("4k", "64m", "256m") for w in ("fill" + size, "put" + size,
                                                               "get" + size)]
        kh = (f"  {'workload':<14}{'mode':<{mw + 2}}{'requests':>10}{'GenerateDataKey':>17}"
              f"{'Decrypt':>10}{'other':>8}{'calls/request':>15}")
        print(kh)
        for (w, mode), cell in sorted(runner.kms.items(), key=lambda kv: (
                order.index(kv[0][0]) if kv[0][0] in order else 99, MODES.index(kv[0][1]))):
            gdk = cell.get("GenerateDataKey", 0)
            dec = cell.get("Decrypt", 0)
            other = sum(v for k, v in cell.items()
                        if k not in ("requests", "GenerateDataKey", "Decrypt"))
            per = (gdk + dec + other) / cell["requests"] if cell["requests"] else 0
            name = fills.get(w) or LABELS.get(w, w).split(" (")[0]
            print(f"  {name:<14}{MODE_LABELS[mode]:<{mw + 2}}{cell['requests']:>10,}{gdk:>17,}"
                  f"{dec:>10,}{other:>8,}{per:>15.4f}")
    if runner.checks:
        print()
        print("HeadObject of one object per bucket (server, mode: algorithm, key, bucket key):")
        for server, mode, key, text in runner.checks:
            print(f"  {server:<6} {MODE_LABELS[mode]:<{mw}}  {key}: {text}")
    if hangar_rss_kb:
        print(f"Hangar peak RSS (VmHWM) over its runs: {hangar_rss_kb / 1024:.1f} MiB")

    bars = []
    h = res.get(("hangar", "get256m", "sse-kms"))
    n = res.get(("nginx", "get256m", "plain"))
    if h and n:
        share = value_of("get256m", h) / value_of("get256m", n) if n["mb_per_s"] > 0 else 0
        bars.append((not h["errors_all_runs"] and share >= MIN_GET256M_KMS_SHARE_OF_NGINX,
                     f"Hangar GET 256 MiB SSE-KMS >= {100 * MIN_GET256M_KMS_SHARE_OF_NGINX:.0f}% "
                     f"of nginx: {100 * share:.0f}% ({h['mb_per_s']:,.0f} vs "
                     f"{n['mb_per_s']:,.0f} MB/s)"))
    bk = res.get(("hangar", "put4k", "sse-kms-bk"))
    s3 = res.get(("hangar", "put4k", "sse-s3"))
    if bk and s3:
        share = bk["rate"] / s3["rate"] if s3["rate"] > 0 else 0
        bars.append((not bk["errors_all_runs"] and not s3["errors_all_runs"] and
                     share >= MIN_PUT4K_BUCKET_KEY_SHARE_OF_SSE_S3,
                     f"Hangar PUT 4 KiB SSE-KMS + Bucket Key >= "
                     f"{100 * MIN_PUT4K_BUCKET_KEY_SHARE_OF_SSE_S3:.0f}% of SSE-S3: "
                     f"{100 * share:.0f}% ({bk['rate']:,.0f} vs {s3['rate']:,.0f}/s)"))
    if shared_rows:
        behind = [text for text, ok in shared_rows if not ok]
        bars.append((not behind, f"Hangar ahead of RGW on every shared row: "
                                 f"{len(shared_rows) - len(behind)}/{len(shared_rows)}" +
                     ("" if not behind else "; behind: " + "; ".join(behind))))
    failures = 0
    for ok, text in bars:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
        failures += 0 if ok else 1
    errors = {k: r for k, r in res.items() if r.get("errors_all_runs")}
    if errors:
        print("FAIL  requests failed (a run with errors is a failed run; '!' in the table):")
        for (server, w, mode), r in errors.items():
            print(f"      {server} {w} {mode}: {r['errors_all_runs']} errors, first: "
                  f"{r['first_error_any_run']}")
        failures += 1
    return bars, failures


# --- main -------------------------------------------------------------------------------------

def main():
    args = parse_args()
    # A SIGTERM (a CI timeout, `kill`) unwinds like Ctrl-C, so the finally blocks stop Hangar,
    # nginx and the Ceph daemons and remove the temp data.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        return run(args)
    except RuntimeError as e:  # a server or the cluster did not start, a load run broke
        log(f"sse_bench: {e}")
        return 2


def run(args):
    root = tempfile.mkdtemp(prefix="hangar-sse-bench-", dir=args.data_root)
    runner = Runner(args)
    hangar_rss_kb = None
    started = time.monotonic()
    hangar = rgw = nginx = None
    try:
        s3_servers = []
        if "hangar" in args.servers:
            hangar = sb.start_hangar(args, root)
            log(f"hangar {hangar.endpoint} pid {hangar.proc.pid}")
            hangar.kms_key_arn = setup_hangar(args, hangar)
            s3_servers.append((hangar, hangar_bucket))
        if "rgw" in args.servers and any(not w.endswith("256m") for w in args.workloads):
            rgw = start_rgw(args, root)
            s3 = rgw.s3()
            for mode in modes_for(args, "rgw", "put4k"):
                s3.create_bucket(Bucket=f"rgw-{mode}")
            s3_servers.append((rgw, lambda mode: f"rgw-{mode}"))
        if "nginx" in args.servers and any(w.startswith("get") for w in args.workloads):
            nginx = sb.start_nginx(args, root)
            log(f"nginx {nginx.endpoint} pid {nginx.proc.pid}")
        run_all(args, runner, s3_servers, nginx)
        if hangar:
            hangar_rss_kb = hangar.status_kb("VmHWM")
    finally:
        for server in (hangar, nginx, rgw):
            if server:
                server.stop()
        stop_ceph(args, os.path.join(root, "ceph"))
        shutil.rmtree(root, ignore_errors=True)
    log(f"runs took {time.monotonic() - started:.0f} s")
    runner.finish()

    bars, failures = report(args, runner, hangar_rss_kb)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpus": os.cpu_count(), "hangar_peak_rss_kb": hangar_rss_kb,
                       "runs": [dict(r, server=s, workload=w, mode=m)
                                for (s, w, m), r in runner.results.items()],
                       "kms_calls": [dict(c, workload=w, mode=m)
                                     for (w, m), c in runner.kms.items()],
                       "checks": [{"server": s, "mode": m, "key": k, "head": t}
                                  for s, m, k, t in runner.checks],
                       "bars": [{"pass": ok, "text": text} for ok, text in bars]}, f, indent=2)
    return 1 if args.strict and failures else 0


if __name__ == "__main__":
    sys.exit(main())
