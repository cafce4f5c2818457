"""End-to-end harness: runs the real `hangar` binary and drives it with real AWS clients.

A HangarServer owns one server process, its temp directory (data dir, server log, empty aws CLI
config files) and the root credentials it was started with. It is not thread-safe: one test thread
drives it. Nothing in Hangar is mocked; the clients are the aws CLI (v1 or v2: HANGAR_AWS_CLI, else
`aws` on PATH) and the boto3 of the interpreter running the tests (tests/CMakeLists.txt picks both).

    server = HangarServer()          # temp dir, fixed account and root key
    server.start()                   # waits for "Hangar listening on ..." (fails after 20 s;
                                     # log lines printed before it are skipped)
    kms = server.client("kms")       # boto3 client signed with the root key
    rc, out, err = server.aws("kms", "list-keys")
    server.kms_call("DescribeKey", b'{"KeyId":')  # raw HTTP, SigV4-signed by botocore
    s3 = server.s3_client()          # boto3 S3 client, path-style addressing
    server.s3_request("GET", "/bucket/key")  # raw S3 request, x-amz-content-sha256 filled in
    server.advance_clock(7 * 86400)  # dev clock: runs due lifecycle work before it answers
    server.restart()                 # SIGTERM, then start again on the same data dir (and port)
    server.crash_restart()           # kill -9, then start again
    server.metrics()                 # GET /_hangar/metrics: {"kms_calls": {"Decrypt": n, ...}}
                                     # (on the admin listener when the banner names one)
    server.admin_port                # port of "  admin: http://HOST:PORT" in the banner, or None
    server.second_account()          # `hangar admin create-account`: {AccountId, AccessKeyId, ...}
    server.peak_rss_kb()             # the server's VmHWM; proc_status("VmRSS"), cpu_seconds()
    server.object_record("b", "k")   # the stored s3.object document (segments[].blob, keys)
    server.files_containing(b"x")    # data-dir files whose raw bytes contain b"x" (plaintext hunt)
    server.close()                   # always stops the process and removes the temp dir

Cluster mode: HANGAR_E2E_CLUSTER=1 runs any suite on three nodes of a PostgreSQL and a Ceph the
harness starts with the project's scripts (left running for the next run). Or name them: with
HANGAR_E2E_POSTGRES_URI (a libpq URI of a PostgreSQL the tests may create
databases in; or HANGAR_E2E_POSTGRES_URI_FILE, a file holding it) and HANGAR_E2E_RADOS_CONF (a ceph.conf whose client.admin may create pools) set, every
server keeps its metadata in a database of its own on that PostgreSQL (`--metadata`) and its object
bytes in a pool of its own on that Ceph cluster (`--blobs`), with a root key of its own given in
HANGAR_ROOT_KEY, as cluster nodes must share one. Such a server is HANGAR_E2E_CLUSTER_NODES
nodes (default 3) on those places behind HAProxy, which sends each request round-robin to the
next node; `port` is HAProxy's, and stop/kill/restart act on every node (HAProxy stays). A server
made with `cluster=` (another's places) is one node, reached directly. tests/CMakeLists.txt runs
chosen suites so (`e2e-cluster.*`), after scripts/postgres.sh and scripts/ceph.sh started the two.

HangarTestCase starts one server per TestCase class and stops it even when setUpClass or a test
fails; the kernel also kills the server if the test process dies (PR_SET_PDEATHSIG). The server
logs to stdout (kept in `stdout_lines`) and stderr (`server.log` in the temp dir); failures to
start quote both. Set HANGAR_E2E_KEEP=1 to keep temp dirs for post-mortems.
"""

import atexit
import base64
import ctypes
import datetime
import hashlib
import http.client
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
from typing import Any, NamedTuple, Optional

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.session

HANGAR_BIN = os.environ.get("HANGAR_BIN", "/work/main/build/hangar")
AWS_CLI = os.environ.get("HANGAR_AWS_CLI") or "aws"
REGION = "us-east-1"
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 20.0
CLI_TIMEOUT_SECONDS = 60.0

DEFAULT_ACCOUNT_ID = "111122223333"
DEFAULT_ACCESS_KEY_ID = "AKIAHANGARE2ETEST001"
DEFAULT_SECRET_ACCESS_KEY = "hangarE2eSecretKey0123456789abcdefghijKL"  # 40 chars

_LISTENING = re.compile(r"^Hangar listening on (https?)://(\S+):(\d+)\s*$")
_ADMIN_LINE = re.compile(r"^\s+admin:\s+(https?)://(\S+):(\d+)\s*$")
# How long after the listening line the rest of the banner may take to reach us. The banner is
# written in one go, so this is only waited out in full by a server that prints no admin line.
BANNER_SETTLE_SECONDS = 2.0
_LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:.]+\] \[\w+\] ")
_CLI_ERROR = re.compile(
    r"An error occurred \((?P<code>[^)]+)\) when calling the (?P<op>\w+) operation"
    r"(?: \(reached max retries: \d+\))?: ?(?P<message>.*)$",
    re.S)

_live_servers = set()


def stored_json(body) -> Any:
    """A metadata document's JSON. An `s3.object` document of a small object carries its encrypted
    bytes after the JSON and a NUL (docs/s3-storage.md); the JSON is what comes before."""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return json.loads(raw.split(b"\0", 1)[0].decode("utf-8"))


