#!/usr/bin/env python3
"""Soak benchmark: Hangar under a mixed load for a long time, its memory sampled throughout.

Starts Hangar (temp data dir, random root credentials, port 0) and drives it from a few client
threads (boto3) for --minutes with a mix of every service:

  * S3: small (0-64 KiB) and medium (1-4 MiB) PUT / GET / DELETE, ListObjectsV2, multipart
    uploads (3 parts, complete), in a plain bucket; small PUT / GET in a bucket whose default
    encryption is SSE-KMS with a Bucket Key;
  * KMS: GenerateDataKey (+ Decrypt of its ciphertext), Encrypt + Decrypt with an encryption
    context;
  * STS: AssumeRole by an IAM user, then GetCallerIdentity and a ListObjectsV2 with the session;
  * IAM churn: CreateUser, PutUserPolicy, CreateAccessKey, one call signed with the new key,
    DeleteAccessKey, DeleteUserPolicy, DeleteUser (caches keyed by user or access key must let go).

Each thread owns its keys (t<n>/...), so every answer is checked against what the thread wrote:
GET bodies by SHA-256, listings by exact key set, KMS round trips by plaintext, SSE headers. A
wrong answer counts as an error, like a failed request. The key space is bounded (overwrites), so
the data the server holds stops growing early; memory should too.

Every --sample-seconds the server's RSS (VmRSS in /proc/<pid>/status) is sampled. At the end it
prints RSS over time (a table with the operation rate), start / end / max RSS and peak (VmHWM),
and a verdict on growth: the slope of a least-squares line through the samples of the second half
(the first half is warm-up: caches, allocator arenas, SQLite's page cache fill), in MiB/hour; the
memory is "flat" when the slope is below --max-growth.

Exit status 0 whatever the figures, unless --strict (then 1 if the memory grows, any request
failed or the server died). Builds nothing (default binary: build/hangar).

Usage: python3 bench/soak.py [--minutes 30] [--sample-seconds 30] [--threads 4] [--strict]
"""

import argparse
import collections
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time

import boto3
import botocore.config
import botocore.exceptions
import botocore.session

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_bench as sb  # noqa: E402 - the benchmarks' Hangar starter

KiB, MiB = sb.KiB, sb.MiB
REGION = sb.REGION
PLAIN_BUCKET = sb.BUCKET  # made by sb.start_hangar
KMS_BUCKET = "soak-sse-kms"
KEY_ALIAS = "alias/soak"
ASSUMER = "soak-assumer"
ROLE = "soak-role"
SMALL_KEYS, MEDIUM_KEYS, MULTIPART_KEYS, KMS_KEYS = 40, 6, 2, 20  # per thread: bounded data
PART_SIZE = 5 * MiB
MAX_ERRORS_KEPT = 20


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sb.add_program_options(p, "hangar")
    p.add_argument("--minutes", type=float, default=30.0, help="length of the load (default 30)")
    p.add_argument("--sample-seconds", type=float, default=30.0,
                   help="RSS sampling interval (default 30)")
    p.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    p.add_argument("--max-growth", type=float, default=10.0, metavar="MIB_PER_HOUR",
                   help="second-half RSS slope above which the memory counts as growing "
                        "(default 10 MiB/hour)")
    p.add_argument("--seed", type=int, default=None, help="seed of the clients' choices")
    p.add_argument("--data-root", default=None, help="where the temp data dir goes")
    p.add_argument("--json", metavar="FILE", help="also write the samples and counts to FILE")
    p.add_argument("--strict", action="store_true",
                   help="exit 1 if the memory grows, a request failed or the server died")
    args = p.parse_args()
    if not os.access(args.hangar, os.X_OK):
        p.error(f"{args.hangar} is not an executable; build it first (ninja -C build hangar)")
    if args.seed is None:
        args.seed = random.randrange(1 << 32)
    return args


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def sha256(data):
    return hashlib.sha256(data).hexdigest()


class Wrong(Exception):
    """An answer that arrived but is not what the server should have said."""


