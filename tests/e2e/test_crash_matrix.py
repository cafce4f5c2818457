"""Crash matrix: SIGKILL at a random moment under a mixed load of every service, restart, check.

Each iteration starts seven client threads against the running server (one data directory for the
whole test, so state and garbage pile up across crashes as they would in production):

  * two writers of small PUTs (0-600 KB) and DELETEs on keys they share (overwrites race), which
    now and then also PUT into the bucket that the churn thread deletes and re-creates;
  * one writer of PUTs (up to 2 MiB) and DELETEs on its own keys, in a plain bucket and in one
    whose default encryption is SSE-KMS with a Bucket Key;
  * one multipart writer: CreateMultipartUpload, three parts (5 MiB, 5 MiB, a tail), Complete
    (sometimes Abort), on its own keys and on a key the small writers overwrite too;
  * one bucket churner: CreateBucket, PUTs, list + DELETE of everything, DeleteBucket, again,
    sometimes leaving the bucket deleted for a few steps. Right after each CreateBucket it reads
    the new bucket: it may only hold objects written into it, never one whose PUT was
    acknowledged before the bucket was created;
  * one KMS client: CreateKey (with a tag), Encrypt, ScheduleKeyDeletion, CancelKeyDeletion,
    EnableKey, CreateAlias / UpdateAlias / DeleteAlias;
  * one IAM client: CreateUser, PutUserPolicy (and overwrites), CreateAccessKey, and the removal
    of users (DeleteAccessKey, DeleteUserPolicy, DeleteUser).

After a random delay (the experiment: seeded by HANGAR_CRASH_SEED, printed) the server is killed
with SIGKILL and restarted on the same data directory (that must succeed every time). Then:

  * Acknowledged means the client received the whole 2xx response. A request whose answer did
    not arrive before the kill is *unknown*: it may or may not have happened. Every write is a
    write to one or more "cells" (an object, a bucket, a key's state, an alias, a user, a policy,
    a user's access key) with the value it sets, and its start and end times (DeleteBucket and
    CreateBucket set every object of the bucket absent: a deleted bucket's objects are gone, a
    new bucket is empty). A cell may now hold
    the value of any acknowledged or unknown write that no acknowledged write superseded (one
    that started after the write ended), and its initial absence only if no write to it was
    acknowledged. So every acknowledged write reads back exactly (objects by SHA-256 of their
    bytes; a KMS key's state; an alias's target; a user, its policy document, its access key)
    unless something newer legitimately replaced it, and nothing reads back that nobody wrote
    whole: a truncated or mixed object, a half-completed multipart upload, a key without its
    tag, material or usability.
  * What the restarted server shows settles the unknown writes: those visible are durable from
    now on (later iterations hold the server to them), the others can never become visible.
  * Acknowledged Encrypt answers still Decrypt to their plaintext; every key that exists works
    (Encrypt/Decrypt round trip when enabled, stored material otherwise); every acknowledged
    access key still signs requests as its user.
  * Storage: recovery leaves nothing in blobs/staging; every blob file is named by an object, a
    part of an open upload, or the garbage list; every blob a record names exists and is
    registered (s3.blob); no object or upload lives in a bucket that does not exist; after the
    grace time (dev clock) the garbage is gone and the files are exactly the referenced blobs.

HANGAR_CRASH_ITERATIONS (default 12; the long form is 100+) sets the number of crashes;
HANGAR_CRASH_SEED replays a run's choices and kill delays (thread timing still varies);
HANGAR_E2E_KEEP=1 keeps the data directory for a post-mortem.
"""

import collections
import glob
import hashlib
import json
import os
import random
import threading
import time
import unittest

import boto3
import botocore.config
import botocore.exceptions

from harness import REGION, HangarTestCase, stored_json

ITERATIONS = int(os.environ.get("HANGAR_CRASH_ITERATIONS", "12"))
SEED = int(os.environ.get("HANGAR_CRASH_SEED") or random.SystemRandom().randrange(1 << 31))
MAX_KILL_DELAY_SECONDS = 2.5
GRACE_CROSSING_SECONDS = 120  # superseded blobs are deleted 60 s (lifecycle clock) after release
START_TIMEOUT_SECONDS = 120   # a thread making its clients, waiting for the others
JOIN_SECONDS = 120

MiB = 1024 * 1024
BUCKET = "matrix"
KMS_BUCKET = "matrix-kms"
CHURN_BUCKET = "matrix-churn"
SHARED_KEYS = [f"shared/k{i}" for i in range(4)]
SHARED_BIG_KEY = "big/shared"  # multipart uploads and small PUTs overwrite each other here
SHARED_SIZES = [0, 100, 4096, 70_000, 256 * 1024 + 1, 600_000]
OWN_SIZES = [1, 4096, 256 * 1024, 2 * MiB + 3]
PART_SIZE = 5 * MiB
KEY_DESCRIPTION_PREFIX = "matrix-"
ALIASES = [f"alias/matrix-a{i}" for i in range(4)]
USER_PREFIX = "matrix-u"
POLICY_NAME = "matrix"
LIVE_USERS = 4  # the IAM client creates users while fewer exist, else mostly removes them
CIPHERTEXTS_CHECKED_PER_KEY = 2  # acknowledged ciphertexts kept per key for Decrypt checks

ACKED, REJECTED, UNKNOWN, IN_FLIGHT = "acked", "rejected", "unknown", "in-flight"


class ServerDown(Exception):
    """The server is being killed: the worker stops; its last request's fate is unknown."""


class Finding(Exception):
    """A worker saw the server break a rule under load: it stops, leaving the evidence in the
    data directory as it is."""


def version_body(version_id, size):
    """Body of write `version_id`: a header naming it (so a mix of versions is recognisable in a
    failure), then bytes seeded by the id."""
    header = f"hangar-matrix v={version_id:08d} n={size:010d}\n".encode()
    if size < len(header):
        return header[:size]
    return header + random.Random(version_id).randbytes(size - len(header))


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def short(value):
    """A cell value for failure texts: SHA-256 digests shortened."""
    if isinstance(value, str) and len(value) == 64:
        return value[:12] + "…"
    return repr(value)


def end_of(request):
    """When a request ended; one still in flight may yet take effect at any later time."""
    return float("inf") if request.t_end is None else request.t_end


