#!/usr/bin/env python3
"""S3 benchmark: Hangar, moto_server, s3rver and nginx side by side on the same machine and bytes.

Starts Hangar (temp data dir, port 0), moto_server, s3rver (Node; installed with npm into a cache
dir if missing) and nginx (a throwaway instance with a temp config serving a temp dir with
sendfile: the ceiling for an HTTP GET, GET only), then drives each in turn with s3_load:

  * PUT and GET of 4 KiB objects: ops/s over 32 keep-alive connections, every request
    SigV4-signed with x-amz-content-sha256 = hex SHA-256 of the body, keys spread over 2,000
    objects (written once before the measured runs);
  * PUT and GET of 256 MiB objects: MB/s of wall-clock throughput, 2 parallel transfers (4 PUTs,
    8 GETs), bodies streamed (PUT signed with UNSIGNED-PAYLOAD so nobody hashes 256 MiB twice).

Every server gets the same objects (s3_load generates them deterministically; nginx serves them
as files written by `s3_load --op fill-dir`), and the first GET of every run is verified byte for
byte. Only one server is under load at a time. Prints a table with ratios and checks the bars of
issue 3 ("Performance"):

  * Hangar 4 KiB GET >= 15,000/s and >= 25x moto_server's,
  * Hangar 256 MiB GET throughput >= 50% of nginx's,
  * Hangar's peak RSS (VmHWM) over the whole run < 64 MiB.

Exit status is 0 whatever the figures, unless --strict (then 1 on any FAIL or request error).
Builds nothing: pass the binaries (defaults: the CMake build tree).

Usage: python3 bench/s3_bench.py [--duration 10] [--peer-duration 5] [--strict] [--json FILE]
"""

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time

import boto3
from botocore.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REGION = "us-east-1"
BUCKET = "bench"
KiB, MiB = 1024, 1024 * 1024
SERVERS = ("hangar", "moto", "s3rver", "nginx")
WORKLOADS = ("put4k", "get4k", "put256m", "get256m")
MIN_HANGAR_GET4K = 15_000
MIN_GET4K_RATIO_VS_MOTO = 25.0
MIN_GET256M_SHARE_OF_NGINX = 0.50
MAX_PEAK_RSS_MIB = 64
LOAD_TIMEOUT_SECONDS = 1800  # one s3_load run; a hung run is a failure, not a wait forever
DEFAULT_S3RVER_DIR = os.path.join(tempfile.gettempdir(), "hangar-bench-s3rver")

# The programs the benchmarks run, as options whose defaults are this tree's build.
PROGRAM_OPTIONS = {
    "hangar": (os.path.join(ROOT, "build", "hangar"), "hangar binary (default: build/hangar)"),
    "s3-load": (os.path.join(ROOT, "build", "bench", "s3_load"),
                "s3_load binary (default: build/bench/s3_load)"),
    "kms-load": (os.path.join(ROOT, "build", "bench", "kms_load"),
                 "kms_load binary (default: build/bench/kms_load)"),
    "moto-server": ("moto_server", "moto_server command"),
    "nginx": (shutil.which("nginx") or "/usr/sbin/nginx",
              "nginx binary (installed with apt-get if missing and we are root)"),
}


