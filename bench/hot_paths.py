#!/usr/bin/env python3
"""Hot paths (issue 13): every target of the issue measured once in one run, one table line each.

Starts one Hangar (fresh data dir, `--audit on`, the default, and `--max-connections 12000`) that
serves every Hangar-side run of targets 1-4 and 6, so that its peak RSS covers them all; beside
it, for the peer figures of the same run, nginx (static files, sendfile), moto_server (KMS) and a
second Hangar with `--audit off`. One process is under load at a time. The targets:

  1. PUT 4 KiB (durable: Hangar answers once bytes and metadata are fsynced) >= 5,000/s at 32
     and at 64 connections, keys spread over 2,000 objects so that concurrent PUTs go to distinct
     keys, with no SlowDown among the errors (s3_load's errors_by_code);
  2. GET 4 KiB >= 25,000/s (32 connections, every body verified), and >= 30% of nginx serving
     the same 4 KiB files;
  3. KMS GenerateDataKey >= 50,000/s at 64 connections with p99 < 3 ms, and >= 100x moto_server;
  4. GET 256 MiB of an SSE-KMS object >= 85% of nginx serving the same file (2 parallel
     transfers, 8 GETs of 4 objects), and PUT 256 MiB >= 600 MB/s (the 4 PUTs that write those
     objects into the SSE-KMS bucket, streamed with UNSIGNED-PAYLOAD);
  5. Hangar's peak RSS (VmHWM) < 64 MiB through all of the above; then, on the same server, its
     RSS (VmRSS) < 100 MiB with 10,000 idle keep-alive connections open (each served one
     unauthenticated `GET /`, answered 403 and left open);
  6. ratios: PUT and GET 4 KiB on a versioned bucket vs the unversioned one >= 0.9x (on the main
     server, back to back); KMS GenerateDataKey and GET 4 KiB with `--audit on` vs `--audit off`
     >= 0.85x, on two fresh servers alike but for that flag (each filled with the same 2,000
     objects), run on, off, off, on so that drift on the machine falls on both alike, each side's
     figure the mean of its two runs. (Not the main server against the fresh one: by then the
     main server holds the PUT runs' versions and overwrites, whose cost is not the trail's.)

A line PASSes only if its bar holds and its runs had no failed request. Exit status is 0 whatever
the figures, unless --strict (then 1 if any line falls short). Builds nothing.

The servers, the load runners and the nginx files come from s3_bench.py, kms_bench.py,
sse_bench.py and audit_bench.py (imported, not copied).

Usage: python3 bench/hot_paths.py [--duration 5] [--only put,get,kms,large,memory,ratios]
                                  [--json FILE] [--strict]
"""

import argparse
import json
import os
import platform
import resource
import selectors
import shutil
import signal
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import audit_bench as ab  # noqa: E402 - Hangar with --audit on/off
import kms_bench as kb  # noqa: E402 - moto_server starter, kms_load runner
import s3_bench as sb  # noqa: E402 - Hangar and nginx starters, s3_load runner, nginx files
import sse_bench as ssb  # noqa: E402 - the SSE-KMS bucket and its response checks