def describe_body(body):
    return f"{len(body)} bytes starting {body[:40]!r}"


def canonical(document):
    """A policy document as compared: JSON with sorted keys (boto3 decodes IAM's documents)."""
    if isinstance(document, str):
        document = json.loads(document)
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def error_of(exc):
    """(HTTP status, AWS error code) of a botocore ClientError; (None, None) otherwise."""
    if isinstance(exc, botocore.exceptions.ClientError):
        return (exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode"),
                exc.response.get("Error", {}).get("Code"))
    return None, None


# --- what was asked and what was answered ---------------------------------------------------------

class Request:
    """One request that writes: its cells (name, value set), times and fate."""
    __slots__ = ("id", "what", "iteration", "t_start", "t_end", "state", "note", "writes")

    def __init__(self, rid, what, iteration):
        self.id = rid
        self.what = what
        self.iteration = iteration
        self.t_start = time.monotonic()
        self.t_end = None
        self.state = IN_FLIGHT
        self.note = ""
        self.writes = []

    def __repr__(self):
        end = "?" if self.t_end is None else f"{self.t_end:.3f}"
        return (f"#{self.id} {self.what} [{self.state}, it{self.iteration} "
                f"t={self.t_start:.3f}..{end}]{' ' + self.note if self.note else ''}")


class Write:
    """One cell changed by one request. `resolved` settles an unknown request per cell after a
    crash: ACKED if its value is what the server showed, else REJECTED."""
    __slots__ = ("request", "cell", "value", "resolved")

    def __init__(self, request, cell, value):
        self.request = request
        self.cell = cell
        self.value = value
        self.resolved = None

    @property
    def state(self):
        return self.resolved or self.request.state

    def __repr__(self):
        return f"{self.request!r} -> {short(self.value)} ({self.state})"


class History:
    """Every write request of the test, across iterations. Thread-safe (one lock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.down = threading.Event()  # set just before the kill signal
        self.iteration = 0
        self.requests = []
        self.by_cell = collections.defaultdict(list)
        self.unexpected = []           # failures while the server was up
        self.encrypts = []             # acknowledged Encrypt answers
        self.secrets = {}              # user -> (access key id, secret) of acknowledged keys
        self.key_ids = {}              # key description -> id, from acknowledged CreateKey

    def begin(self, what, cells=()):
        if self.down.is_set():
            raise ServerDown()
        with self.lock:
            request = Request(len(self.requests) + 1, what, self.iteration)
            self.requests.append(request)
            for cell, value in cells:
                self._add(request, cell, value)
        return request

    def _add(self, request, cell, value):
        write = Write(request, cell, value)
        request.writes.append(write)
        self.by_cell[cell].append(write)

    def add_cell(self, request, cell, value):
        """A cell learnt from the answer (e.g. the id of a new upload)."""
        with self.lock:
            self._add(request, cell, value)

    def call(self, what, cells, fn, expected=()):
        """begin() and send() in one."""
        return self.send(self.begin(what, cells), fn, expected)

    def send(self, request, fn, expected=()):
        """Sends a begun write with fn(). Returns the answer if acknowledged (the whole 2xx
        response arrived), None if refused with a 4xx (one whose code is not in `expected` is
        also recorded as unexpected). Raises ServerDown if the server went down meanwhile: the
        request stays in flight, its fate unknown."""
        try:
            answer = fn()
        except Exception as e:  # noqa: BLE001 - classified below
            self._failed(request, e, expected)
            return None
        with self.lock:
            request.state, request.t_end = ACKED, time.monotonic()
        return answer

    def _failed(self, request, exc, expected):
        if self.down.is_set():
            raise ServerDown() from exc  # stays in flight: the crash decides its end time
        status, code = error_of(exc)
        with self.lock:
            if status is not None and 400 <= status < 500:
                request.state, request.t_end = REJECTED, time.monotonic()
                request.note = code
                if code not in expected:
                    self.unexpected.append(f"{request!r}: {exc!r}")
            else:
                # A 5xx or a broken connection while the server was up: a bug, fate unknown.
                self.unexpected.append(f"{request!r}: {exc!r}")

    def failure(self, text):
        with self.lock:
            self.unexpected.append(text)

    def crashed(self, kill_time):
        """Whatever was in flight ended, committed or not, by kill_time."""
        with self.lock:
            for r in self.requests:
                if r.state == IN_FLIGHT:
                    r.state, r.t_end = UNKNOWN, kill_time

    def in_flight(self):
        with self.lock:
            return [r for r in self.requests if r.state == IN_FLIGHT]

    def cells(self, prefix):
        with self.lock:
            return sorted(c for c in self.by_cell if c.startswith(prefix))

    def touched(self, cell):
        """Whether the current iteration wrote the cell."""
        with self.lock:
            return any(w.request.iteration == self.iteration for w in self.by_cell[cell])

    def allowed(self, cell, as_of=float("inf")):
        """The writes whose value the cell may hold, read at time `as_of` (default: after
        everything ended), and whether its initial absence is still allowed (no write to it had
        been acknowledged by then)."""
        with self.lock:
            writes = [(w, w.request.t_start, end_of(w.request)) for w in self.by_cell[cell]
                      if w.state != REJECTED]
            acked_starts = [start for w, start, end in writes if w.state == ACKED and end <= as_of]
        newest = max(acked_starts, default=float("-inf"))
        # A write that ended before an acknowledged one began was superseded by it.
        return [w for w, _, end in writes if end >= newest], not acked_starts

    def check(self, cell, observed, as_of=float("inf")):
        """None if `observed` is allowed in `cell` (read at `as_of`), else a problem report."""
        writes, initial_ok = self.allowed(cell, as_of)
        if (observed is None and initial_ok) or any(w.value == observed for w in writes):
            return None
        return (f"{cell}: holds {short(observed)}; allowed {[short(w.value) for w in writes]}"
                f"{' or absent' if initial_ok else ''}\n      history:\n      "
                f"{self.describe(cell)}")

    def describe(self, cell, last=12):
        """The cell's last writes, for failure texts."""
        with self.lock:
            writes = self.by_cell[cell][-last:]
        return "\n      ".join(map(repr, writes))

    def resolve(self, cell, observed):
        """Settles the unknown writes of `cell` by what the server showed after the crash."""
        with self.lock:
            for w in self.by_cell[cell]:
                if w.request.state == UNKNOWN and w.resolved is None:
                    w.resolved = ACKED if w.value == observed else REJECTED