def add_program_options(parser, *names, hangar_args=True):
    """Adds --NAME for each program of PROGRAM_OPTIONS in `names` and, unless told not to,
    --hangar-arg (extra `hangar serve` arguments, repeatable)."""
    for name in names:
        default, help_text = PROGRAM_OPTIONS[name]
        parser.add_argument("--" + name, default=default, help=help_text)
    if hangar_args:
        parser.add_argument("--hangar-arg", action="append", default=[], metavar="ARG",
                            help="extra argument for `hangar serve` (repeatable), e.g. "
                                 "--hangar-arg=--worker-threads=8")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_program_options(p, "hangar", "s3-load", "moto-server", "nginx")
    p.add_argument("--s3rver-dir", default=DEFAULT_S3RVER_DIR,
                   help="npm prefix holding s3rver (installed there if missing; default "
                        f"{DEFAULT_S3RVER_DIR})")
    p.add_argument("--no-install", action="store_true",
                   help="fail instead of installing a missing s3rver or nginx")
    p.add_argument("--servers", default=",".join(SERVERS),
                   help="comma-separated subset of " + ",".join(SERVERS))
    p.add_argument("--workloads", default=",".join(WORKLOADS),
                   help="comma-separated subset of " + ",".join(WORKLOADS))
    p.add_argument("--connections", type=int, default=32, help="4 KiB runs: connections")
    p.add_argument("--objects", type=int, default=2000, help="4 KiB runs: distinct keys")
    p.add_argument("--duration", type=float, default=10.0, help="4 KiB runs: Hangar's seconds")
    p.add_argument("--peer-duration", type=float, default=5.0,
                   help="4 KiB runs: seconds for moto, s3rver and nginx")
    p.add_argument("--warmup", type=float, default=1.0, help="4 KiB runs: unmeasured lead-in")
    p.add_argument("--large-size", type=int, default=256 * MiB, help="large object size")
    p.add_argument("--large-parallel", type=int, default=2, help="large runs: parallel transfers")
    p.add_argument("--large-puts", type=int, default=4, help="large PUTs per server")
    p.add_argument("--large-gets", type=int, default=8, help="large GETs per server")
    p.add_argument("--load-threads", type=int, default=1, help="s3_load event-loop threads")
    p.add_argument("--data-root", default=None, help="where temp data dirs go (default: $TMPDIR)")
    p.add_argument("--json", metavar="FILE", help="also write every run's result to FILE")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when a bar fails or any request failed")
    args = p.parse_args()
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for s in args.servers:
        if s not in SERVERS:
            p.error(f"unknown server {s}; choose from {', '.join(SERVERS)}")
    for w in args.workloads:
        if w not in WORKLOADS:
            p.error(f"unknown workload {w}; choose from {', '.join(WORKLOADS)}")
    for path in (args.hangar, args.s3_load):
        if not os.access(path, os.X_OK):
            p.error(f"{path} is not an executable; build it first (ninja -C build hangar s3_load)")
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


# --- prerequisites --------------------------------------------------------------------------------

def ensure_s3rver(args):
    """The s3rver CLI under args.s3rver_dir, installed with npm if missing."""
    cli = os.path.join(args.s3rver_dir, "node_modules", "s3rver", "bin", "s3rver.js")
    if os.path.exists(cli):
        return cli
    if args.no_install:
        raise RuntimeError(f"s3rver not found in {args.s3rver_dir} (npm install --prefix "
                           f"{args.s3rver_dir} s3rver)")
    if not shutil.which("npm") or not shutil.which("node"):
        raise RuntimeError("s3rver needs node and npm (apt-get install nodejs npm)")
    os.makedirs(args.s3rver_dir, exist_ok=True)
    log(f"installing s3rver with npm into {args.s3rver_dir}")
    subprocess.run(["npm", "install", "--prefix", args.s3rver_dir, "--no-audit", "--no-fund",
                    "s3rver@3"], check=True, stdout=subprocess.DEVNULL)
    if not os.path.exists(cli):
        raise RuntimeError(f"npm installed s3rver but {cli} is missing")
    return cli


def ensure_nginx(args):
    """The nginx binary, installed from Debian's package if missing (needs root)."""
    if os.access(args.nginx, os.X_OK):
        return args.nginx
    if args.no_install:
        raise RuntimeError("nginx not found (apt-get install nginx)")
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError("nginx not found; install it: sudo apt-get install nginx")
    log("installing nginx with apt-get")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], env=env,
                      stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", "nginx"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    path = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.access(path, os.X_OK):
        raise RuntimeError("apt-get installed nginx but the binary is missing")
    return path


# --- servers ----------------------------------------------------------------------------------