KiB, MiB = sb.KiB, sb.MiB
TARGETS = ("put", "get", "kms", "large", "memory", "ratios")  # issue 13's targets 1..6
SMALL_PREFIX = "small/"
VERSIONED_BUCKET = "versioned"
LARGE_SIZE = 256 * MiB
LARGE_PARALLEL, LARGE_PUTS, LARGE_GETS = 2, 4, 8
IDLE_CONNECTIONS = 10_000
MAX_CONNECTIONS = 12_000
log = sb.log


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sb.add_program_options(p, "hangar", "kms-load", "s3-load", "moto-server", "nginx",
                           hangar_args=False)
    p.add_argument("--no-install", action="store_true", help="fail instead of installing nginx")
    p.add_argument("--duration", type=float, default=5.0, help="measured seconds per timed run")
    p.add_argument("--warmup", type=float, default=1.0, help="unmeasured lead-in per timed run")
    p.add_argument("--only", default=",".join(TARGETS),
                   help="comma-separated subset of " + ",".join(TARGETS) +
                        " (or their numbers 1-6)")
    p.add_argument("--objects", type=int, default=2000, help="4 KiB runs: distinct keys")
    p.add_argument("--idle-connections", type=int, default=IDLE_CONNECTIONS,
                   help="target 5: idle keep-alive connections to open")
    p.add_argument("--load-threads", type=int, default=1, help="load generator event loops")
    p.add_argument("--data-root", default=None, help="where temp data goes (default: $TMPDIR)")
    p.add_argument("--json", metavar="FILE", help="also write the lines and every run to FILE")
    p.add_argument("--strict", action="store_true", help="exit 1 if any line falls short")
    args = p.parse_args()
    chosen = set()
    for item in (v.strip() for v in args.only.split(",")):
        if not item:
            continue
        if item.isdigit() and 1 <= int(item) <= len(TARGETS):
            item = TARGETS[int(item) - 1]
        if item not in TARGETS:
            p.error(f"unknown target {item}; choose from {', '.join(TARGETS)} or 1-6")
        chosen.add(item)
    args.only = [t for t in TARGETS if t in chosen]
    for path in (args.hangar, args.kms_load, args.s3_load):
        if not os.access(path, os.X_OK):
            p.error(f"{path} is not an executable; build it first "
                    "(cmake --build build --target hangar kms_load s3_load)")
    return args


def helper_args(args, **overrides):
    """The argparse.Namespace the imported helpers read (each reads a few fields)."""
    ns = argparse.Namespace(
        hangar=args.hangar, s3_load=args.s3_load, kms_load=args.kms_load,
        moto_server=args.moto_server, nginx=args.nginx, no_install=args.no_install,
        hangar_arg=[], load_threads=args.load_threads, objects=args.objects,
        warmup=args.warmup, duration=args.duration, connections=32,
        modes=["sse-kms"], large_size=LARGE_SIZE, large_puts=LARGE_PUTS)
    for k, v in overrides.items():
        setattr(ns, k, v)
    return ns


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": len(os.sched_getaffinity(0)), "model": model,
            "kernel": f"{platform.system()} {platform.release()}",
            "loadavg": os.getloadavg()}