# --- the load ---------------------------------------------------------------------------------

class Worker:
    """One client thread of one iteration. step() does one operation; ServerDown ends it."""

    def __init__(self, matrix, name, index):
        self.matrix = matrix
        self.history = matrix.history
        self.name = name
        self.index = index
        self.rng = random.Random(f"{SEED}/{matrix.history.iteration}/{name}")
        self.session = matrix.session_for(name)
        self.step_count = 0

    def client(self, service, creds=None):
        return self.matrix.client(service, session=self.session, creds=creds)

    def prepare(self):
        """Makes the clients (slow), before the iteration's barrier."""

    def run(self, ready, stop):
        try:
            self.prepare()
        except Exception as e:  # noqa: BLE001
            self.history.failure(f"{self.name}: could not make its clients: {e!r}")
            ready.abort()
            return
        try:
            ready.wait()
            while not stop.is_set():
                self.step_count += 1
                self.step()
        except ServerDown:
            pass
        except Finding as e:
            self.history.failure(f"{self.name}: {e}")
        except threading.BrokenBarrierError:
            self.history.failure(f"{self.name}: the iteration never started")
        except Exception as e:  # noqa: BLE001 - a failure of the test's own logic or a read
            if not self.history.down.is_set():
                self.history.failure(f"{self.name}: {e!r}")

    def put(self, s3, bucket, key, size, what="put", expected=()):
        """One PUT of a fresh version; returns its answer or None."""
        request = self.history.begin(f"{what} {bucket}/{key} {size}B")
        body = version_body(request.id, size)
        self.history.add_cell(request, f"obj:{bucket}/{key}", sha256(body))
        return self.history.send(
            request, lambda: s3.put_object(Bucket=bucket, Key=key, Body=body), expected)

    def delete(self, s3, bucket, key):
        self.history.call(f"delete {bucket}/{key}", [(f"obj:{bucket}/{key}", None)],
                          lambda: s3.delete_object(Bucket=bucket, Key=key))


class SharedWriter(Worker):
    """Small PUTs and DELETEs on keys other threads write too; now and then a PUT into the
    churned bucket (which may not exist at that moment: NoSuchBucket is a fine answer)."""

    def prepare(self):
        self.s3 = self.client("s3")

    def step(self):
        r = self.rng.random()
        if r < 0.1:
            self.put(self.s3, CHURN_BUCKET, f"intruder/{self.index}/{self.rng.randrange(3)}",
                     self.rng.choice(SHARED_SIZES[:4]), what="intrude",
                     expected=("NoSuchBucket",))
        elif r < 0.2:
            self.delete(self.s3, BUCKET, self.rng.choice(SHARED_KEYS))
        else:
            key = SHARED_BIG_KEY if r < 0.25 else self.rng.choice(SHARED_KEYS)
            self.put(self.s3, BUCKET, key, self.rng.choice(SHARED_SIZES))


class OwnWriter(Worker):
    """PUTs and DELETEs on keys only it writes, in the plain and the SSE-KMS bucket."""

    def prepare(self):
        self.s3 = self.client("s3")

    def step(self):
        bucket = self.rng.choice([BUCKET, KMS_BUCKET])
        key = f"own/k{self.rng.randrange(6)}"
        if self.rng.random() < 0.15:
            self.delete(self.s3, bucket, key)
        else:
            self.put(self.s3, bucket, key, self.rng.choice(OWN_SIZES))


class MultipartWriter(Worker):
    """Multipart uploads of three parts, every step acknowledged (or not) on its own."""

    def prepare(self):
        self.s3 = self.client("s3")

    def step(self):
        key = self.rng.choice([SHARED_BIG_KEY, "mp/k0", "mp/k1"])
        created = self.history.begin(f"create-upload {key}")
        created.note = key  # an unknown create may leave an upload the check must account for
        answer = self.history.send(
            created, lambda: self.s3.create_multipart_upload(Bucket=BUCKET, Key=key))
        if answer is None:
            return
        upload = answer["UploadId"]
        self.history.add_cell(created, f"upload:{upload}", key)
        parts = self.upload_parts(key, upload)
        if parts is None:
            return
        # Completing or aborting ends the upload and its parts.
        ended = [(f"upload:{upload}", None)] + [(cell, None)
                                                 for cell in self.history.cells(f"part:{upload}/")]
        if self.rng.random() < 0.1:
            self.history.call(f"abort {key}", ended,
                              lambda: self.s3.abort_multipart_upload(Bucket=BUCKET, Key=key,
                                                                     UploadId=upload))
            return
        bodies, etags = parts
        # The object's value is the whole body: a half-completed upload would not match it.
        self.history.call(
            f"complete {key}", [(f"obj:{BUCKET}/{key}", sha256(b"".join(bodies)))] + ended,
            lambda: self.s3.complete_multipart_upload(
                Bucket=BUCKET, Key=key, UploadId=upload,
                MultipartUpload={"Parts": [{"PartNumber": n + 1, "ETag": e}
                                           for n, e in enumerate(etags)]}))

    def upload_parts(self, key, upload):
        sizes = [PART_SIZE, PART_SIZE, self.rng.randrange(1, 300_000)]
        bodies, etags = [], []
        for number, size in enumerate(sizes, start=1):
            request = self.history.begin(f"part {key} #{number}")
            body = version_body(request.id, size)
            etag = '"%s"' % hashlib.md5(body).hexdigest()
            self.history.add_cell(request, f"part:{upload}/{number}", etag)
            answer = self.history.send(request, lambda: self.s3.upload_part(
                Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=number, Body=body))
            if answer is None:
                return None
            if answer["ETag"] != etag:
                self.history.failure(f"{request!r}: ETag {answer['ETag']} != {etag}")
            bodies.append(body)
            etags.append(etag)
        return bodies, etags