class Stats:
    """Operation and error counts of all threads. Thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ops = collections.Counter()
        self.errors = collections.Counter()
        self.first_errors = []

    def done(self, op):
        with self.lock:
            self.ops[op] += 1

    def failed(self, op, error):
        with self.lock:
            self.errors[op] += 1
            if len(self.first_errors) < MAX_ERRORS_KEPT:
                self.first_errors.append(f"{op}: {error!r}"[:500])

    def total(self):
        with self.lock:
            return sum(self.ops.values()), sum(self.errors.values())


class Clients:
    """boto3 clients of one thread, made from its own botocore session (sessions are not
    thread-safe; clients are)."""

    def __init__(self, server):
        self.server = server
        self.session = boto3.session.Session(botocore_session=botocore.session.Session())
        self.config = botocore.config.Config(
            retries={"total_max_attempts": 1, "mode": "standard"},  # an error is a finding
            s3={"addressing_style": "path"}, connect_timeout=10, read_timeout=120)

    def make(self, service, creds=None):
        akid, secret, token = creds or (self.server.access_key_id,
                                        self.server.secret_access_key, None)
        return self.session.client(service, endpoint_url=self.server.endpoint,
                                   region_name=REGION, aws_access_key_id=akid,
                                   aws_secret_access_key=secret, aws_session_token=token,
                                   config=self.config)


# --- fixtures ---------------------------------------------------------------------------------

def set_up(server):
    """The KMS key and alias, the SSE-KMS bucket, the assuming user and its role. Returns what
    the workers need."""
    clients = Clients(server)
    kms, s3, iam = clients.make("kms"), clients.make("s3"), clients.make("iam")
    account = clients.make("sts").get_caller_identity()["Account"]
    key_id = kms.create_key(Description="soak")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=KEY_ALIAS, TargetKeyId=key_id)
    s3.create_bucket(Bucket=KMS_BUCKET)
    s3.put_bucket_encryption(Bucket=KMS_BUCKET, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                               "KMSMasterKeyID": KEY_ALIAS},
        "BucketKeyEnabled": True}]})
    iam.create_user(UserName=ASSUMER)
    ak = iam.create_access_key(UserName=ASSUMER)["AccessKey"]
    trust = policy({"Effect": "Allow", "Action": "sts:AssumeRole",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:user/{ASSUMER}"}})
    role_arn = iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName=ROLE, PolicyName="list", PolicyDocument=policy(
        {"Effect": "Allow", "Action": "s3:ListBucket",
         "Resource": f"arn:aws:s3:::{PLAIN_BUCKET}"}))
    return {"key_id": key_id, "role_arn": role_arn,
            "assumer": (ak["AccessKeyId"], ak["SecretAccessKey"], None)}


# --- the load ---------------------------------------------------------------------------------

class Worker:
    """One client thread: a weighted random mix of operations on keys only it writes."""

    def __init__(self, index, server, fixtures, stats, stop, seed):
        self.n = index
        self.rng = random.Random(seed * 1000 + index)
        self.fixtures = fixtures
        self.stats = stats
        self.stop = stop
        self.clients = Clients(server)
        self.s3 = self.clients.make("s3")
        self.kms = self.clients.make("kms")
        self.iam = self.clients.make("iam")
        self.assumer_sts = self.clients.make("sts", fixtures["assumer"])
        self.expected = {}  # (bucket, key) -> SHA-256 of what this thread last wrote; None: deleted
        self.churned = 0
        self.ops = [  # (weight, name, method)
            (20, "s3.put_small", self.put_small), (20, "s3.get_small", self.get_small),
            (5, "s3.delete", self.delete), (4, "s3.put_medium", self.put_medium),
            (4, "s3.get_medium", self.get_medium), (5, "s3.list", self.list_own),
            (1, "s3.multipart", self.multipart),
            (8, "sse_kms.put", self.put_kms), (8, "sse_kms.get", self.get_kms),
            (8, "kms.generate_data_key", self.generate_data_key),
            (8, "kms.encrypt_decrypt", self.encrypt_decrypt),
            (3, "sts.assume_role", self.assume_role), (2, "iam.churn", self.iam_churn),
        ]
        self.weights = [w for w, _, _ in self.ops]

    def run(self):
        while not self.stop.is_set():
            _, name, op = self.rng.choices(self.ops, weights=self.weights)[0]
            try:
                op()
            except Exception as e:  # noqa: BLE001 - any failure or wrong answer is counted
                self.stats.failed(name, e)
            else:
                self.stats.done(name)

    # --- S3 helpers ---

    def key(self, kind, count):
        return f"t{self.n}/{kind}/{self.rng.randrange(count)}"

    def put(self, bucket, key, body):
        answer = self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        if answer["ETag"] != '"%s"' % hashlib.md5(body).hexdigest():
            raise Wrong(f"PUT {bucket}/{key}: ETag {answer['ETag']} is not the body's MD5")
        self.expected[(bucket, key)] = sha256(body)
        return answer

    def get(self, bucket, kind):
        """GETs one of this thread's keys of `kind` and checks it against what was written."""
        written = [k for (b, k) in self.expected if b == bucket and k.split("/")[1] == kind]
        if not written:
            return None
        key = self.rng.choice(written)
        want = self.expected[(bucket, key)]
        try:
            answer = self.s3.get_object(Bucket=bucket, Key=key)
            body = answer["Body"].read()
        except botocore.exceptions.ClientError as e:
            if want is None and e.response["Error"]["Code"] == "NoSuchKey":
                return None
            raise
        if want is None or sha256(body) != want:
            raise Wrong(f"GET {bucket}/{key}: {len(body)} bytes, not the version written")
        return answer

    def put_small(self):
        size = self.rng.choice([0, 1, 100, 4 * KiB, 16 * KiB, 64 * KiB])
        self.put(PLAIN_BUCKET, self.key("small", SMALL_KEYS), self.rng.randbytes(size))

    def get_small(self):
        self.get(PLAIN_BUCKET, "small")

    def delete(self):
        kind, count = self.rng.choice([("small", SMALL_KEYS), ("medium", MEDIUM_KEYS)])
        key = self.key(kind, count)
        self.s3.delete_object(Bucket=PLAIN_BUCKET, Key=key)
        if (PLAIN_BUCKET, key) in self.expected:
            self.expected[(PLAIN_BUCKET, key)] = None

    def put_medium(self):
        size = self.rng.randrange(1 * MiB, 4 * MiB)
        self.put(PLAIN_BUCKET, self.key("medium", MEDIUM_KEYS), self.rng.randbytes(size))

    def get_medium(self):
        self.get(PLAIN_BUCKET, self.rng.choice(["medium", "mp"]))

    def list_own(self):
        """ListObjectsV2 of this thread's prefix (2 pages) must show exactly its live keys."""
        prefix = f"t{self.n}/"
        listed = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=PLAIN_BUCKET, Prefix=prefix, PaginationConfig={"PageSize": 30}):
            listed.update(o["Key"] for o in page.get("Contents", []))
        live = {k for (b, k), digest in self.expected.items()
                if b == PLAIN_BUCKET and digest is not None}
        if listed != live:
            raise Wrong(f"list {prefix}: missing {sorted(live - listed)[:5]}, "
                        f"extra {sorted(listed - live)[:5]}")

    def multipart(self):
        key = self.key("mp", MULTIPART_KEYS)
        parts = [self.rng.randbytes(PART_SIZE), self.rng.randbytes(PART_SIZE),
                 self.rng.randbytes(self.rng.randrange(1, 64 * KiB))]
        upload = self.s3.create_multipart_upload(Bucket=PLAIN_BUCKET, Key=key)["UploadId"]
        etags = []
        for number, body in enumerate(parts, start=1):
            etags.append(self.s3.upload_part(Bucket=PLAIN_BUCKET, Key=key, UploadId=upload,
                                              PartNumber=number, Body=body)["ETag"])
        done = self.s3.complete_multipart_upload(
            Bucket=PLAIN_BUCKET, Key=key, UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e}
                                       for i, e in enumerate(etags)]})
        if not done["ETag"].endswith('-3"'):
            raise Wrong(f"multipart {key}: ETag {done['ETag']}")
        self.expected[(PLAIN_BUCKET, key)] = sha256(b"".join(parts))

    def check_sse(self, what, answer):
        if (answer.get("ServerSideEncryption") != "aws:kms" or
                not answer.get("BucketKeyEnabled") or
                not answer.get("SSEKMSKeyId", "").endswith(self.fixtures["key_id"])):
            raise Wrong(f"{what}: SSE-KMS + Bucket Key expected, got "
                        f"{answer.get('ServerSideEncryption')} {answer.get('SSEKMSKeyId')} "
                        f"bucket key {answer.get('BucketKeyEnabled')}")

    def put_kms(self):
        key = self.key("sse", KMS_KEYS)
        body = self.rng.randbytes(self.rng.choice([10, 4 * KiB, 32 * KiB]))
        answer = self.s3.put_object(Bucket=KMS_BUCKET, Key=key, Body=body)
        self.check_sse(f"PUT {key}", answer)
        self.expected[(KMS_BUCKET, key)] = sha256(body)

    def get_kms(self):
        answer = self.get(KMS_BUCKET, "sse")
        if answer is not None:
            self.check_sse("GET", answer)

    # --- KMS ---

    def generate_data_key(self):
        dk = self.kms.generate_data_key(KeyId=KEY_ALIAS, KeySpec="AES_256")
        back = self.kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"]
        if back != dk["Plaintext"] or len(back) != 32:
            raise Wrong("GenerateDataKey: Decrypt does not give the data key back")

    def encrypt_decrypt(self):
        plaintext = self.rng.randbytes(self.rng.randrange(1, 4 * KiB))
        context = {"thread": str(self.n), "n": str(self.rng.randrange(1000))}
        blob = self.kms.encrypt(KeyId=KEY_ALIAS, Plaintext=plaintext,
                                EncryptionContext=context)["CiphertextBlob"]
        back = self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
        if back["Plaintext"] != plaintext or back["KeyId"].split("/")[-1] != \
                self.fixtures["key_id"]:
            raise Wrong("Encrypt/Decrypt round trip differs")

    # --- IAM / STS ---

    def assume_role(self):
        creds = self.assumer_sts.assume_role(RoleArn=self.fixtures["role_arn"],
                                             RoleSessionName=f"soak-{self.n}",
                                             DurationSeconds=900)["Credentials"]
        session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        who = self.clients.make("sts", session).get_caller_identity()
        if not who["Arn"].endswith(f":assumed-role/{ROLE}/soak-{self.n}"):
            raise Wrong(f"GetCallerIdentity of the session: {who['Arn']}")
        self.clients.make("s3", session).list_objects_v2(Bucket=PLAIN_BUCKET, MaxKeys=5)

    def iam_churn(self):
        """A user's whole life: its policy and key must work while it exists."""
        self.churned += 1
        name = f"soak-churn-{self.n}-{self.churned}"
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(UserName=name, PolicyName="kms", PolicyDocument=policy(
            {"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}))
        ak = self.iam.create_access_key(UserName=name)["AccessKey"]
        as_user = self.clients.make("kms", (ak["AccessKeyId"], ak["SecretAccessKey"], None))
        # Key policy (default: the account) and identity policy both allow DescribeKey.
        as_user.describe_key(KeyId=self.fixtures["key_id"])
        self.iam.delete_access_key(UserName=name, AccessKeyId=ak["AccessKeyId"])
        self.iam.delete_user_policy(UserName=name, PolicyName="kms")
        self.iam.delete_user(UserName=name)


# --- sampling and the verdict -----------------------------------------------------------------

def least_squares_slope(points):
    """Slope of the least-squares line through (x, y) points; 0 for fewer than two."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return 0.0
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def growth_mib_per_hour(samples, start, end):
    """RSS slope (MiB/hour) over the samples taken between `start` and `end` seconds."""
    return least_squares_slope([(s["t"] / 3600, s["rss_kb"] / 1024) for s in samples
                                if start <= s["t"] <= end])


def sample(server, stats, t):
    ops, errors = stats.total()
    return {"t": t, "rss_kb": server.status_kb("VmRSS"), "hwm_kb": server.status_kb("VmHWM"),
            "ops": ops, "errors": errors}


def run_load(args, server, fixtures, stats):
    """Runs the workers for --minutes, sampling RSS; returns the samples and whether the server
    was still alive at the end."""
    stop = threading.Event()
    workers = [Worker(i, server, fixtures, stats, stop, args.seed) for i in range(args.threads)]
    threads = [threading.Thread(target=w.run, name=f"soak-{w.n}", daemon=True) for w in workers]
    duration = args.minutes * 60
    began = time.monotonic()
    samples = [sample(server, stats, 0.0)]
    log(f"  {0:7.1f} min  RSS {samples[0]['rss_kb'] / 1024:7.1f} MiB (before the load)")
    for t in threads:
        t.start()
    alive = True
    try:
        while True:
            elapsed = time.monotonic() - began
            if elapsed >= duration:
                break
            # The sampling cadence (a measurement interval, not synchronisation).
            stop.wait(min(args.sample_seconds, duration - elapsed))
            if server.proc.poll() is not None:
                alive = False
                log(f"hangar exited with {server.proc.returncode}:\n" +
                    "\n".join(server.output[-20:]))
                break
            s = sample(server, stats, time.monotonic() - began)
            samples.append(s)
            log(f"  {s['t'] / 60:7.1f} min  RSS {s['rss_kb'] / 1024:7.1f} MiB  "
                f"ops {s['ops']:,}  errors {s['errors']}")
    finally:
        stop.set()
        for t in threads:
            t.join(300)
    return samples, alive


def report(args, samples, stats, alive):
    duration = samples[-1]["t"]
    print()
    print(f"Soak: {args.minutes:g} min, {args.threads} client threads, seed {args.seed}, "
          f"RSS sampled every {args.sample_seconds:g} s, {os.cpu_count()} CPUs shared with "
          "the clients.")
    print(f"{'minute':>8} {'RSS MiB':>9} {'peak MiB':>9} {'ops':>9} {'ops/s':>7} {'errors':>7}")
    previous = None
    for s in samples:
        rate = "-"
        if previous is not None and s["t"] > previous["t"]:
            rate = f"{(s['ops'] - previous['ops']) / (s['t'] - previous['t']):.0f}"
        print(f"{s['t'] / 60:8.1f} {s['rss_kb'] / 1024:9.1f} {s['hwm_kb'] / 1024:9.1f} "
              f"{s['ops']:9,} {rate:>7} {s['errors']:7}")
        previous = s
    print()
    print(f"{'operation':<24} {'done':>8} {'errors':>7}")
    for op in sorted(set(stats.ops) | set(stats.errors)):
        print(f"{op:<24} {stats.ops[op]:8,} {stats.errors[op]:7}")
    for text in stats.first_errors:
        print(f"  error: {text}")

    rss = [s["rss_kb"] / 1024 for s in samples]
    first_half = growth_mib_per_hour(samples, 0, duration / 2)
    second_half = growth_mib_per_hour(samples, duration / 2, duration)
    print()
    print(f"RSS start {rss[0]:.1f} MiB (before the load), after the first interval "
          f"{rss[min(1, len(rss) - 1)]:.1f} MiB, end {rss[-1]:.1f} MiB, max {max(rss):.1f} MiB; "
          f"peak (VmHWM) {samples[-1]['hwm_kb'] / 1024:.1f} MiB")
    print(f"RSS slope (least squares): first half {first_half:+.1f} MiB/hour (warm-up), "
          f"second half {second_half:+.1f} MiB/hour")
    verdicts = []
    enough = sum(1 for s in samples if s["t"] >= duration / 2) >= 3
    if not enough:
        verdicts.append((False, "too few samples in the second half for a verdict "
                                "(run longer or sample more often)"))
    else:
        verdicts.append((second_half < args.max_growth,
                         f"memory {'flat' if second_half < args.max_growth else 'GROWING'}: "
                         f"second-half slope {second_half:+.1f} MiB/hour "
                         f"(threshold {args.max_growth:g})"))
    total_errors = sum(stats.errors.values())
    verdicts.append((total_errors == 0, f"{sum(stats.ops.values()):,} operations, "
                                        f"{total_errors} failed or wrong"))
    verdicts.append((alive, "server alive to the end" if alive else "server DIED"))
    for ok, text in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    return verdicts, first_half, second_half


def main():
    args = parse_args()
    root = tempfile.mkdtemp(prefix="hangar-soak-", dir=args.data_root)
    stats = Stats()
    server = None
    try:
        server = sb.start_hangar(args, root)
        log(f"hangar {server.endpoint} pid {server.proc.pid}, seed {args.seed}, "
            f"{args.minutes:g} min")
        fixtures = set_up(server)
        samples, alive = run_load(args, server, fixtures, stats)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)
    verdicts, first_half, second_half = report(args, samples, stats, alive)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"seed": args.seed, "minutes": args.minutes, "threads": args.threads,
                       "samples": samples, "ops": dict(stats.ops), "errors": dict(stats.errors),
                       "first_errors": stats.first_errors,
                       "slope_mib_per_hour": {"first_half": first_half,
                                              "second_half": second_half},
                       "verdicts": [{"pass": ok, "text": t} for ok, t in verdicts]}, f, indent=2)
    return 1 if args.strict and not all(ok for ok, _ in verdicts) else 0


if __name__ == "__main__":
    sys.exit(main())