def raise_nofile(wanted):
    """Raises RLIMIT_NOFILE (ours, inherited by Hangar) to `wanted`, or as far as allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            wanted = hard
    if soft == resource.RLIM_INFINITY or soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# --- runs -------------------------------------------------------------------------------------

class Runs:
    """Every load run, by name; a run that raised is kept as its error message."""

    def __init__(self, args):
        self.args = args
        self.results = {}
        self.failures = {}

    def do(self, name, fn):
        log(f"[{name}]")
        try:
            self.results[name] = fn()
        except Exception as e:  # noqa: BLE001 - a broken run becomes a line that says so
            self.failures[name] = f"{type(e).__name__}: {e}".strip()
            log(f"  {name} failed: {self.failures[name]}")
        return self.results.get(name)

    def get(self, name):
        return self.results.get(name)

    def mean(self, name, parts):
        """A run named `name` whose rate is the mean of the runs `parts` (all of which must have
        run) and whose errors are theirs together."""
        got = [self.results.get(p) for p in parts]
        if any(r is None for r in got):
            self.failures[name] = self.why_missing(*parts)
            return None
        codes = {}
        for r in got:
            for code, n in r["errors_by_code"].items():
                codes[code] = codes.get(code, 0) + n
        self.results[name] = {
            "label": name, "rate": sum(r["rate"] for r in got) / len(got),
            "rates": [r["rate"] for r in got], "errors": sum(r["errors"] for r in got),
            "errors_by_code": codes,
            "first_error": next((r["first_error"] for r in got if r["errors"]), "")}
        return self.results[name]

    def why_missing(self, *names):
        for n in names:
            if n in self.failures:
                return f"{n}: {self.failures[n].splitlines()[0][:90]}"
        return "not run"


def s3_timed(args, server, op, bucket, connections, label):
    extra = ["--connections", str(connections), "--duration", str(args.duration),
             "--warmup", str(args.warmup)]
    if op == "get":
        extra.append("--verify")
    return sb.s3_load(helper_args(args), server, op, 4 * KiB, SMALL_PREFIX, args.objects, extra,
                      label=label, bucket=bucket)


def s3_fill(args, server, bucket):
    """Every 4 KiB key once (unmeasured), so GETs find them all and PUTs overwrite."""
    r = sb.s3_load(helper_args(args), server, "put", 4 * KiB, SMALL_PREFIX, args.objects,
                   ["--connections", "32", "--requests", str(args.objects)],
                   label=f"{server.name}-{bucket}-fill", bucket=bucket)
    if r["errors"]:
        raise RuntimeError(f"filling {bucket} on {server.name}: {r['first_error']}")
    return r


def kms_timed(args, server, label):
    view = kb.Server(label, server.proc, server.port, server.access_key_id,
                     server.secret_access_key, server.output)
    view.key_id = server.key_id
    return kb.run_load(helper_args(args, connections=64), view, "GenerateDataKey",
                       args.duration)


def audit_pairs(args, runs, audit_on, off):
    """GET 4 KiB and GenerateDataKey on the twins, on, off, off, on; each side the mean."""
    workloads = {
        "get": lambda server, label: s3_timed(args, server, "get", sb.BUCKET, 32, label),
        "gdk": lambda server, label: kms_timed(args, server, label),
    }
    for workload, timed in workloads.items():
        names = {"on": [], "off": []}
        for i, (mode, server) in enumerate((("on", audit_on), ("off", off), ("off", off),
                                            ("on", audit_on))):
            name = f"{workload}-audit-{mode}-{i + 1}"
            names[mode].append(name)
            runs.do(name, lambda server=server, name=name: timed(server, name))
        for mode, parts in names.items():
            runs.mean(f"{workload}-audit-{mode}", parts)


def large(args, server, op, bucket, extra):
    count = LARGE_PUTS if op == "put" else LARGE_GETS
    opts = ["--connections", str(LARGE_PARALLEL), "--timeout", "600", "--requests", str(count)]
    if op == "put":
        opts.append("--unsigned-payload")
    return sb.s3_load(helper_args(args), server, op, LARGE_SIZE, "large/", LARGE_PUTS,
                      opts + extra, label=f"{server.name}-{op}256m", bucket=bucket)


def idle_connections(port, count, window=256, timeout=120):
    """Opens `count` TCP connections to 127.0.0.1:port (at most `window` in progress at once),
    sends one unauthenticated GET / on each and reads its whole answer; the connections that got
    one and were not closed stay open, idle. Returns (open sockets, answer statuses, problems)."""
    request = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    sel = selectors.DefaultSelector()
    idle, statuses, problems = [], {}, {}
    started = in_flight = 0
    deadline = time.monotonic() + timeout

    def problem(sock, what):
        problems[what] = problems.get(what, 0) + 1
        sel.unregister(sock)
        sock.close()

    while (started < count or in_flight) and time.monotonic() < deadline:
        while started < count and in_flight < window:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            sel.register(s, selectors.EVENT_WRITE, {"buf": b""})
            started += 1
            in_flight += 1
        for key, _ in sel.select(timeout=1.0):
            s, st = key.fileobj, key.data
            if "sent" not in st:
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    problem(s, f"connect: {os.strerror(err)}")
                    in_flight -= 1
                    continue
                s.send(request)
                st["sent"] = True
                sel.modify(s, selectors.EVENT_READ, st)
                continue
            try:
                chunk = s.recv(65536)
            except OSError as e:
                problem(s, f"recv: {e.strerror}")
                in_flight -= 1
                continue
            if not chunk:
                problem(s, "closed before/after the answer")
                in_flight -= 1
                continue
            st["buf"] += chunk
            head, sep, body = st["buf"].partition(b"\r\n\r\n")
            if not sep:
                continue
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.strip().lower(): v.strip()
                       for k, _, v in (h.partition(":") for h in lines[1:])}
            if len(body) < int(headers.get("content-length", "0")):
                continue
            status = lines[0].split(" ")[1] if " " in lines[0] else "?"
            statuses[status] = statuses.get(status, 0) + 1
            in_flight -= 1
            if headers.get("connection", "").lower() == "close":
                problem(s, "Connection: close")
                continue
            sel.unregister(s)
            idle.append(s)
    for key in list(sel.get_map().values()):
        problem(key.fileobj, "no answer in time")
    sel.close()
    return idle, statuses, problems


def still_open(socks):
    """How many of `socks` the server has not closed (a closed one is readable: EOF)."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    readable = len(sel.select(timeout=0.2))
    sel.close()
    return len(socks) - readable