class BucketChurner(Worker):
    """Creates the churn bucket, writes into it, empties it and deletes it, over and over. The
    bucket stays deleted for a few steps now and then (so writers find it missing)."""

    def prepare(self):
        self.s3 = self.client("s3")
        self.exists = self.matrix.world["churn_exists"]

    def step(self):
        if not self.exists:
            if self.rng.random() < 0.5:
                self.expect_absent()
                return
            # A new bucket is empty: whatever the bucket held before is gone.
            cells = [(f"bucket:{CHURN_BUCKET}", "exists")] + [
                (cell, None) for cell in self.history.cells(f"obj:{CHURN_BUCKET}/")]
            if self.history.call(f"create-bucket {CHURN_BUCKET}", cells,
                                 lambda: self.s3.create_bucket(Bucket=CHURN_BUCKET)) is None:
                return
            self.exists = True
            self.check_fresh()
        for n in range(self.rng.randrange(1, 3)):
            self.put(self.s3, CHURN_BUCKET, f"churn/{n}", self.rng.choice([10, 5000, 100_000]))
        listed = self.s3.list_objects_v2(Bucket=CHURN_BUCKET).get("Contents", [])
        for obj in listed:
            self.delete(self.s3, CHURN_BUCKET, obj["Key"])
        # A bucket can only be deleted empty: every object it held is gone with it.
        cells = [(f"bucket:{CHURN_BUCKET}", None)] + [
            (cell, None) for cell in self.history.cells(f"obj:{CHURN_BUCKET}/")]
        if self.history.call(f"delete-bucket {CHURN_BUCKET}", cells,
                             lambda: self.s3.delete_bucket(Bucket=CHURN_BUCKET),
                             expected=("BucketNotEmpty",)) is not None:
            self.exists = False

    def expect_absent(self):
        if CrashMatrixTest.bucket_exists(self.s3, CHURN_BUCKET):
            raise Finding(f"{CHURN_BUCKET} exists after an acknowledged DeleteBucket")

    def check_fresh(self):
        """Right after CreateBucket: the new bucket may only hold objects written into it, not
        ones acknowledged before it was created."""
        for obj in self.s3.list_objects_v2(Bucket=CHURN_BUCKET).get("Contents", []):
            read_at = time.monotonic()
            try:
                body = self.s3.get_object(Bucket=CHURN_BUCKET, Key=obj["Key"])["Body"].read()
            except botocore.exceptions.ClientError:
                continue  # deleted meanwhile (absent is always consistent with a new bucket)
            problem = self.history.check(f"obj:{CHURN_BUCKET}/{obj['Key']}", sha256(body),
                                         as_of=read_at)
            if problem:
                raise Finding(f"a re-created bucket holds an object from before: {problem}")


class KmsWorker(Worker):
    """Key lifecycle, aliases and Encrypt, on what it knows of the keys' states."""

    def prepare(self):
        self.kms = self.client("kms")
        self.keys = {d: dict(k) for d, k in self.matrix.world["keys"].items()}  # desc -> id, state
        self.aliases = dict(self.matrix.world["aliases"])  # name -> target description

    def in_state(self, state):
        return sorted(d for d, k in self.keys.items() if k["state"] == state)

    def step(self):
        r = self.rng.random()
        enabled = self.in_state("Enabled")
        if r < 0.3 or not enabled:
            self.create_key()
        elif r < 0.55:
            self.encrypt(self.rng.choice(enabled))
        elif r < 0.65:
            self.set_state(self.rng.choice(enabled), "PendingDeletion", "schedule-deletion",
                           lambda k: self.kms.schedule_key_deletion(KeyId=k,
                                                                    PendingWindowInDays=7))
        elif r < 0.75:
            pending = self.in_state("PendingDeletion")
            if pending:
                self.set_state(self.rng.choice(pending), "Disabled", "cancel-deletion",
                               lambda k: self.kms.cancel_key_deletion(KeyId=k))
            disabled = self.in_state("Disabled")
            if disabled:
                self.set_state(self.rng.choice(disabled), "Enabled", "enable",
                               lambda k: self.kms.enable_key(KeyId=k))
        else:
            self.alias_step(enabled)

    def create_key(self):
        desc = f"{KEY_DESCRIPTION_PREFIX}{self.history.iteration}-{self.step_count}"
        answer = self.history.call(
            f"create-key {desc}", [(f"key:{desc}", "Enabled")],
            lambda: self.kms.create_key(Description=desc,
                                        Tags=[{"TagKey": "matrix", "TagValue": desc}]))
        if answer is not None:
            key_id = answer["KeyMetadata"]["KeyId"]
            self.keys[desc] = {"id": key_id, "state": "Enabled"}
            with self.history.lock:
                self.history.key_ids[desc] = key_id

    def set_state(self, desc, state, what, fn):
        key_id = self.keys[desc]["id"]
        if self.history.call(f"{what} {desc}", [(f"key:{desc}", state)],
                             lambda: fn(key_id)) is not None:
            self.keys[desc]["state"] = state

    def encrypt(self, desc):
        key_id = self.keys[desc]["id"]
        plaintext = self.rng.randbytes(self.rng.randrange(1, 2048))
        context = {"matrix": str(self.step_count)}
        answer = self.history.call(f"encrypt {desc}", [], lambda: self.kms.encrypt(
            KeyId=key_id, Plaintext=plaintext, EncryptionContext=context))
        if answer is not None:
            with self.history.lock:
                self.history.encrypts.append({"desc": desc, "key_id": key_id,
                                              "plaintext": plaintext, "context": context,
                                              "blob": answer["CiphertextBlob"],
                                              "iteration": self.history.iteration})

    def alias_step(self, enabled):
        name = self.rng.choice(ALIASES)
        target = self.rng.choice(enabled)
        key_id = self.keys[target]["id"]
        current = self.aliases.get(name)
        if current is None:
            what, value, fn = "create-alias", target, lambda: self.kms.create_alias(
                AliasName=name, TargetKeyId=key_id)
        elif self.rng.random() < 0.6:
            what, value, fn = "update-alias", target, lambda: self.kms.update_alias(
                AliasName=name, TargetKeyId=key_id)
        else:
            what, value, fn = "delete-alias", None, lambda: self.kms.delete_alias(AliasName=name)
        if self.history.call(f"{what} {name} -> {value}", [(f"alias:{name}", value)],
                             fn) is not None:
            self.aliases[name] = value