def stored_inline_bytes(body) -> bytes:
    """The bytes a small object's document keeps after its JSON (b"" if none)."""
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    return raw.split(b"\0", 1)[1] if b"\0" in raw else b""


@atexit.register
def _stop_leftover_servers():
    # Last resort if a runner is interrupted between start() and a test's cleanup.
    for server in list(_live_servers):
        server.close()


def _die_with_parent():
    # Runs in the child before exec: the kernel kills the server if the test process dies
    # (e.g. ctest's timeout kills python), so no server outlives its test.
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _child_setup(extra):
    """preexec_fn for the server: _die_with_parent, then the caller's own setup (e.g. rlimits)."""
    def setup():
        _die_with_parent()
        if extra is not None:
            extra()
    return setup


class HangarError(Exception):
    """The server did not start, stop or answer as a harness call expected."""


class CliResult(NamedTuple):
    """What an aws CLI run returned: exit code, stdout (parsed JSON, else text) and stderr."""
    rc: int
    out: Any
    err: str

    @property
    def error(self):
        """(code, message) of the AWS error the CLI printed, or None."""
        return parse_cli_error(self.err)


class RawResponse(NamedTuple):
    """An HTTP response read by HangarServer.raw_request()."""
    status: int
    headers: dict  # lower-case name -> value
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))


def parse_cli_error(stderr: str):
    """Returns (code, message) from the aws CLI's "An error occurred (X) ..." line, or None."""
    for line in stderr.strip().splitlines()[::-1]:
        m = _CLI_ERROR.search(line.strip())
        if m:
            return m.group("code"), m.group("message")
    return None


def parse_timestamp(value) -> float:
    """Epoch seconds from an AWS JSON timestamp: a number, or an ISO-8601 string (the aws CLI's
    cli_timestamp_format=iso8601), or a datetime (boto3)."""
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value)
    try:
        return float(text)
    except ValueError:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _postgres_admin_uri() -> Optional[str]:
    """The cluster-mode PostgreSQL: HANGAR_E2E_POSTGRES_URI, or the first line of the file
    HANGAR_E2E_POSTGRES_URI_FILE names (scripts/postgres.sh writes it; ctest's fixture sets it)."""
    uri = os.environ.get("HANGAR_E2E_POSTGRES_URI")
    path = os.environ.get("HANGAR_E2E_POSTGRES_URI_FILE")
    if not uri and path:
        with open(path) as f:
            uri = f.readline().strip()
    return uri or None


_SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts")


def _start_cluster_services():
    """HANGAR_E2E_CLUSTER=1 alone: the project's throwaway PostgreSQL and Ceph, under
    /tmp/hangar-e2e-postgres and /tmp/hangar-e2e-ceph, started once and left running for the next
    run (scripts/postgres.sh stop and scripts/ceph.sh stop with those directories end them)."""
    pg_env = dict(os.environ, HANGAR_POSTGRES_DIR="/tmp/hangar-e2e-postgres")
    uri = subprocess.run(["bash", os.path.join(_SCRIPTS, "postgres.sh"), "start"], env=pg_env,
                         capture_output=True, text=True, timeout=300, check=True)
    ceph_env = dict(os.environ, HANGAR_CEPH_DIR="/tmp/hangar-e2e-ceph")
    running = subprocess.run(["bash", os.path.join(_SCRIPTS, "ceph.sh"), "conf"], env=ceph_env,
                             capture_output=True, text=True, timeout=60)
    if running.returncode != 0:
        subprocess.run(["bash", os.path.join(_SCRIPTS, "ceph.sh"), "start"], env=ceph_env,
                       capture_output=True, text=True, timeout=300, check=True)
    os.environ["HANGAR_E2E_POSTGRES_URI"] = uri.stdout.strip().splitlines()[-1]
    os.environ["HANGAR_E2E_RADOS_CONF"] = "/tmp/hangar-e2e-ceph/ceph.conf"
    os.environ["HANGAR_E2E_RADOS_ID"] = "hangar"


def cluster_mode() -> bool:
    """Whether the suites run in cluster mode: HANGAR_E2E_CLUSTER=1 (services started here when
    not named), or the environment names a PostgreSQL and a Ceph cluster."""
    named = bool((os.environ.get("HANGAR_E2E_POSTGRES_URI") or
                  os.environ.get("HANGAR_E2E_POSTGRES_URI_FILE")) and
                 os.environ.get("HANGAR_E2E_RADOS_CONF"))
    if not named and os.environ.get("HANGAR_E2E_CLUSTER") == "1":
        _start_cluster_services()
        named = True
    return named


def cluster_nodes() -> int:
    """How many nodes a cluster-mode server is (HANGAR_E2E_CLUSTER_NODES, default 3)."""
    return max(1, int(os.environ.get("HANGAR_E2E_CLUSTER_NODES", "3")))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _lasting_port() -> int:
    """A port free now, for a listener that must get it again at every restart (a cluster's
    nodes and their front). It is drawn from below the kernel's ephemeral range: a port from
    inside it can be handed, between two starts, to an outgoing connection (a node's to Ceph or
    PostgreSQL), and the restart then fails with "Address already in use"."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            ephemeral_low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    low = 10000 if ephemeral_low > 12000 else 1024
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(low, ephemeral_low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    return _free_port()


class _RoundRobinFront:
    """HAProxy in front of a cluster's nodes: every request, also on a kept-alive connection,
    goes to the next node in turn. Bodies and headers pass as they are (no buffering, names
    lowercased, which SigV4 does anyway); it keeps its port for its whole life."""

    def __init__(self, tmp_dir):
        self.tmp_dir = tmp_dir
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.backends = None
        self.log_path = os.path.join(tmp_dir, "haproxy.log")

    def start(self, backends, port=0, timeout=START_TIMEOUT_SECONDS):
        if self.proc is not None and self.proc.poll() is None and backends == self.backends:
            return
        self.close()
        self.port = port or self.port or _lasting_port()
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        config = os.path.join(self.tmp_dir, "haproxy.cfg")
        servers = "".join(f"    server node{i} 127.0.0.1:{p}\n" for i, p in enumerate(backends))
        with open(config, "w") as f:
            f.write(f"""global
    maxconn 2000