# --- the table --------------------------------------------------------------------------------

def rate(v):
    return f"{v:,.0f}/s"


def mbps(v):
    return f"{v:,.0f} MB/s"


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


class Line:
    def __init__(self, num, target, bar):
        self.num, self.target, self.bar = num, target, bar
        self.measured = self.peer = self.ratio = "-"
        self.ok = False
        self.notes = []

    def as_dict(self):
        return {"target": f"{self.num} {self.target}", "bar": self.bar,
                "measured": self.measured, "peer": self.peer, "ratio": self.ratio,
                "pass": self.ok, "notes": self.notes}


def errors_note(*results):
    """'' when the runs had no failed request, else what failed."""
    parts = []
    for r in results:
        if r and r["errors"]:
            parts.append(f"{r['label']}: {r['errors']} errors {json.dumps(r['errors_by_code'])}"
                         f", first: {r['first_error'][:80]}")
    return "; ".join(parts)


def build_lines(args, runs, memory):
    lines = []
    R = runs.get  # noqa: N806

    def absolute(num, target, bar, name, value_fn, fmt, ok_fn, extra_ok=None):
        line = Line(num, target, bar)
        r = R(name)
        if r is None:
            line.measured = "n/a"
            line.notes.append(runs.why_missing(name))
        else:
            v = value_fn(r)
            line.measured = fmt(v)
            err = errors_note(r)
            line.ok = ok_fn(v) and not err
            if err:
                line.notes.append(err)
            if extra_ok:
                ok, note = extra_ok(r)
                line.ok = line.ok and ok
                if note:
                    line.notes.append(note)
        lines.append(line)

    def relative(num, target, bar, name, peer_name, peer_label, value_fn, fmt, minimum,
                 as_percent):
        line = Line(num, target, bar)
        r, p = R(name), R(peer_name)
        if r is not None:
            line.measured = fmt(value_fn(r))
        if p is not None:
            line.peer = f"{peer_label} {fmt(value_fn(p))}"
        if r is None or p is None:
            line.measured = line.measured if r is not None else "n/a"
            line.notes.append(runs.why_missing(name, peer_name))
        else:
            x = value_fn(r) / value_fn(p) if value_fn(p) > 0 else float("inf")
            line.ratio = (f"{100 * x:.0f}%" if as_percent else
                          f"{x:.2f}x" if x < 10 else f"{x:.1f}x")
            err = errors_note(r, p)
            line.ok = x >= minimum and not err
            if err:
                line.notes.append(err)
        lines.append(line)

    def no_slowdown(r):
        slow = r["errors_by_code"].get("SlowDown", 0)
        return slow == 0, (f"{slow} SlowDown" if slow else "")

    by_rate = (lambda r: r["rate"])
    by_mb = (lambda r: r["mb_per_s"])
    if "put" in args.only:
        for conns in (32, 64):
            absolute(1, f"PUT 4 KiB durable, {conns} conns", ">= 5,000/s, no SlowDown",
                     f"put{conns}", by_rate, rate, lambda v: v >= 5000, no_slowdown)
    if "get" in args.only:
        absolute(2, "GET 4 KiB, 32 conns", ">= 25,000/s", "get", by_rate, rate,
                 lambda v: v >= 25000)
        relative(2, "GET 4 KiB vs nginx (same file)", ">= 30% of nginx", "get", "get-nginx",
                 "nginx", by_rate, rate, 0.30, True)
    if "kms" in args.only:
        absolute(3, "KMS GenerateDataKey, 64 conns", ">= 50,000/s", "gdk", by_rate, rate,
                 lambda v: v >= 50000)
        absolute(3, "KMS GenerateDataKey p99, 64 conns", "< 3 ms", "gdk",
                 lambda r: r["p99_ms"], lambda v: f"{v:.2f} ms", lambda v: v < 3.0)
        relative(3, "KMS GenerateDataKey vs moto_server", ">= 100x moto", "gdk", "gdk-moto",
                 "moto", by_rate, rate, 100.0, False)
    if "large" in args.only:
        relative(4, "GET 256 MiB SSE-KMS vs nginx", ">= 85% of nginx", "get256m",
                 "get256m-nginx", "nginx", by_mb, mbps, 0.85, True)
        absolute(4, "PUT 256 MiB (into the SSE-KMS bucket)", ">= 600 MB/s", "put256m", by_mb,
                 mbps, lambda v: v >= 600)
    if "memory" in args.only:
        ran = ",".join(str(TARGETS.index(t) + 1) for t in args.only if t != "memory")
        line = Line(5, f"peak RSS (VmHWM), targets {ran or '-'}", "< 64 MiB")
        if memory.get("hwm_kib"):
            line.measured = mib(memory["hwm_kib"])
            line.ok = memory["hwm_kib"] < 64 * 1024
        else:
            line.measured = "n/a"
            line.notes.append(memory.get("error", "not measured"))
        lines.append(line)
        n = args.idle_connections
        line = Line(5, f"RSS with {n:,} idle keep-alive conns", "< 100 MiB")
        if memory.get("idle_rss_kib"):
            line.measured = mib(memory["idle_rss_kib"])
            open_ = memory["idle_open"]
            line.ok = memory["idle_rss_kib"] < 100 * 1024 and open_ == n
            per = ((memory["idle_rss_kib"] - memory["before_idle_rss_kib"]) * 1024 /
                   max(open_, 1))
            line.notes.append(f"{open_:,}/{n:,} open and idle after one answer each "
                              f"(statuses {memory['idle_statuses']}); RSS before "
                              f"{mib(memory['before_idle_rss_kib'])}, ~{per:,.0f} B/connection"
                              + (f"; problems {memory['idle_problems']}"
                                 if memory["idle_problems"] else ""))
        else:
            line.measured = "n/a"
            line.notes.append(memory.get("idle_error", "not measured"))
        lines.append(line)
    if "ratios" in args.only:
        relative(6, "PUT 4 KiB versioned / unversioned", ">= 0.9x", "put32-versioned",
                 "put32", "unversioned", by_rate, rate, 0.9, False)
        relative(6, "GET 4 KiB versioned / unversioned", ">= 0.9x", "get-versioned", "get",
                 "unversioned", by_rate, rate, 0.9, False)
        relative(6, "KMS GenerateDataKey audit on / off", ">= 0.85x", "gdk-audit-on",
                 "gdk-audit-off", "audit off", by_rate, rate, 0.85, False)
        relative(6, "GET 4 KiB audit on / off", ">= 0.85x", "get-audit-on", "get-audit-off",
                 "audit off", by_rate, rate, 0.85, False)
    return lines


