#!/usr/bin/env python3
"""Cluster mode benchmark (issue 12): three Hangar nodes on PostgreSQL and Ceph RADOS against the
embedded default, and RADOS throughput through Hangar against `rados bench` on the same Ceph.

Starts, in a temp dir and all on this machine:
  * a throwaway PostgreSQL 15 and a one-host Ceph (the project's scripts/postgres.sh and
    scripts/ceph.sh: one monitor, one memstore OSD);
  * one embedded Hangar (SQLite and files in its data directory);
  * three cluster nodes (--metadata, --blobs, one root key) behind HAProxy, which sends each request
    round-robin to the next node, as a load balancer in front of a cluster would.
Then drives the embedded server and the cluster in turn with s3_load (bench/s3_bench.py's runs):
4 KiB PUT and GET over 32 keep-alive connections, SigV4 per request, 2,000 keys; 64 MiB PUT and
GET, 2 parallel transfers, MB/s of wall-clock throughput (1 MB = 10^6 B). Last, `rados bench`
writes and reads 4 MiB objects, 16 in flight, in a pool of its own. Prints every figure with the
ratios cluster / embedded and Hangar-on-RADOS / rados bench. No bars: the issue asks for the
figures and what limits them (bench/README.md, "Cluster mode").
Usage: python3 bench/cluster_bench.py [--duration 5] [--json FILE]
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile

import s3_bench as sb

SCRIPTS = os.path.join(sb.ROOT, "scripts")
NODES = 3
MiB = sb.MiB
WORKLOADS = ("put4k", "get4k", "put256m", "get256m")  # s3_bench's names; large = --large-size
LABELS = {"put4k": "PUT 4 KiB (ops/s)", "get4k": "GET 4 KiB (ops/s)",
          "put256m": "PUT 64 MiB (MB/s)", "get256m": "GET 64 MiB (MB/s)"}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sb.add_program_options(p, "hangar", "s3-load")
    p.add_argument("--duration", type=float, default=5.0, help="4 KiB runs: measured seconds")
    p.add_argument("--rados-seconds", type=int, default=10, help="each rados bench run")
    p.add_argument("--json", metavar="FILE", help="also write every run's result to FILE")
    args = p.parse_args()
    # What s3_bench.run_server reads.
    args.connections, args.objects, args.warmup = 32, 2000, 1.0
    args.peer_duration = args.duration
    args.large_size, args.large_parallel, args.large_puts, args.large_gets = 64 * MiB, 2, 8, 8
    args.load_threads = 1
    args.workloads = list(WORKLOADS)
    return args


def script(name, command, directory):
    env = dict(os.environ, HANGAR_POSTGRES_DIR=directory, HANGAR_CEPH_DIR=directory)
    done = subprocess.run(["bash", os.path.join(SCRIPTS, name), command], env=env,
                          capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{name} {command}: {done.stderr}")
    return done.stdout


def start_front(root, nodes):
    """HAProxy, round-robin per request over `nodes`; returns (process, port)."""
    port = sb.free_port()
    config = os.path.join(root, "haproxy.cfg")
    servers = "".join(f"    server node{i} 127.0.0.1:{n.port}\n" for i, n in enumerate(nodes))
    with open(config, "w") as f:
        f.write(f"global\n    maxconn 2000\ndefaults\n    mode http\n    timeout connect 5s\n"
                f"    timeout client 15m\n    timeout server 15m\nfrontend hangar\n"
                f"    bind 127.0.0.1:{port}\n    default_backend nodes\nbackend nodes\n"
                f"    balance roundrobin\n{servers}")
    proc = subprocess.Popen([shutil.which("haproxy") or "/usr/sbin/haproxy", "-f", config, "-db"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, port


class Cluster(sb.Server):
    """The cluster as s3_load sees it: HAProxy's port; CPU is the nodes' together."""

    def __init__(self, nodes, front, port):
        first = nodes[0]
        super().__init__("cluster", first.proc, port, first.access_key_id,
                         first.secret_access_key, first.output, first.data_dir)
        self.nodes, self.front = nodes, front

    def cpu_seconds(self):
        return sum(n.cpu_seconds() for n in self.nodes)

    def stop(self):
        self.front.kill()
        self.front.wait()
        for n in self.nodes:
            n.stop()


def rados_bench(conf, seconds):
    """`rados bench` write then seq, 4 MiB objects, 16 in flight; MB/s (10^6 B) of each."""
    pool = "radosbench"
    base = ["-c", conf, "--id", "admin"]
    subprocess.run(["ceph", *base, "osd", "pool", "create", pool, "8"], check=True,
                   capture_output=True, timeout=120)
    figures = {}
    for mode, extra in (("write", ["-b", str(4 * MiB), "--no-cleanup"]), ("seq", [])):
        done = subprocess.run(["rados", *base, "-p", pool, "bench", str(seconds), mode, "-t", "16",
                               *extra, "--format", "json"],
                              capture_output=True, text=True, timeout=seconds * 10 + 120)
        if done.returncode != 0:
            raise RuntimeError(f"rados bench {mode}: {done.stderr}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        figures[mode] = float(result["bandwidth"]) * MiB / 1e6  # rados bench counts 2^20 B
    return figures


def main():
    args = parse_args()
    root = tempfile.mkdtemp(prefix="hangar-cluster-bench-")
    pg_dir, ceph_dir = os.path.join(root, "pg"), os.path.join(root, "ceph")
    os.chmod(root, 0o755)  # scripts/postgres.sh runs the server as `postgres` when we are root
    servers, results = [], {}
    try:
        uri = script("postgres.sh", "start", pg_dir).strip().splitlines()[-1]
        script("ceph.sh", "start", ceph_dir)
        conf = os.path.join(ceph_dir, "ceph.conf")
        credentials = ("AKIACLUSTERBENCH0001", "cluster-bench-secret-0123456789abcdefghij")

        sb.log("embedded: one node, SQLite and files")
        embedded = sb.launch_hangar(args, os.path.join(root, "embedded"), "embedded",
                                    credentials=credentials)
        servers.append(embedded)
        embedded.s3().create_bucket(Bucket=sb.BUCKET)

        sb.log(f"cluster: {NODES} nodes on PostgreSQL and Ceph, behind HAProxy")
        root_key = base64.b64encode(os.urandom(32)).decode()
        blobs = f"rados://hangar-bench?conf={conf}&id=hangar"
        nodes = []
        for i in range(NODES):
            nodes.append(sb.launch_hangar(args, os.path.join(root, f"node{i}"), f"node{i}",
                                          ["--metadata", uri, "--blobs", blobs],
                                          {"HANGAR_ROOT_KEY": root_key}, credentials))
        front, port = start_front(root, nodes)
        cluster = Cluster(nodes, front, port)
        servers.append(cluster)
        sb.wait_until_answers(cluster)
        cluster.s3().create_bucket(Bucket=sb.BUCKET)

        for server in (embedded, cluster):
            sb.log(f"{server.name}:")
            sb.run_server(args, server, results)
        sb.log("rados bench: 4 MiB objects, 16 in flight")
        rados = rados_bench(conf, args.rados_seconds)
    finally:
        for server in servers:
            server.stop()
        for name, directory in (("ceph.sh", ceph_dir), ("postgres.sh", pg_dir)):
            try:
                script(name, "stop", directory)
            except Exception as e:  # noqa: BLE001 - report and go on cleaning up
                sb.log(f"{name} stop: {e}")
        shutil.rmtree(root, ignore_errors=True)

    print()
    print(f"Cluster mode on {os.cpu_count()} CPUs: {NODES} nodes + HAProxy + PostgreSQL + Ceph "
          "(1 memstore OSD) + the load generator, all on this machine.")
    print(f"{'workload':<20} {'embedded':>10} {'cluster':>10} {'cluster/embedded':>17}")
    errors = []
    for w in WORKLOADS:
        e, c = results.get(("embedded", w)), results.get(("cluster", w))
        ratio = sb.value_of(w, c) / sb.value_of(w, e) if e and c and sb.value_of(w, e) else 0
        print(f"{LABELS[w]:<20} {sb.fmt_value(w, e):>10} {sb.fmt_value(w, c):>10} "
              f"{ratio:>16.2f}x")
        for name, r in (("embedded", e), ("cluster", c)):
            if r and r["errors"]:
                errors.append(f"{name} {w}: {r['errors']} errors, first: {r['first_error']}")
    print()
    print(f"{'RADOS':<20} {'rados bench':>12} {'via Hangar':>11} {'Hangar/rados':>13}")
    for mode, w, label in (("write", "put256m", "write (MB/s)"), ("seq", "get256m", "read (MB/s)")):
        via = sb.value_of(w, results[("cluster", w)])
        print(f"{label:<20} {rados[mode]:>12,.0f} {via:>11,.0f} {via / rados[mode]:>12.2f}x")
    for line in errors:
        print("  note: " + line)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": {f"{k[0]}/{k[1]}": v for k, v in results.items()},
                       "rados_bench_mb_per_s": rados}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