class IamWorker(Worker):
    """Users with a policy and an access key are created, their policy overwritten, and removed
    piece by piece (an IAM user can only be deleted once its keys and policies are gone)."""

    def prepare(self):
        self.iam = self.client("iam")
        # name -> {"policy": document or None, "key": access key id or None}
        self.users = {u: dict(s) for u, s in self.matrix.world["users"].items()}

    def step(self):
        incomplete = sorted(u for u, s in self.users.items()
                            if s["policy"] is None or s["key"] is None)
        if incomplete and self.rng.random() < 0.7:
            self.complete(self.rng.choice(incomplete))
        elif len(self.users) < LIVE_USERS or self.rng.random() < 0.3:
            self.create_user()
        else:
            user = self.rng.choice(sorted(self.users))
            if self.rng.random() < 0.4:
                self.put_policy(user)
            else:
                self.remove_user(user)

    def create_user(self):
        user = f"{USER_PREFIX}{self.history.iteration}-{self.step_count}"
        if self.history.call(f"create-user {user}", [(f"user:{user}", "exists")],
                             lambda: self.iam.create_user(UserName=user)) is not None:
            self.users[user] = {"policy": None, "key": None}

    def complete(self, user):
        if self.users[user]["policy"] is None:
            self.put_policy(user)
        else:
            self.create_access_key(user)

    def put_policy(self, user):
        document = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": f"v{self.history.iteration}x{self.step_count}", "Effect": "Allow",
            "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]})
        if self.history.call(f"put-user-policy {user}",
                             [(f"policy:{user}/{POLICY_NAME}", canonical(document))],
                             lambda: self.iam.put_user_policy(UserName=user,
                                                              PolicyName=POLICY_NAME,
                                                              PolicyDocument=document)) \
                is not None:
            self.users[user]["policy"] = canonical(document)

    def create_access_key(self, user):
        answer = self.history.call(f"create-access-key {user}", [(f"akey:{user}", "Active")],
                                   lambda: self.iam.create_access_key(UserName=user))
        if answer is not None:
            key = answer["AccessKey"]
            self.users[user]["key"] = key["AccessKeyId"]
            with self.history.lock:
                self.history.secrets[user] = (key["AccessKeyId"], key["SecretAccessKey"])

    def remove_user(self, user):
        state = self.users[user]
        if state["key"] is not None:
            if self.history.call(f"delete-access-key {user}", [(f"akey:{user}", None)],
                                 lambda: self.iam.delete_access_key(
                                     UserName=user, AccessKeyId=state["key"])) is None:
                return
            state["key"] = None
        if state["policy"] is not None:
            if self.history.call(f"delete-user-policy {user}",
                                 [(f"policy:{user}/{POLICY_NAME}", None)],
                                 lambda: self.iam.delete_user_policy(
                                     UserName=user, PolicyName=POLICY_NAME)) is None:
                return
            state["policy"] = None
        if self.history.call(f"delete-user {user}", [(f"user:{user}", None)],
                             lambda: self.iam.delete_user(UserName=user)) is not None:
            del self.users[user]


WORKERS = [("shared0", SharedWriter), ("shared1", SharedWriter), ("own", OwnWriter),
           ("multipart", MultipartWriter), ("churn", BucketChurner), ("kms", KmsWorker),
           ("iam", IamWorker)]


# --- storage accounting -------------------------------------------------------------------------

class Storage:
    """What the data directory holds versus what metadata.db names. The metadata is read first:
    the server's own maintenance may delete a garbage blob and then forget it at any moment, and
    in this order such a blob is never mistaken for an orphan."""

    def __init__(self, server):
        rows = server.query_db(
            "SELECT collection, CAST(partition AS TEXT), CAST(id AS TEXT), body FROM documents "
            "WHERE collection IN ('s3.bucket', 's3.object', 's3.upload', 's3.part', 's3.blob', "
            "'s3.garbage', 'kms.key', 'kms.material')")
        self.buckets, self.objects, self.upload_buckets = set(), set(), set()
        self.upload_ids, self.part_uploads = set(), set()
        self.object_blobs, self.part_blobs, self.registered, self.garbage = (set(), set(),
                                                                              set(), set())
        self.kms_keys, self.kms_material_keys = set(), set()
        for collection, partition, doc_id, body in rows:
            self._add(collection, partition, doc_id, body)
        blobs = os.path.join(server.data_dir, "blobs")
        self.staging = sorted(os.listdir(os.path.join(blobs, "staging")))
        self.files = {os.path.basename(p)
                      for p in glob.glob(os.path.join(blobs, "objects", "*", "*"))}

    def _add(self, collection, partition, doc_id, body):
        if collection == "s3.bucket":
            self.buckets.add(doc_id)
        elif collection == "s3.object":
            self.objects.add((partition, doc_id))
            self.object_blobs.update(s["blob"] for s in stored_json(body).get("segments", [])
                                     if s.get("blob"))
        elif collection == "s3.upload":
            self.upload_buckets.add(partition)
            self.upload_ids.add(stored_json(body)["upload_id"])
        elif collection == "s3.part":
            self.part_uploads.add(partition)
            blob = stored_json(body).get("blob")
            if blob:
                self.part_blobs.add(blob)
        elif collection == "s3.blob":
            self.registered.add(doc_id)
        elif collection == "s3.garbage":
            self.garbage.add(doc_id)
        elif collection == "kms.key":
            self.kms_keys.add(doc_id)
        else:
            self.kms_material_keys.add(partition)

    @property
    def referenced(self):
        return self.object_blobs | self.part_blobs

    def objects_without_bucket(self):
        return sorted((b, k) for b, k in self.objects if b not in self.buckets)

    def problems(self, after_grace):
        out = []

        def expect_empty(what, items):
            if items:
                out.append(f"{what}: {sorted(items)[:10]} ({len(items)})")

        expect_empty("staged blobs left after recovery", self.staging)
        expect_empty("blob files nothing names (orphans)",
                     self.files - self.referenced - self.garbage)
        expect_empty("blobs named by records whose files are missing",
                     self.referenced - self.files)
        expect_empty("blobs in use but not registered", self.referenced - self.registered)
        expect_empty("registered blobs nothing uses (never collected)",
                     self.registered - self.referenced)
        expect_empty("blobs both in use and garbage", self.referenced & self.garbage)
        expect_empty("objects in buckets that do not exist",
                     {f"{b}/{k}" for b, k in self.objects_without_bucket()})
        expect_empty("uploads in buckets that do not exist", self.upload_buckets - self.buckets)
        expect_empty("parts of uploads that do not exist", self.part_uploads - self.upload_ids)
        expect_empty("KMS keys without key material", self.kms_keys - self.kms_material_keys)
        if after_grace:
            expect_empty("garbage left after the grace time", self.garbage)
            expect_empty("blob files beyond the referenced blobs after the grace time",
                         self.files - self.referenced)
        return out