defaults
    mode http
    option accept-invalid-http-request
    timeout connect 5s
    timeout client 15m
    timeout server 15m
frontend hangar
    bind 127.0.0.1:{self.port}
    default_backend nodes
backend nodes
    balance roundrobin
{servers}""")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([binary, "-f", config, "-db"], stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=log, preexec_fn=_child_setup(None))
        deadline = time.monotonic() + timeout
        while True:  # HAProxy prints nothing when it listens: its port answering is the sign
            if self.proc.poll() is not None:
                with open(self.log_path, errors="replace") as f:
                    raise HangarError(f"haproxy exited with {self.proc.returncode}: {f.read()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    self.close()
                    raise HangarError(f"haproxy did not listen on {self.port} within {timeout} s")
                time.sleep(0.05)
        self.backends = list(backends)

    def close(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None


class _ClusterPlaces(NamedTuple):
    """Where one cluster-mode server keeps its state: a fresh database and a fresh pool."""
    metadata_uri: str
    blobs_uri: str
    root_key: str

    @staticmethod
    def make():
        admin_uri = _postgres_admin_uri()
        name = "hangar_e2e_" + os.urandom(6).hex()
        done = subprocess.run(["psql", admin_uri, "-qAtc", f"CREATE DATABASE {name}"],
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise HangarError(f"cannot create database {name}: {done.stderr.strip()}")
        parsed = urllib.parse.urlsplit(admin_uri)
        metadata_uri = urllib.parse.urlunsplit(parsed._replace(path="/" + name))
        conf = os.environ["HANGAR_E2E_RADOS_CONF"]
        client = os.environ.get("HANGAR_E2E_RADOS_ID", "admin")
        blobs_uri = f"rados://{name.replace('_', '-')}?conf={conf}&id={client}"
        return _ClusterPlaces(metadata_uri, blobs_uri, base64.b64encode(os.urandom(32)).decode())


class HangarServer:
    """One `hangar serve` process on 127.0.0.1:<free port> with a fresh temp data dir."""

    def __init__(self, *, account_id=DEFAULT_ACCOUNT_ID, access_key_id=DEFAULT_ACCESS_KEY_ID,
                 secret_access_key=DEFAULT_SECRET_ACCESS_KEY, dev_clock=True, binary=None,
                 extra_env=None, extra_args=None, listen_host="127.0.0.1", preexec_fn=None,
                 cluster=None):
        self.binary = binary or HANGAR_BIN
        self.account_id = account_id
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.dev_clock = dev_clock
        self.extra_env = dict(extra_env or {})
        self.extra_args = list(extra_args or [])
        # "0.0.0.0" also accepts clients on the host's other addresses (non-loopback tests);
        # the harness itself keeps talking to 127.0.0.1.
        self.listen_host = listen_host
        # Runs in the server's process before exec, after the harness's own setup; e.g.
        # resource.setrlimit to start the server with few file descriptors.
        self.preexec_fn = preexec_fn
        self.scheme = "http"
        self.tmp_dir = tempfile.mkdtemp(prefix="hangar-e2e-")
        self.data_dir = os.path.join(self.tmp_dir, "data")
        self.use_data_dir = True  # False: no --data-dir (a cluster node needs none)
        self.log_path = os.path.join(self.tmp_dir, "server.log")
        # Empty files: the user's ~/.aws never reaches the clients.
        self.aws_config_file = os.path.join(self.tmp_dir, "aws-config")
        self.aws_credentials_file = os.path.join(self.tmp_dir, "aws-credentials")
        for path in (self.aws_config_file, self.aws_credentials_file):
            open(path, "w").close()
        self.proc: Optional[subprocess.Popen] = None
        self.port: Optional[int] = None
        self.stdout_lines = []  # every stdout line of every run, in order
        self._stdout_queue: Optional[queue.Queue] = None
        self._banner_index = 0  # index in stdout_lines of this run's listening line
        self._listening_at = 0.0  # time.monotonic() when it was read
        self._admin_port: Optional[int] = None
        self._admin_port_known = False
        self._closed = False
        # Cluster mode: `cluster` (another node's places, to share them) or, when the
        # environment names a PostgreSQL and a Ceph cluster, places of its own.
        self.cluster = cluster
        # Several nodes behind a round-robin front: this object is the first node, `peers` the
        # others (started, stopped and killed with it), `_front` HAProxy.
        self.peers = []
        self._front: Optional[_RoundRobinFront] = None
        self._node_ports = []
        if cluster is None and cluster_mode():
            self.cluster = _ClusterPlaces.make()
            self.peers = [HangarServer(account_id=account_id, access_key_id=access_key_id,
                                       secret_access_key=secret_access_key, dev_clock=dev_clock,
                                       binary=binary, extra_env=extra_env, extra_args=extra_args,
                                       listen_host=listen_host, preexec_fn=preexec_fn,
                                       cluster=self.cluster)
                          for _ in range(cluster_nodes() - 1)]
            if self.peers:
                self._front = _RoundRobinFront(self.tmp_dir)
        if self.cluster:
            self.extra_args += ["--metadata", self.cluster.metadata_uri,
                                "--blobs", self.cluster.blobs_uri]
            self.extra_env.setdefault("HANGAR_ROOT_KEY", self.cluster.root_key)

    # --- process lifecycle ---------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=START_TIMEOUT_SECONDS, port=0):
        """Starts the server on the data dir and returns once it printed its listening line.
        port 0 lets the kernel choose a free port. Several nodes: each on a port of its own,
        the same at every start, and the front on `port`."""
        if not self.peers:
            return self._start_node(timeout, port)
        if not self._node_ports:
            while len(set(self._node_ports)) < 1 + len(self.peers):
                self._node_ports = [_lasting_port() for _ in range(1 + len(self.peers))]
        self._start_node(timeout, self._node_ports[0])
        for peer, node_port in zip(self.peers, self._node_ports[1:]):
            # Whatever a test changed in this server's arguments holds for every node.
            peer.extra_args, peer.extra_env = list(self.extra_args), dict(self.extra_env)
            peer._start_node(timeout, node_port)
        self._front.start(self._node_ports, port)
        self.port = self._front.port
        return self

    def _start_node(self, timeout, port):
        if self.running:
            raise HangarError("server already running")
        if not os.access(self.binary, os.X_OK):
            raise HangarError(f"hangar binary not found or not executable: {self.binary} "
                              "(build it, or set HANGAR_BIN)")
        env = dict(os.environ)
        env.pop("HANGAR_DEV_CLOCK", None)
        env.update({
            "HANGAR_ACCOUNT_ID": self.account_id,
            "HANGAR_ROOT_ACCESS_KEY_ID": self.access_key_id,
            "HANGAR_ROOT_SECRET_ACCESS_KEY": self.secret_access_key,
        })
        if self.dev_clock:
            env["HANGAR_DEV_CLOCK"] = "1"
        env.update(self.extra_env)
        with open(self.log_path, "ab") as log:
            log.write(f"--- start {datetime.datetime.now().isoformat()} ---\n".encode())
            log.flush()
            command = [self.binary, "serve", *(["--data-dir", self.data_dir]
                                               if self.use_data_dir else []),
                       "--listen", f"{self.listen_host}:{port}"] + self.extra_args
            self.proc = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log, env=env,
                preexec_fn=_child_setup(self.preexec_fn))
        _live_servers.add(self)
        self._stdout_queue = queue.Queue()
        threading.Thread(target=self._read_stdout, args=(self.proc, self._stdout_queue),
                         daemon=True).start()
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._stdout_queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.kill()
                raise HangarError(f"no listening line within {timeout:.0f} s\n{self.log_tail()}")
            # Log lines the server wrote before it listened (e.g. crash recovery's summary).
            if line is None or not _LOG_LINE.match(line):
                break
        if line is None:
            rc = self.proc.wait()
            self._reap()
            raise HangarError(f"hangar exited with {rc} before listening\n{self.log_tail()}")
        m = _LISTENING.match(line)
        if not m:
            self.kill()
            raise HangarError(f"unexpected first stdout line: {line!r}\n{self.log_tail()}")
        self.scheme = m.group(1)
        self.port = int(m.group(3))
        self._banner_index = max(i for i, text in enumerate(self.stdout_lines) if text == line)
        self._listening_at = time.monotonic()
        self._admin_port, self._admin_port_known = None, False
        return self

    @property
    def admin_port(self) -> Optional[int]:
        """The operator listener's port from the banner line "  admin:        http://HOST:PORT"
        (metrics, health), or None if this run's banner has no such line."""
        if self.port is None:
            raise HangarError("server is not running")
        deadline = self._listening_at + BANNER_SETTLE_SECONDS
        while not self._admin_port_known:
            for text in self.stdout_lines[self._banner_index + 1:]:
                m = _ADMIN_LINE.match(text)
                if m:
                    self._admin_port, self._admin_port_known = int(m.group(3)), True
                    break
            else:
                if time.monotonic() >= deadline:
                    self._admin_port_known = True  # the banner is complete and has none
                else:
                    time.sleep(0.01)  # the reader thread is still queueing the banner's lines
        return self._admin_port

    def _read_stdout(self, proc, lines):
        try:
            for raw in proc.stdout:
                text = raw.decode("utf-8", "replace").rstrip("\n")
                self.stdout_lines.append(text)
                lines.put(text)
        finally:
            proc.stdout.close()
            lines.put(None)

    def stop(self, timeout=STOP_TIMEOUT_SECONDS) -> int:
        """SIGTERM, then waits for a graceful exit. Returns the exit code; raises HangarError
        (after SIGKILL) if the server does not exit in time. Every node; the first's code."""
        rc = self._stop_node(timeout)
        for peer in self.peers:
            peer.stop(timeout)
        return rc

    def _stop_node(self, timeout):
        if self.proc is None:
            return 0
        proc = self.proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise HangarError(f"hangar ignored SIGTERM for {timeout:.0f} s\n{self.log_tail()}")
        self._reap()
        return proc.returncode

    def kill(self) -> int:
        """kill -9: no chance to flush or close anything. Every node."""
        for peer in self.peers:
            peer.kill()
        return self._kill_node()

    def _kill_node(self) -> int:
        if self.proc is None:
            return 0
        proc = self.proc
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        self._reap()
        return proc.returncode

    def _reap(self):
        self.proc = None
        self.port = None
        self._admin_port, self._admin_port_known = None, False
        _live_servers.discard(self)

    def restart(self) -> int:
        """Graceful stop (SIGTERM) and start on the same data dir and credentials. Returns the
        exit code of the stopped process. The server comes back on the same port when it is
        still free (so existing clients keep working), else on a new one: check `endpoint`."""
        port = self.port
        rc = self.stop()
        self._start_again(port)
        return rc

    def crash_restart(self):
        """kill -9, then start on the same data dir, credentials and (if free) port."""
        port = self.port
        self.kill()
        self._start_again(port)

    def _start_again(self, port):
        try:
            self.start(port=port or 0)
        except HangarError:
            if not port or self.running:
                raise
            self.start(port=0)  # someone took the port meanwhile

    def close(self):
        """Stops the server (kill if SIGTERM fails) and removes the temp dir. Idempotent."""
        if self._closed:
            return
        try:
            self.stop()
        except HangarError:
            pass
        finally:
            self.kill()
            for peer in self.peers:
                peer.close()
            if self._front:
                self._front.close()
            self._closed = True
            if os.environ.get("HANGAR_E2E_KEEP") != "1":
                shutil.rmtree(self.tmp_dir, ignore_errors=True)

    def log_tail(self, lines=40) -> str:
        """The last lines of the server's stdout (where it logs) and stderr, for failure texts."""
        try:
            with open(self.log_path, "r", errors="replace") as f:
                stderr = "".join(f.readlines()[-lines:])
        except OSError:
            stderr = "(none)\n"
        stdout = "\n".join(self.stdout_lines[-lines:])
        tail = f"server stdout (tail):\n{stdout}\nserver stderr (tail):\n{stderr}"
        for i, peer in enumerate(self.peers, 1):
            tail += f"\n--- node {i} ---\n" + peer.log_tail(lines // 2)
        return tail

    # --- endpoints and clients -----------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        if self.port is None:
            raise HangarError("server is not running")
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def aws_env(self) -> dict:
        """Environment for the aws CLI: the root key, us-east-1, and empty config files. Other
        AWS_* variables of the caller (profile, session token, endpoint overrides) are dropped;
        AWS_CA_BUNDLE and everything else is kept as it is."""
        env = {k: v for k, v in os.environ.items()
               if not (k.startswith("AWS_") and k != "AWS_CA_BUNDLE")}
        env.update({
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_CONFIG_FILE": self.aws_config_file,
            "AWS_SHARED_CREDENTIALS_FILE": self.aws_credentials_file,
            "AWS_MAX_ATTEMPTS": "1",  # an error is an answer, not something to retry
            "AWS_PAGER": "",
        })
        return env

    def aws(self, *args, timeout=CLI_TIMEOUT_SECONDS, env=None) -> CliResult:
        """Runs `aws --endpoint-url <endpoint> --output json <args>`. Returns (rc, out, err) with
        out parsed as JSON when it is JSON, else the stripped text."""
        cmd = [AWS_CLI, "--endpoint-url", self.endpoint, "--output", "json", *map(str, args)]
        proc = subprocess.run(cmd, env=env or self.aws_env(), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        out: Any = proc.stdout.strip()
        if out:
            try:
                out = json.loads(out)
            except ValueError:
                pass
        return CliResult(proc.returncode, out, proc.stderr)

    def botocore_session(self) -> botocore.session.Session:
        # No profile from AWS_PROFILE, and config files that are empty.
        session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
        session.set_config_variable("config_file", self.aws_config_file)
        session.set_config_variable("credentials_file", self.aws_credentials_file)
        return session

    def client(self, service="kms", *, validate=True, access_key_id=None,
               secret_access_key=None, session_token=None, region=REGION, verify=None,
               direct=False, **config):
        """A boto3 client for `service` at this server, signed with the root key (or the given
        one, with `session_token` for temporary credentials). validate=False turns off
        botocore's client-side parameter checks so that invalid values reach the server. No
        retries: an error is the answer under test. Other keyword arguments go to botocore's
        Config (they may override the 10 s / 60 s timeouts). direct: to the first node itself,
        not through the cluster's front (tests of a node's own connection handling)."""
        cfg = botocore.config.Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            parameter_validation=validate, **{"connect_timeout": 10, "read_timeout": 60, **config})
        session = boto3.session.Session(
            aws_access_key_id=access_key_id or self.access_key_id,
            aws_secret_access_key=secret_access_key or self.secret_access_key,
            aws_session_token=session_token, region_name=region,
            botocore_session=self.botocore_session())
        endpoint = self.endpoint
        if direct and self.peers:
            endpoint = f"{self.scheme}://127.0.0.1:{self._node_ports[0]}"
        return session.client(service, endpoint_url=endpoint, config=cfg, verify=verify)

    def s3_client(self, **kwargs):
        """A boto3 S3 client with path-style addressing (`/bucket/key`); kwargs as for client()."""
        kwargs.setdefault("s3", {"addressing_style": "path"})
        return self.client("s3", **kwargs)

    # --- dev clock -----------------------------------------------------------------------------

    def _internal(self, method, path, query="", *, port=None, signed=False) -> dict:
        """A request to one of Hangar's own endpoints. signed: SigV4 with the root key and
        credential scope service "hangar" (docs/hardening.md item 14)."""
        if signed:
            target, headers = self.sign(b"", method=method, path=path, query=query,
                                        service="hangar")
        else:
            target, headers = path + (("?" + query) if query else ""), {}
        conn = http.client.HTTPConnection("127.0.0.1", port or self.port, timeout=120)
        try:
            conn.request(method, target, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise HangarError(f"{method} {target} -> {resp.status} {body!r}")
        return json.loads(body)

    def advance_clock(self, seconds: int) -> float:
        """Moves the lifecycle clock forward; due deletions and rotations have run when this
        returns. Returns the server's new lifecycle time in epoch seconds. Signed by the
        account root (service "hangar"), as the endpoint requires."""
        answer = self._internal("POST", "/_hangar/dev/clock", f"advance={int(seconds)}",
                                signed=True)
        return answer["epoch_ms"] / 1000.0

    def clock_now(self) -> float:
        """The server's lifecycle time in epoch seconds."""
        return self._internal("GET", "/_hangar/dev/clock", signed=True)["epoch_ms"] / 1000.0

    # --- raw signed HTTP -----------------------------------------------------------------------

    def sign(self, body: bytes = b"", *, method="POST", path="/", query="", headers=None,
             service="kms", target=None, access_key_id=None, secret_access_key=None,
             region=REGION, signed_at=None):
        """Signs a request with botocore's SigV4Auth. Returns (path with query, headers dict)
        ready for http.client. `target` sets X-Amz-Target (KMS: "TrentService.<Op>");
        `signed_at` is the naive UTC datetime to sign as (default now)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        hdrs = {"Host": f"127.0.0.1:{self.port}"}
        if service == "kms" or target is not None:
            hdrs["Content-Type"] = "application/x-amz-json-1.1"
        if target is not None:
            hdrs["X-Amz-Target"] = target
        hdrs.update(headers or {})
        url = self.endpoint + path + (("?" + query) if query else "")
        request = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=hdrs)
        creds = botocore.credentials.Credentials(access_key_id or self.access_key_id,
                                                 secret_access_key or self.secret_access_key)
        signer = DatedS3SigV4Auth if service == "s3" else DatedSigV4Auth
        signer(creds, service, region, signed_at).add_auth(request)
        prepared = request.prepare()
        parsed = urllib.parse.urlsplit(prepared.url)
        target_path = parsed.path + (("?" + parsed.query) if parsed.query else "")
        return target_path, {k: v for k, v in prepared.headers.items()
                             if k.lower() not in ("content-length", "transfer-encoding")}

    def raw_request(self, body: bytes = b"", *, method="POST", path="/", query="",
                    headers=None, service="kms", target=None, sign=True, access_key_id=None,
                    secret_access_key=None, region=REGION, signed_at=None,
                    after_signing=None, send_body=None, timeout=30.0,
                    host="127.0.0.1") -> RawResponse:
        """Sends one request, signed as sign() does unless sign=False, over a fresh connection.
        The body is sent as given, so it may be malformed JSON. Header values may be bytes
        (sent as is, e.g. invalid UTF-8; never signed). To tamper with a signed request,
        `after_signing` replaces headers after signing and `send_body` is sent instead of the
        signed body. `host`: the address to connect to (see listen_host)."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        raw_headers = {k: v for k, v in (headers or {}).items() if isinstance(v, bytes)}
        text_headers = {k: v for k, v in (headers or {}).items() if not isinstance(v, bytes)}
        if sign:
            target_path, hdrs = self.sign(
                body, method=method, path=path, query=query, headers=text_headers,
                service=service, target=target, access_key_id=access_key_id,
                secret_access_key=secret_access_key, region=region, signed_at=signed_at)
        else:
            target_path = path + (("?" + query) if query else "")
            hdrs = {"Host": f"127.0.0.1:{self.port}"}
            if service == "kms" or target is not None:
                hdrs["Content-Type"] = "application/x-amz-json-1.1"
            if target is not None:
                hdrs["X-Amz-Target"] = target
            hdrs.update(text_headers)
        for name, value in (after_signing or {}).items():
            hdrs = {k: v for k, v in hdrs.items() if k.lower() != name.lower()}
            hdrs[name] = value
        if send_body is not None:
            body = send_body
        head = f"{method} {target_path} HTTP/1.1\r\n".encode()
        for name, value in hdrs.items():
            head += name.encode() + b": " + value.encode("latin-1") + b"\r\n"
        for name, value in raw_headers.items():
            head += name.encode() + b": " + value + b"\r\n"
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        return self.raw_exchange(head, body, timeout=timeout, method=method, host=host)

    def raw_exchange(self, head: bytes, body: bytes = b"", timeout=30.0,
                     method="POST", host="127.0.0.1") -> RawResponse:
        """Writes `head` then `body` (from another thread, so that a server that answers early
        and closes, e.g. with 413, does not block us) and reads one HTTP response. `method` is
        the request's method (a response to HEAD has no body whatever its Content-Length)."""
        sock = socket.create_connection((host, self.port), timeout=timeout)
        sender = None
        try:
            sock.sendall(head)
            if body:
                def pump():
                    try:
                        sock.sendall(body)
                    except OSError:
                        pass  # the server stopped reading: expected after an early answer
                sender = threading.Thread(target=pump, daemon=True)
                sender.start()
            resp = http.client.HTTPResponse(sock, method=method)
            resp.begin()
            data = resp.read()
            return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
        finally:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
            if sender is not None:
                sender.join(timeout)

    def s3_request(self, method: str, path: str, body: bytes = b"", *, query="", headers=None,
                   content_sha256=None, **kwargs) -> RawResponse:
        """A raw S3 request (path-style unless a Host header says otherwise), SigV4-signed for
        service s3 unless sign=False. `path` is sent as given, so percent-encode keys yourself.
        x-amz-content-sha256 is the body's SHA-256 unless `content_sha256` gives another value
        (False: no such header). Other kwargs as for raw_request()."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        hdrs = dict(headers or {})
        if content_sha256 is None:
            content_sha256 = hashlib.sha256(body).hexdigest()
        if content_sha256 is not False and not any(
                k.lower() == "x-amz-content-sha256" for k in hdrs):
            hdrs["X-Amz-Content-SHA256"] = content_sha256
        return self.raw_request(body, method=method, path=path, query=query, headers=hdrs,
                                service="s3", **kwargs)

    def kms_call(self, operation: str, payload, **kwargs) -> RawResponse:
        """A raw KMS JSON 1.1 call; payload is a dict (dumped) or raw bytes/str (sent as is)."""
        body = payload if isinstance(payload, (bytes, str)) else json.dumps(payload)
        return self.raw_request(body, target=f"TrentService.{operation}", **kwargs)

    # --- the data directory --------------------------------------------------------------------

    @property
    def db_path(self) -> str:
        return os.path.join(self.data_dir, "metadata.db")

    def query_db(self, sql, params=()):
        """Runs a read-only query on the metadata store (safe while the server runs: WAL)."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def documents(self, collection, partition=None):
        """(partition, id, parsed JSON body) of the metadata documents of `collection`
        (optionally of one partition), partition and id as text. In cluster mode from the
        PostgreSQL database (psql), else from metadata.db."""
        if self.cluster:
            return [(part, doc_id, stored_json(body))
                    for part, doc_id, body in self._cluster_documents(collection, partition)]
        sql = ("SELECT CAST(partition AS TEXT), CAST(id AS TEXT), body FROM documents "
               "WHERE collection = ?")
        params = [collection]
        if partition is not None:
            sql += " AND CAST(partition AS TEXT) = ?"
            params.append(partition)
        out = []
        for part, doc_id, body in self.query_db(sql, params):
            out.append((part, doc_id, stored_json(body)))
        return out

    def _cluster_documents(self, collection, partition):
        """(partition text, id text, body bytes) from the cluster's `hangar.documents` table."""
        query = ("SELECT encode(partition, 'hex'), encode(id, 'hex'), encode(body, 'hex') "
                 "FROM hangar.documents WHERE collection = decode(:'collection', 'hex')")
        variables = ["-v", "collection=" + collection.encode().hex()]
        if partition is not None:
            query += " AND partition = decode(:'partition', 'hex')"
            variables += ["-v", "partition=" + partition.encode().hex()]
        done = subprocess.run(["psql", self.cluster.metadata_uri, "-qAt", "-F", "\t",
                               "-v", "ON_ERROR_STOP=1", *variables],
                              input=query + ";\n", capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise HangarError(f"psql: {done.stderr}")
        rows = []
        for line in done.stdout.splitlines():
            part, doc_id, body = line.split("\t")
            rows.append((bytes.fromhex(part).decode("utf-8", "replace"),
                         bytes.fromhex(doc_id).decode("utf-8", "replace"), bytes.fromhex(body)))
        return rows

    def object_record(self, bucket, key) -> dict:
        """The stored `s3.object` document of bucket/key (parsed JSON); HangarError if absent."""
        for _, doc_id, body in self.documents("s3.object", bucket):
            if doc_id == key:
                return body
        raise HangarError(f"no s3.object document for {bucket}/{key}")

    def blob_path(self, blob_id) -> str:
        """Where a published blob lives: DATA_DIR/blobs/objects/<first 2 hex>/<id>."""
        return os.path.join(self.data_dir, "blobs", "objects", blob_id[:2], blob_id)

    def data_files(self):
        """Every regular file under the data dir (blobs, metadata.db, -wal, -shm, staging)."""
        out = []
        for root, _, names in os.walk(self.data_dir):
            for name in names:
                path = os.path.join(root, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    out.append(path)
        return sorted(out)

    def files_containing(self, *needles: bytes):
        """Paths (relative to the data dir) of the files whose raw bytes contain any needle."""
        hits = []
        for path in self.data_files():
            try:
                with open(path, "rb") as f:
                    content = f.read()
            except FileNotFoundError:
                continue  # e.g. a staged blob published or deleted meanwhile
            if any(needle in content for needle in needles):
                hits.append(os.path.relpath(path, self.data_dir))
        return hits

    def metrics(self) -> dict:
        """GET /_hangar/metrics: Hangar's own counters, e.g. {"kms_calls": {"Decrypt": n}}.
        Asked on the admin listener when the banner names one, else on the main port."""
        return self._internal("GET", "/_hangar/metrics", port=self.admin_port or self.port)

    # --- the process from outside -------------------------------------------------------------

    @property
    def pid(self) -> int:
        if not self.running:
            raise HangarError("server is not running")
        return self.proc.pid

    def proc_status(self, field):
        """A field of /proc/<pid>/status: the number for "<n> kB" fields (VmRSS, VmHWM, ...),
        else the text."""
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                name, _, value = line.partition(":")
                if name == field:
                    value = value.strip()
                    if value.endswith(" kB"):
                        return int(value[:-3])
                    return value
        raise HangarError(f"no {field} in /proc/{self.pid}/status")

    def peak_rss_kb(self) -> int:
        """The server's peak resident set size so far (VmHWM), in KiB."""
        return self.proc_status("VmHWM")

    def cpu_seconds(self) -> float:
        """User plus system CPU time the server has used so far (/proc/<pid>/stat)."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
        return (utime + stime) / os.sysconf("SC_CLK_TCK")

    def admin_location_args(self) -> list:
        """Where `hangar admin` finds this server's accounts: its data dir, and in cluster mode
        the PostgreSQL database too."""
        args = ["--data-dir", self.data_dir]
        if self.cluster:
            args += ["--metadata", self.cluster.metadata_uri]
        return args

    def admin_env(self) -> dict:
        """The environment for `hangar admin` beside this server (the cluster's root key)."""
        env = dict(os.environ)
        if self.cluster:
            env["HANGAR_ROOT_KEY"] = self.extra_env["HANGAR_ROOT_KEY"]
        return env

    def second_account(self, account_id=None) -> dict:
        """Creates another account with `hangar admin create-account` (beside the running
        server) and returns its {AccountId, AccessKeyId, SecretAccessKey}."""
        command = [self.binary, "admin", "create-account"] + self.admin_location_args()
        if account_id:
            command += ["--account-id", account_id]
        proc = subprocess.run(command, capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL, env=self.admin_env())
        if proc.returncode != 0:
            raise HangarError(f"create-account failed ({proc.returncode}): {proc.stderr}")
        return json.loads(proc.stdout)


class DatedSigV4Auth(botocore.auth.SigV4Auth):
    """botocore's SigV4 signer with an optional fixed signing time (to send stale requests)."""

    def __init__(self, credentials, service_name, region_name, signed_at=None):
        super().__init__(credentials, service_name, region_name)
        self._signed_at = signed_at

    def add_auth(self, request):
        if self._signed_at is None:
            return super().add_auth(request)
        request.context["timestamp"] = self._signed_at.strftime(botocore.auth.SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical_request = self.canonical_request(request)
        string_to_sign = self.string_to_sign(request, canonical_request)
        self._inject_signature_to_request(request, self.signature(string_to_sign, request))


class DatedS3SigV4Auth(DatedSigV4Auth):
    """The same for S3, whose canonical URI is the path as sent: it is not normalised or
    percent-encoded a second time (botocore's S3SigV4Auth does the same)."""

    def _normalize_url_path(self, path):
        return path


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class HangarTestCase(unittest.TestCase):
    """Starts one HangarServer for the TestCase class (setUpClass) and always stops it."""

    server: HangarServer
    server_options: dict = {}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server = HangarServer(**cls.server_options)
        cls.addClassCleanup(cls.server.close)
        cls.server.start()

    def assertClientError(self, error_code, message, call, *args, **kwargs):
        """Runs a boto3 call that must fail with `error_code` and exactly `message` (None: any
        message) and HTTP 400. Returns the botocore ClientError."""
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            call(*args, **kwargs)
        err = cm.exception.response["Error"]
        meta = cm.exception.response["ResponseMetadata"]
        self.assertEqual(err.get("Code"), error_code, cm.exception.response)
        if message is not None:
            self.assertEqual(err.get("Message"), message, cm.exception.response)
        self.assertEqual(meta["HTTPStatusCode"], 400, cm.exception.response)
        return cm.exception

    def assertS3Error(self, status, error_code, message, call, *args, s3_fields=None, **kwargs):
        """Runs a boto3 S3 call that must fail with HTTP `status`, `error_code` and exactly
        `message` (None: any message); `s3_fields` are further elements the error XML must carry
        (e.g. {"BucketName": "b"}). Returns the botocore error response."""
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            call(*args, **kwargs)
        response = cm.exception.response
        err = response["Error"]
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], status, response)
        self.assertEqual(err.get("Code"), error_code, response)
        if message is not None:
            self.assertEqual(err.get("Message"), message, response)
        for name, value in (s3_fields or {}).items():
            self.assertEqual(err.get(name), value, f"{name} in {response}")
        return response

    def assertCliError(self, result: CliResult, error_code, message=None):
        """The aws CLI run failed with `error_code` (and exactly `message` if given)."""
        self.assertNotEqual(result.rc, 0, f"expected {error_code}, CLI succeeded: {result.out}")
        parsed = result.error
        self.assertIsNotNone(parsed, f"no AWS error on stderr: {result.err!r}")
        self.assertEqual(parsed[0], error_code, result.err)
        if message is not None:
            self.assertEqual(parsed[1], message, result.err)

    def assertCliOk(self, result: CliResult):
        self.assertEqual(result.rc, 0, f"aws CLI failed: {result.err}")
        return result.out