class Server:
    """A server process under test: its endpoint and credentials."""

    def __init__(self, name, proc, port, access_key_id, secret_access_key, output, data_dir):
        self.name = name
        self.proc = proc
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.output = output
        self.data_dir = data_dir

    def s3(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=self.access_key_id,
                            aws_secret_access_key=self.secret_access_key,
                            config=Config(retries={"max_attempts": 1},
                                          s3={"addressing_style": "path"}))

    def pids(self):
        """The server process and its children (nginx's workers)."""
        pids = [self.proc.pid]
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                pids += [int(p) for p in f.read().split()]
        except OSError:
            pass
        return pids

    def cpu_seconds(self):
        """utime + stime of the process and its children (Linux /proc)."""
        total = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except OSError:
                pass
        return total / os.sysconf("SC_CLK_TCK")

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


def wait_until_answers(server, timeout=60):
    """Polls ListBuckets until the server answers (moto and s3rver print nothing reliable)."""
    deadline = time.monotonic() + timeout
    while True:
        if server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n" + "\n".join(server.output))
        try:
            server.s3().list_buckets()
            return
        except Exception:  # noqa: BLE001 - connection refused while it starts
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError(f"{server.name} did not answer within {timeout} s:\n" +
                                   "\n".join(server.output))
            time.sleep(0.1)