def print_table(args, lines, info, elapsed):
    print()
    print(f"Hot paths (issue 13): {info['nproc']} CPUs ({info['model']}), {info['kernel']}, "
          f"shared with the load generator; {args.duration:g} s per timed run after "
          f"{args.warmup:g} s warm-up, one run per figure; loadavg at start "
          f"{info['loadavg'][0]:.2f}, at end {os.getloadavg()[0]:.2f}")
    cols = [("#", 2), ("target", 40), ("bar", 24), ("measured", 12), ("peer", 22),
            ("ratio", 7), ("result", 10)]
    header = "  ".join(f"{name:<{w}}" if name != "measured" else f"{name:>{w}}"
                       for name, w in cols)
    print(header)
    print("-" * len(header))
    for ln in lines:
        cells = [str(ln.num), ln.target, ln.bar, ln.measured, ln.peer, ln.ratio,
                 "PASS" if ln.ok else "FALL SHORT"]
        print("  ".join(f"{c:<{w}}" if name != "measured" else f"{c:>{w}}"
                        for c, (name, w) in zip(cells, cols)))
    notes = [(ln, n) for ln in lines for n in ln.notes]
    if notes:
        print()
        for ln, n in notes:
            print(f"  {ln.num} {ln.target}: {n}")
    passed = sum(ln.ok for ln in lines)
    print(f"{passed}/{len(lines)} PASS, {len(lines) - passed} FALL SHORT; run took "
          f"{elapsed:.0f} s")