# --- the test ---------------------------------------------------------------------------------

class CrashMatrixTest(HangarTestCase):

    def setUp(self):
        self.history = History()
        self.sessions = {}
        self.world = {"churn_exists": False, "keys": {}, "aliases": {}, "users": {}}
        self.tags_verified = set()

    # --- clients ---

    def session_for(self, name):
        """One boto3 session per worker slot, kept across iterations: loading the service
        models is what makes clients slow to create (sessions are not thread-safe; each thread
        has its own)."""
        if name not in self.sessions:
            self.sessions[name] = boto3.session.Session(
                botocore_session=self.server.botocore_session())
        return self.sessions[name]

    def client(self, service, session=None, creds=None):
        access_key_id, secret = creds or (self.server.access_key_id,
                                          self.server.secret_access_key)
        config = botocore.config.Config(
            retries={"total_max_attempts": 1, "mode": "standard"},  # no silent resends
            s3={"addressing_style": "path"}, connect_timeout=10, read_timeout=60)
        return (session or self.session_for("checker")).client(
            service, endpoint_url=self.server.endpoint, region_name=REGION,
            aws_access_key_id=access_key_id, aws_secret_access_key=secret, config=config)

    # --- the run ---

    def test_sigkill_under_mixed_load(self):
        print(f"\n  crash matrix: {ITERATIONS} iterations, HANGAR_CRASH_SEED={SEED}", flush=True)
        self.set_up_fixtures()
        kill_rng = random.Random(f"{SEED}/kill")
        started = time.monotonic()
        for iteration in range(1, ITERATIONS + 1):
            self.history.iteration = iteration
            delay = kill_rng.uniform(0, MAX_KILL_DELAY_SECONDS)
            self.run_iteration(iteration, delay)
        print(f"  {ITERATIONS} iterations in {time.monotonic() - started:.0f} s", flush=True)

    def set_up_fixtures(self):
        s3, kms = self.client("s3"), self.client("kms")
        s3.create_bucket(Bucket=BUCKET)
        s3.create_bucket(Bucket=KMS_BUCKET)
        key_id = kms.create_key(Description="crash matrix bucket key")["KeyMetadata"]["KeyId"]
        s3.put_bucket_encryption(Bucket=KMS_BUCKET, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                              "KMSMasterKeyID": key_id},
                       "BucketKeyEnabled": True}]})

    def run_iteration(self, iteration, delay):
        context = (f"iteration {iteration} of HANGAR_CRASH_SEED={SEED} (kill after {delay:.3f} s;"
                   f" data dir {self.server.data_dir}, kept with HANGAR_E2E_KEEP=1)")
        in_flight = self.load_and_kill(delay)
        self.assertNoProblems(self.history.unexpected, f"{context}: failures under load")
        try:
            self.server.crash_restart()  # the process is dead; this reaps it and starts again
        except Exception as e:  # noqa: BLE001 - the finding is that it did not come back
            self.fail(f"{context}: the server did not restart: {e}")
        self.history.down.clear()
        began = time.monotonic()
        self.assertNoProblems(self.check_all(), f"{context}: state after the restart")
        self.abort_leftover_uploads()
        self.server.advance_clock(GRACE_CROSSING_SECONDS)
        self.assertNoProblems(Storage(self.server).problems(after_grace=True),
                              f"{context}: storage after the grace time")
        self.assertNoProblems(self.history.unexpected, f"{context}: failures while checking")
        acked = sum(1 for r in self.history.requests
                    if r.iteration == iteration and r.state == ACKED)
        kinds = sorted(collections.Counter(r.what.split()[0] for r in in_flight).items())
        print(f"  iteration {iteration:3}: killed after {delay:.2f} s, {acked} writes "
              f"acknowledged, {len(in_flight)} in flight {kinds}; checked in "
              f"{time.monotonic() - began:.1f} s", flush=True)

    def load_and_kill(self, delay):
        """Runs the workers, kills the server `delay` s after they all started, and returns the
        requests that were in flight."""
        stop = threading.Event()
        ready = threading.Barrier(len(WORKERS) + 1, timeout=START_TIMEOUT_SECONDS)
        workers = [cls(self, name, i) for i, (name, cls) in enumerate(WORKERS)]
        threads = [threading.Thread(target=w.run, args=(ready, stop), name=w.name, daemon=True)
                   for w in workers]
        for t in threads:
            t.start()
        try:
            try:
                ready.wait()
            except threading.BrokenBarrierError:
                self.fail(f"the workers did not start: {self.history.unexpected}")
            time.sleep(delay)  # the experiment: how far the load got is up to chance
            if self.server.proc.poll() is not None:
                self.fail(f"the server died under load (status {self.server.proc.returncode})"
                          f"\n{self.server.log_tail()}")
            self.history.down.set()
            self.server.proc.kill()
            kill_time = time.monotonic()
        finally:
            self.history.down.set()
            stop.set()
            if self.server.proc is not None and self.server.proc.poll() is None:
                self.server.proc.kill()  # an exception before the planned kill
        for t in threads:
            t.join(JOIN_SECONDS)
            self.assertFalse(t.is_alive(), f"worker {t.name} did not stop")
        in_flight = self.history.in_flight()
        self.history.crashed(kill_time)
        return in_flight

    # --- checks after the restart ---

    def assertNoProblems(self, problems, context):
        if problems:
            self.fail(f"{context}: {len(problems)} problems\n  " + "\n  ".join(problems))

    def check_all(self):
        storage = Storage(self.server)
        problems = storage.problems(after_grace=False)
        for bucket, key in storage.objects_without_bucket():
            problems.append(f"s3.object {bucket}/{key} outlived its bucket; its writes:\n      "
                            f"{self.history.describe(f'obj:{bucket}/{key}')}\n      and the "
                            f"bucket's:\n      {self.history.describe(f'bucket:{bucket}')}")
        problems += self.check_objects()
        problems += self.check_uploads()
        problems += self.check_kms()
        problems += self.check_iam()
        return problems

    def settle(self, cell, observed, problems):
        problem = self.history.check(cell, observed)
        if problem:
            problems.append(problem)
        self.history.resolve(cell, observed)

    def check_objects(self):
        s3 = self.client("s3")
        problems = []
        churn_exists = self.bucket_exists(s3, CHURN_BUCKET)
        self.settle(f"bucket:{CHURN_BUCKET}", "exists" if churn_exists else None, problems)
        self.world["churn_exists"] = churn_exists
        for bucket in (BUCKET, KMS_BUCKET, CHURN_BUCKET):
            listed = self.list_bucket(s3, bucket) if bucket != CHURN_BUCKET or churn_exists \
                else {}
            cells = self.history.cells(f"obj:{bucket}/")
            strangers = sorted(set(listed) - {c.split("/", 1)[1] for c in cells})
            if strangers:
                problems.append(f"{bucket}: listed keys nobody wrote: {strangers}")
            for cell in cells:
                key = cell.split("/", 1)[1]
                body, etag = self.read_object(s3, bucket, key, problems)
                observed = None if body is None else sha256(body)
                if body is not None and listed.get(key) != len(body):
                    problems.append(f"{bucket}/{key}: listed size {listed.get(key)}, "
                                    f"body {describe_body(body)}")
                if body is not None and bucket != KMS_BUCKET:
                    problems += self.etag_problems(cell, body, etag)
                problem = self.history.check(cell, observed)
                if problem:
                    seen = "absent" if body is None else describe_body(body)
                    problems.append(f"{problem}\n      read: {seen}")
                self.history.resolve(cell, observed)
        return problems

    def etag_problems(self, cell, body, etag):
        """The metadata belongs to the bytes: a PUT's ETag is their MD5 (SSE-S3), a multipart
        object's names its three parts."""
        digest = sha256(body)
        writes, _ = self.history.allowed(cell)
        kinds = {w.request.what.split()[0] for w in writes if w.value == digest}
        md5 = '"%s"' % hashlib.md5(body).hexdigest()
        if kinds and not ((kinds & {"put", "intrude"} and etag == md5) or
                          ("complete" in kinds and etag.endswith('-3"'))):
            return [f"{cell}: ETag {etag} does not fit the body written by {kinds}"]
        return []

    @staticmethod
    def bucket_exists(s3, bucket):
        try:
            s3.head_bucket(Bucket=bucket)
            return True
        except botocore.exceptions.ClientError as e:
            if error_of(e)[0] == 404:
                return False
            raise

    @staticmethod
    def list_bucket(s3, bucket):
        listed = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                listed[obj["Key"]] = obj["Size"]
        return listed

    @staticmethod
    def read_object(s3, bucket, key, problems):
        """(body, ETag), or (None, None) if absent or unreadable (a problem then)."""
        try:
            answer = s3.get_object(Bucket=bucket, Key=key)
        except botocore.exceptions.ClientError as e:
            if error_of(e)[1] not in ("NoSuchKey", "NoSuchBucket"):
                problems.append(f"GET {bucket}/{key}: {e!r}")
            return None, None
        try:
            return answer["Body"].read(), answer["ETag"]
        except (botocore.exceptions.BotoCoreError, OSError) as e:
            # The server cut the body short: it found the stored bytes damaged mid-stream.
            problems.append(f"GET {bucket}/{key}: the body broke off: {e!r}")
            return None, None

    def check_uploads(self):
        """Acknowledged uploads and parts are there, completed or aborted ones are not, and any
        other upload comes from a CreateMultipartUpload that was in flight."""
        s3 = self.client("s3")
        problems = []
        listed = {}
        for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET):
            for u in page.get("Uploads", []):
                listed[u["UploadId"]] = u["Key"]
        known = {c.split(":", 1)[1] for c in self.history.cells("upload:")}
        with self.history.lock:
            unknown_creates = collections.Counter(
                r.note for r in self.history.requests
                if r.what.startswith("create-upload") and r.state == UNKNOWN
                and r.iteration == self.history.iteration)
        for upload, key in listed.items():
            if upload in known:
                continue
            if unknown_creates[key] > 0:
                unknown_creates[key] -= 1
            else:
                problems.append(f"upload {upload} of {key}: nobody created it")
        for upload in known:
            if upload not in listed and not self.history.touched(f"upload:{upload}"):
                continue  # ended in an earlier iteration and still gone
            self.settle(f"upload:{upload}", listed.get(upload), problems)
            etags = self.part_etags(s3, listed.get(upload), upload)
            for cell in self.history.cells(f"part:{upload}/"):
                self.settle(cell, etags.get(int(cell.rsplit("/", 1)[1])), problems)
        return problems

    @staticmethod
    def part_etags(s3, key, upload):
        if key is None:
            return {}
        parts = s3.list_parts(Bucket=BUCKET, Key=key, UploadId=upload).get("Parts", [])
        return {p["PartNumber"]: p["ETag"] for p in parts}

    def abort_leftover_uploads(self):
        """Uploads the crash interrupted are aborted (acknowledged), so their parts become
        garbage and the storage check after the grace time covers them."""
        s3 = self.client("s3")
        for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []):
            upload = u["UploadId"]
            ended = [(f"upload:{upload}", None)] + [
                (cell, None) for cell in self.history.cells(f"part:{upload}/")]
            self.history.call(f"abort {u['Key']}", ended,
                              lambda: s3.abort_multipart_upload(Bucket=BUCKET, Key=u["Key"],
                                                                UploadId=upload))

    # --- KMS ---

    def check_kms(self):
        kms = self.client("kms")
        problems = []
        keys = self.observe_keys(kms, problems)  # description -> metadata
        for cell in self.history.cells("key:"):
            desc = cell.split(":", 1)[1]
            meta = keys.get(desc)
            self.settle(cell, meta["KeyState"] if meta else None, problems)
        strangers = sorted(set(keys) - {c.split(":", 1)[1] for c in self.history.cells("key:")})
        if strangers:
            problems.append(f"keys nobody created: {strangers}")
        for desc, meta in keys.items():
            problems += self.key_problems(kms, desc, meta)
        problems += self.check_aliases(kms, keys)
        problems += self.check_ciphertexts(kms, keys)
        self.world["keys"] = {d: {"id": m["KeyId"], "state": m["KeyState"]}
                              for d, m in keys.items()}
        return problems

    @staticmethod
    def observe_keys(kms, problems):
        keys = {}
        for page in kms.get_paginator("list_keys").paginate():
            for entry in page["Keys"]:
                meta = kms.describe_key(KeyId=entry["KeyId"])["KeyMetadata"]
                desc = meta.get("Description", "")
                if not desc.startswith(KEY_DESCRIPTION_PREFIX):
                    continue  # the SSE-KMS bucket's key, AWS managed keys
                if desc in keys:
                    problems.append(f"two keys described {desc}: {keys[desc]['KeyId']}, "
                                    f"{meta['KeyId']}")
                keys[desc] = meta
        return keys

    def key_problems(self, kms, desc, meta):
        """A key that exists exists whole: its tag, its deletion date exactly when pending
        deletion, and it works (or at least holds material) in its state."""
        problems = []
        key_id, state = meta["KeyId"], meta["KeyState"]
        if (state == "PendingDeletion") != ("DeletionDate" in meta):
            problems.append(f"key {desc} ({key_id}): state {state}, DeletionDate "
                            f"{meta.get('DeletionDate')}")
        if key_id not in self.tags_verified:
            tags = {t["TagKey"]: t["TagValue"]
                    for t in kms.list_resource_tags(KeyId=key_id)["Tags"]}
            if tags.get("matrix") != desc:
                problems.append(f"key {desc} ({key_id}) lacks the tag it was created with: "
                                f"{tags}")
            self.tags_verified.add(key_id)
        if state == "Enabled" and self.history.touched(f"key:{desc}"):
            plaintext = os.urandom(64)
            try:
                blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
                back = kms.decrypt(CiphertextBlob=blob)["Plaintext"]
                if back != plaintext:
                    problems.append(f"key {desc}: Encrypt/Decrypt round trip differs")
            except botocore.exceptions.ClientError as e:
                problems.append(f"key {desc} ({key_id}) is Enabled but unusable: {e!r}")
        return problems

    def check_aliases(self, kms, keys):
        problems = []
        by_id = {m["KeyId"]: d for d, m in keys.items()}
        targets = {}
        for page in kms.get_paginator("list_aliases").paginate():
            for a in page["Aliases"]:
                if a["AliasName"] in ALIASES:
                    targets[a["AliasName"]] = by_id.get(a.get("TargetKeyId"),
                                                        f"unknown key {a.get('TargetKeyId')}")
        for name in ALIASES:
            self.settle(f"alias:{name}", targets.get(name), problems)
        self.world["aliases"] = {n: t for n, t in targets.items() if n in ALIASES}
        return problems

    def check_ciphertexts(self, kms, keys):
        """Acknowledged Encrypt answers still decrypt (when their key is enabled): those of this
        iteration and the last few per key."""
        problems = []
        with self.history.lock:
            recent = {}
            for record in self.history.encrypts:
                recent.setdefault(record["desc"], []).append(record)
            chosen = [r for rs in recent.values() for r in rs[-CIPHERTEXTS_CHECKED_PER_KEY:]]
            seen = {id(r) for r in chosen}
            chosen += [r for r in self.history.encrypts
                       if r["iteration"] == self.history.iteration and id(r) not in seen]
        for record in chosen:
            meta = keys.get(record["desc"])
            if meta is None:
                problems.append(f"key {record['desc']} of an acknowledged Encrypt is gone")
                continue
            if meta["KeyState"] != "Enabled":
                continue
            try:
                answer = kms.decrypt(CiphertextBlob=record["blob"],
                                     EncryptionContext=record["context"])
            except botocore.exceptions.ClientError as e:
                problems.append(f"acknowledged ciphertext of {record['desc']} no longer "
                                f"decrypts: {e!r}")
                continue
            if answer["Plaintext"] != record["plaintext"] or \
                    not answer["KeyId"].endswith(record["key_id"]):
                problems.append(f"ciphertext of {record['desc']} decrypts to something else")
        return problems

    # --- IAM ---

    def check_iam(self):
        iam = self.client("iam")
        problems = []
        listed = set()
        for page in iam.get_paginator("list_users").paginate():
            listed.update(u["UserName"] for u in page["Users"]
                          if u["UserName"].startswith(USER_PREFIX))
        cells = self.history.cells("user:")
        strangers = sorted(listed - {c.split(":", 1)[1] for c in cells})
        if strangers:
            problems.append(f"users nobody created: {strangers}")
        users = {}
        for cell in cells:
            user = cell.split(":", 1)[1]
            self.settle(cell, "exists" if user in listed else None, problems)
            policy, key = self.observe_user(iam, user, user in listed, problems)
            self.settle(f"policy:{user}/{POLICY_NAME}", policy, problems)
            self.settle(f"akey:{user}", None if key is None else key["Status"], problems)
            if user in listed:
                users[user] = {"policy": policy, "key": key and key["AccessKeyId"]}
                problems += self.key_signs_as(user, key)
        self.world["users"] = users
        return problems

    @staticmethod
    def observe_user(iam, user, exists, problems):
        """(policy document, access key) of a user; (None, None) for a user that is gone."""
        if not exists:
            return None, None
        names = iam.list_user_policies(UserName=user)["PolicyNames"]
        if set(names) - {POLICY_NAME}:
            problems.append(f"user {user}: policies nobody put: {names}")
        policy = None
        if POLICY_NAME in names:
            policy = canonical(iam.get_user_policy(UserName=user, PolicyName=POLICY_NAME)
                               ["PolicyDocument"])
        keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
        if len(keys) > 1:
            problems.append(f"user {user}: {len(keys)} access keys, at most one was created")
        return policy, (keys[0] if keys else None)

    def key_signs_as(self, user, key):
        """An acknowledged access key still authenticates as its user."""
        with self.history.lock:
            secret = self.history.secrets.get(user)
        if key is None or secret is None or secret[0] != key["AccessKeyId"]:
            return []  # no key, or one whose CreateAccessKey answer never arrived
        try:
            arn = self.client("sts", creds=secret).get_caller_identity()["Arn"]
        except botocore.exceptions.ClientError as e:
            return [f"access key of {user} no longer works: {e!r}"]
        want = f"arn:aws:iam::{self.server.account_id}:user/{user}"
        return [] if arn == want else [f"access key of {user} signs as {arn}"]


if __name__ == "__main__":
    unittest.main()