def launch_hangar(args, data_dir, name="hangar", extra_args=(), extra_env=None,
                  credentials=None):
    """`hangar serve` on a free port with `data_dir`; returns its Server once it listens.
    `credentials`: (access key id, secret) of the root, random by default."""
    if credentials is None:
        alphabet = string.ascii_uppercase + string.digits
        credentials = ("AKIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
                       secrets.token_urlsafe(30)[:40])
    access_key_id, secret_access_key = credentials
    env = dict(os.environ,
               HANGAR_ACCOUNT_ID="111122223333",
               HANGAR_ROOT_ACCESS_KEY_ID=access_key_id,
               HANGAR_ROOT_SECRET_ACCESS_KEY=secret_access_key,
               **(extra_env or {}))
    env.pop("HANGAR_DEV_CLOCK", None)
    proc = subprocess.Popen([args.hangar, "serve", "--data-dir", data_dir,
                             "--listen", "127.0.0.1:0", *extra_args, *args.hangar_arg],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    prefix = "Hangar listening on http://127.0.0.1:"
    early = []
    while True:
        line = proc.stdout.readline()
        if not line:
            proc.kill()
            raise RuntimeError("hangar did not start:\n" + "".join(early))
        if line.startswith(prefix):
            break
        early.append(line)  # log lines before the listening line
    output = []
    threading.Thread(target=drain, args=(proc.stdout, output), daemon=True).start()
    return Server(name, proc, int(line[len(prefix):].strip()), access_key_id, secret_access_key,
                  output, data_dir)


def start_hangar(args, root):
    server = launch_hangar(args, os.path.join(root, "hangar"))
    server.s3().create_bucket(Bucket=BUCKET)
    return server


def start_moto(args, root):
    port = free_port()
    proc = subprocess.Popen([args.moto_server, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    threading.Thread(target=drain, args=(proc.stdout, output), daemon=True).start()
    server = Server("moto", proc, port, "AKIAMOTOBENCH0000000", "moto-accepts-any-secret",
                    output, None)
    wait_until_answers(server)
    server.s3().create_bucket(Bucket=BUCKET)
    return server


def start_s3rver(args, root):
    cli = ensure_s3rver(args)
    data_dir = os.path.join(root, "s3rver")
    os.makedirs(data_dir)
    port = free_port()
    # Silent (no line per request) and path-style only; its fixed credentials are S3RVER/S3RVER
    # and it verifies SigV4 signatures.
    proc = subprocess.Popen(["node", cli, "-d", data_dir, "-a", "127.0.0.1", "-p", str(port),
                             "--silent", "--no-vhost-buckets"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    threading.Thread(target=drain, args=(proc.stdout, output), daemon=True).start()
    server = Server("s3rver", proc, port, "S3RVER", "S3RVER", output, data_dir)
    wait_until_answers(server)
    server.s3().create_bucket(Bucket=BUCKET)
    return server


NGINX_CONF = """\
daemon off;
worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 100000000;
  keepalive_timeout 120s;
  default_type application/octet-stream;
  client_body_temp_path {root}/client_body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  server {{
    listen 127.0.0.1:{port};
    root {docroot};
    location / {{ }}
  }}
}}
"""


def start_nginx(args, root):
    """A throwaway nginx on a free port serving docroot (filled by fill_nginx)."""
    nginx = ensure_nginx(args)
    prefix = os.path.join(root, "nginx")
    docroot = os.path.join(prefix, "docroot")
    os.makedirs(docroot)
    # Its workers may run as nobody: the path down to the files must be world-readable.
    for path in (root, prefix, docroot):
        os.chmod(path, 0o755)
    port = free_port()
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(root=prefix, port=port, docroot=docroot))
    proc = subprocess.Popen([nginx, "-p", prefix, "-c", conf],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    threading.Thread(target=drain, args=(proc.stdout, output), daemon=True).start()
    server = Server("nginx", proc, port, "AKIANGINXIGNORESAUTH", "nginx-ignores-the-signature",
                    output, docroot)
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise RuntimeError("nginx exited:\n" + "\n".join(output))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("nginx did not listen within 30 s")
            time.sleep(0.05)


STARTERS = {"hangar": start_hangar, "moto": start_moto, "s3rver": start_s3rver,
            "nginx": start_nginx}


# --- load -------------------------------------------------------------------------------------

def s3_load(args, server, op, size, prefix, objects, extra, label=None, check=True,
            bucket=BUCKET):
    """Runs s3_load once against `server`; returns its JSON result plus the server's CPU seconds.

    Used by sse_bench.py too (with its own buckets and SSE options in `extra`)."""
    cmd = [args.s3_load, "--host", "127.0.0.1", "--port", str(server.port), "--bucket", bucket,
           "--op", op, "--size", str(size), "--prefix", prefix, "--objects", str(objects),
           "--label", label or server.name, "--threads", str(args.load_threads), *extra]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=server.access_key_id,
               AWS_SECRET_ACCESS_KEY=server.secret_access_key)
    cpu_before = server.cpu_seconds()
    try:
        done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, timeout=LOAD_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"s3_load against {server.name} ({op} {size}) did not finish within "
                           f"{LOAD_TIMEOUT_SECONDS} s") from None
    if server.proc.poll() is not None:
        raise RuntimeError(f"{server.name} exited with {server.proc.returncode} during {op} "
                           f"{size}:\n" + "\n".join(server.output[-20:]))
    cpu_after = server.cpu_seconds()
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode == 2 or not lines:
        raise RuntimeError(f"s3_load failed against {server.name} ({op} {size}):\n{done.stderr}")
    result = json.loads(lines[-1])
    result["server_cpu_s"] = round(cpu_after - cpu_before, 3)
    log(f"  {done.stderr.strip()}  server_cpu={result['server_cpu_s']:.1f}s")
    if check and result["errors"]:
        log(f"  ({result['errors']} errors; first: {result['first_error']})")
    return result


def fill_nginx(args, server, workloads):
    """Writes the objects the GET runs read as files under nginx's docroot."""
    if "get4k" in workloads:
        subprocess.run([args.s3_load, "--op", "fill-dir", "--dir", server.data_dir, "--bucket",
                        BUCKET, "--size", str(4 * KiB), "--prefix", "small/", "--objects",
                        str(args.objects)], check=True)
    if "get256m" in workloads:
        subprocess.run([args.s3_load, "--op", "fill-dir", "--dir", server.data_dir, "--bucket",
                        BUCKET, "--size", str(args.large_size), "--prefix", "large/",
                        "--objects", str(args.large_puts)], check=True)


def run_server(args, server, results):
    name = server.name
    small = 4 * KiB
    duration = args.duration if name == "hangar" else args.peer_duration
    timed = ["--connections", str(args.connections), "--duration", str(duration),
             "--warmup", str(args.warmup)]
    wl = args.workloads
    if name == "nginx":
        fill_nginx(args, server, wl)
    elif "put4k" in wl or "get4k" in wl:
        # Every key once (unmeasured), so that GETs find all of them and PUTs overwrite.
        log(f"  {name}: writing {args.objects} objects of 4 KiB")
        s3_load(args, server, "put", small, "small/", args.objects,
                ["--connections", str(args.connections), "--requests", str(args.objects)],
                label=f"{name}-fill")
    if "put4k" in wl and name != "nginx":
        results[(name, "put4k")] = s3_load(args, server, "put", small, "small/", args.objects,
                                           timed)
    if "get4k" in wl:
        results[(name, "get4k")] = s3_load(args, server, "get", small, "small/", args.objects,
                                           timed + ["--verify"])
    large = ["--connections", str(args.large_parallel), "--timeout", "600"]
    if ("put256m" in wl or "get256m" in wl) and name != "nginx":
        results[(name, "put256m")] = s3_load(
            args, server, "put", args.large_size, "large/", args.large_puts,
            large + ["--requests", str(args.large_puts), "--unsigned-payload"])
    if "get256m" in wl:
        # The preflight GET of s3_load verifies one object byte for byte; the measured ones only
        # count (comparing would cost the generator CPU the server needs).
        results[(name, "get256m")] = s3_load(
            args, server, "get", args.large_size, "large/", args.large_puts,
            large + ["--requests", str(args.large_gets)])


# --- report -----------------------------------------------------------------------------------

def fmt_value(workload, r):
    if not r:
        return "-"
    if workload.endswith("4k"):
        return f"{r['rate']:,.0f}"
    return f"{r['mb_per_s']:,.0f}"


def value_of(workload, r):
    return r["rate"] if workload.endswith("4k") else r["mb_per_s"]


def labels(args):
    large = f"{args.large_size // MiB} MiB" if args.large_size >= MiB else f"{args.large_size} B"
    return {"put4k": "PUT 4 KiB (ops/s)", "get4k": "GET 4 KiB (ops/s)",
            "put256m": f"PUT {large} (MB/s)", "get256m": f"GET {large} (MB/s)"}


def report(args, results, peak_rss_kb, rss_kb):
    LABELS = labels(args)  # noqa: N806 - a constant for this report
    servers = [s for s in SERVERS if s in args.servers]
    peers = [s for s in servers if s != "hangar"]
    print()
    print(f"S3 benchmark on {os.cpu_count()} CPUs shared with the load generator. 4 KiB: "
          f"{args.connections} keep-alive connections, SigV4 per request, {args.objects} keys, "
          f"Hangar {args.duration:g} s, peers {args.peer_duration:g} s. "
          f"{args.large_size // MiB} MiB: {args.large_parallel} parallel transfers, "
          f"{args.large_puts} PUTs / {args.large_gets} GETs (wall-clock MB/s, 1 MB = 10^6 B).")
    label_width = max(len(v) for v in LABELS.values())
    header = f"{'workload':<{label_width}}" + "".join(f"{s:>11}" for s in servers)
    if "hangar" in servers:
        header += "".join(f"{'hangar/' + p:>15}" for p in peers)
    print(header)
    print("-" * len(header))
    for w in args.workloads:
        row = f"{LABELS[w]:<{label_width}}"
        for s in servers:
            row += f"{fmt_value(w, results.get((s, w))):>11}"
        h = results.get(("hangar", w))
        for p in peers if "hangar" in servers else []:
            r = results.get((p, w))
            ratio = "-"
            if h and r and value_of(w, r) > 0:
                x = value_of(w, h) / value_of(w, r)
                ratio = f"{x:.1f}x" if p != "nginx" else f"{100 * x:.0f}%"
            row += f"{ratio:>15}"
        print(row)
    print()
    print("latency p50 / p99 (ms), 4 KiB:")
    for w in ("put4k", "get4k"):
        if w not in args.workloads:
            continue
        cells = []
        for s in servers:
            r = results.get((s, w))
            if r:
                cells.append(f"{s} {r['p50_ms']:.2f} / {r['p99_ms']:.2f}")
        print(f"  {LABELS[w].split(' (')[0]}: " + ";  ".join(cells))
    errors = {k: r for k, r in results.items() if r["errors"]}
    if peak_rss_kb is not None:
        print(f"Hangar peak RSS (VmHWM) over the run: {peak_rss_kb / 1024:.1f} MiB "
              f"(RSS at the end {rss_kb / 1024:.1f} MiB)")

    bars = []
    h_get = results.get(("hangar", "get4k"))
    if h_get:
        bars.append((h_get["errors"] == 0 and h_get["rate"] >= MIN_HANGAR_GET4K,
                     f"Hangar GET 4 KiB >= {MIN_HANGAR_GET4K:,}/s: {h_get['rate']:,.0f}/s"))
        m_get = results.get(("moto", "get4k"))
        if m_get:
            ratio = h_get["rate"] / m_get["rate"] if m_get["rate"] > 0 else float("inf")
            bars.append((h_get["errors"] == 0 and m_get["errors"] == 0 and
                         ratio >= MIN_GET4K_RATIO_VS_MOTO,
                         f"Hangar GET 4 KiB >= {MIN_GET4K_RATIO_VS_MOTO:g}x moto: {ratio:.1f}x"))
    h_big = results.get(("hangar", "get256m"))
    n_big = results.get(("nginx", "get256m"))
    if h_big and n_big:
        share = h_big["mb_per_s"] / n_big["mb_per_s"] if n_big["mb_per_s"] > 0 else 0
        bars.append((h_big["errors"] == 0 and share >= MIN_GET256M_SHARE_OF_NGINX,
                     f"Hangar GET {args.large_size // MiB} MiB >= "
                     f"{100 * MIN_GET256M_SHARE_OF_NGINX:.0f}% of nginx: {100 * share:.0f}% "
                     f"({h_big['mb_per_s']:,.0f} vs {n_big['mb_per_s']:,.0f} MB/s)"))
    if peak_rss_kb is not None:
        bars.append((peak_rss_kb < MAX_PEAK_RSS_MIB * 1024,
                     f"Hangar peak RSS < {MAX_PEAK_RSS_MIB} MiB: {peak_rss_kb / 1024:.1f} MiB"))
    failures = 0
    for ok, text in bars:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
        failures += 0 if ok else 1
    if errors:
        print(f"FAIL  requests failed (a run with errors is a failed run):")
        for (name, w), r in errors.items():
            print(f"      {name} {w}: {r['errors']} errors, first: {r['first_error']}")
        failures += 1
    return bars, failures


def main():
    args = parse_args()
    root = tempfile.mkdtemp(prefix="hangar-s3-bench-", dir=args.data_root)
    results = {}  # (server, workload) -> s3_load result
    peak_rss_kb = rss_kb = None
    hangar = None
    try:
        # Hangar runs for the whole benchmark (its peak RSS covers everything); the peers one at
        # a time, each stopped before the next starts.
        if "hangar" in args.servers:
            hangar = start_hangar(args, root)
            log(f"hangar {hangar.endpoint} pid {hangar.proc.pid}")
        for name in args.servers:
            server = hangar if name == "hangar" else None
            try:
                if server is None:
                    server = STARTERS[name](args, root)
                    log(f"{name} {server.endpoint} pid {server.proc.pid}")
                run_server(args, server, results)
            finally:
                if server is not None and server is not hangar:
                    server.stop()
                    if server.data_dir:
                        shutil.rmtree(server.data_dir, ignore_errors=True)
        if hangar is not None:
            peak_rss_kb = hangar.status_kb("VmHWM")
            rss_kb = hangar.status_kb("VmRSS")
    finally:
        if hangar is not None:
            hangar.stop()
        shutil.rmtree(root, ignore_errors=True)

    bars, failures = report(args, results, peak_rss_kb, rss_kb)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cpus": os.cpu_count(), "hangar_peak_rss_kb": peak_rss_kb,
                       "runs": [dict(r, server=name, workload=w)
                                for (name, w), r in results.items()],
                       "bars": [{"pass": ok, "text": text} for ok, text in bars]}, f, indent=2)
    return 1 if args.strict and failures else 0


if __name__ == "__main__":
    sys.exit(main())