# --- main -------------------------------------------------------------------------------------

def run(args, runs, memory):
    want = set(args.only)
    ratios = "ratios" in want
    need_put32 = "put" in want or ratios
    need_get = "get" in want or ratios
    need_gdk = "kms" in want
    need_small = need_put32 or need_get
    nginx_workloads = (["get4k"] if "get" in want else []) + (["get256m"] if "large" in want
                                                              else [])
    root = tempfile.mkdtemp(prefix="hangar-hot-paths-", dir=args.data_root)
    hangar = off = audit_on = nginx = None
    idle = []
    try:
        # The main Hangar: everything Hangar-side runs on it, so its VmHWM covers every target.
        main_args = helper_args(args, hangar_arg=["--max-connections", str(MAX_CONNECTIONS)])
        os.makedirs(os.path.join(root, "main"))
        hangar = sb.start_hangar(main_args, os.path.join(root, "main"))
        hangar.kms_key_arn = ssb.setup_hangar(main_args, hangar)  # bucket sse-sse-kms + key
        hangar.key_id = hangar.kms_key_arn
        log(f"hangar {hangar.endpoint} pid {hangar.proc.pid}, key {hangar.key_id}")
        if ratios:
            s3 = hangar.s3()
            s3.create_bucket(Bucket=VERSIONED_BUCKET)
            s3.put_bucket_versioning(Bucket=VERSIONED_BUCKET,
                                     VersioningConfiguration={"Status": "Enabled"})
            # Twins but for --audit: each with bucket bench and a key.
            audit_on = ab.start(helper_args(args), "on", root)
            off = ab.start(helper_args(args), "off", root)
        if nginx_workloads:
            nginx = sb.start_nginx(helper_args(args), root)
            log(f"nginx {nginx.endpoint} pid {nginx.proc.pid}")
            runs.do("fill-nginx", lambda: sb.fill_nginx(helper_args(args), nginx,
                                                        nginx_workloads))

        if need_small:
            runs.do("fill", lambda: s3_fill(args, hangar, sb.BUCKET))
        if ratios:
            runs.do("fill-versioned", lambda: s3_fill(args, hangar, VERSIONED_BUCKET))
            runs.do("fill-audit-on", lambda: s3_fill(args, audit_on, sb.BUCKET))
            runs.do("fill-audit-off", lambda: s3_fill(args, off, sb.BUCKET))

        # Each ratio's two runs back to back.
        if need_put32:
            runs.do("put32", lambda: s3_timed(args, hangar, "put", sb.BUCKET, 32, "put32"))
        if ratios:
            runs.do("put32-versioned", lambda: s3_timed(args, hangar, "put", VERSIONED_BUCKET,
                                                        32, "put32-versioned"))
        if "put" in want:
            runs.do("put64", lambda: s3_timed(args, hangar, "put", sb.BUCKET, 64, "put64"))
        if need_get:
            runs.do("get", lambda: s3_timed(args, hangar, "get", sb.BUCKET, 32, "get"))
        if ratios:
            runs.do("get-versioned", lambda: s3_timed(args, hangar, "get", VERSIONED_BUCKET, 32,
                                                      "get-versioned"))
        if "get" in want and nginx:
            runs.do("get-nginx", lambda: s3_timed(args, nginx, "get", sb.BUCKET, 32,
                                                  "get-nginx"))
        if need_gdk:
            runs.do("gdk", lambda: kms_timed(args, hangar, "gdk"))
        if ratios:
            audit_pairs(args, runs, audit_on, off)
        for twin in (audit_on, off):
            if twin is not None:
                twin.stop()
        audit_on = off = None
        if "kms" in want:
            def moto_run():
                moto = kb.start_moto(args.moto_server)
                try:
                    moto.create_key()
                    log(f"moto {moto.endpoint} pid {moto.proc.pid}, key {moto.key_id}")
                    return kms_timed(args, moto, "gdk-moto")
                finally:
                    moto.stop()
            runs.do("gdk-moto", moto_run)
        if "large" in want:
            kms_bucket = ssb.hangar_bucket("sse-kms")
            checks = ssb.sse_options(hangar, "sse-kms")  # every answer says SSE-KMS, this key
            if runs.do("put256m", lambda: large(args, hangar, "put", kms_bucket, checks)):
                runs.do("get256m", lambda: large(args, hangar, "get", kms_bucket, checks))
            if nginx:
                runs.do("get256m-nginx", lambda: large(args, nginx, "get", sb.BUCKET, []))
        if nginx is not None:
            nginx.stop()
            nginx = None

        if "memory" in want:
            if hangar.proc.poll() is not None:
                raise RuntimeError(f"hangar exited with {hangar.proc.returncode}")
            memory["hwm_kib"] = hangar.status_kb("VmHWM")
            memory["before_idle_rss_kib"] = hangar.status_kb("VmRSS")
            log(f"[idle] opening {args.idle_connections:,} keep-alive connections")
            try:
                t0 = time.monotonic()
                idle, statuses, problems = idle_connections(hangar.port, args.idle_connections)
                time.sleep(0.5)  # let the server finish with the last answers
                memory["idle_rss_kib"] = hangar.status_kb("VmRSS")
                memory["idle_hwm_kib"] = hangar.status_kb("VmHWM")
                memory["idle_open"] = still_open(idle)
                memory["idle_statuses"] = statuses
                memory["idle_problems"] = problems
                log(f"  {len(idle):,} idle after one answer each in "
                    f"{time.monotonic() - t0:.1f} s; statuses {statuses}; problems {problems}; "
                    f"VmRSS {mib(memory['idle_rss_kib'])}")
            except Exception as e:  # noqa: BLE001
                memory["idle_error"] = f"{type(e).__name__}: {e}"
                log(f"  idle connections failed: {memory['idle_error']}")
    finally:
        for s in idle:
            s.close()
        for server in (audit_on, off, nginx, hangar):
            if server is not None:
                server.stop()
        shutil.rmtree(root, ignore_errors=True)


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started = time.monotonic()
    info = machine()
    print(f"machine: nproc {info['nproc']}, {info['model']}, {info['kernel']}, "
          f"loadavg {info['loadavg'][0]:.2f} {info['loadavg'][1]:.2f} {info['loadavg'][2]:.2f}",
          flush=True)
    # Ours and (inherited) Hangar's: 10,000 client sockets here, as many accepted ones there.
    limit = raise_nofile(args.idle_connections + MAX_CONNECTIONS // 4 + 1024)
    if "memory" in args.only:
        if limit < args.idle_connections + 256:
            log(f"warning: RLIMIT_NOFILE is {limit}; fewer than {args.idle_connections:,} "
                "connections can be opened")
    runs = Runs(args)
    memory = {}
    try:
        run(args, runs, memory)
    except Exception as e:  # noqa: BLE001 - a server that did not start: still print the lines
        log(f"hot_paths: {type(e).__name__}: {e}")
        runs.failures.setdefault("setup", f"{type(e).__name__}: {e}")
        memory.setdefault("error", runs.failures["setup"])
    elapsed = time.monotonic() - started
    lines = build_lines(args, runs, memory)
    if "setup" in runs.failures:
        for ln in lines:
            if ln.measured == "n/a":
                ln.notes.append("setup: " + runs.failures["setup"].splitlines()[0][:120])
    print_table(args, lines, info, elapsed)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "duration": args.duration, "warmup": args.warmup,
                       "elapsed_s": round(elapsed, 1), "lines": [ln.as_dict() for ln in lines],
                       "memory": memory, "runs": runs.results, "failures": runs.failures},
                      f, indent=2)
    return 1 if args.strict and not all(ln.ok for ln in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
