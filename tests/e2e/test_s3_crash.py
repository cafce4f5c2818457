"""Crash safety of the S3 object path: kill -9 in the middle of concurrent uploads and overwrites.

Several threads write objects concurrently with boto3 — small PUTs that overwrite the same keys
from different threads, PUTs and DELETEs of keys that one thread owns, and multipart uploads of
9-14 MiB objects (upload_fileobj) including two threads overwriting the same multipart key — and
record every write: when it started, when (and whether) it was acknowledged, and the SHA-256 of
its body (each body starts with a header naming its version, so a mix of two versions is
recognisable in a failure message). The server is killed with SIGKILL at a point chosen by
counting answers (never by sleeping): once N writes (or N multipart parts) have been acknowledged
in the round while at least one write is outstanding. It is restarted on the same data directory,
and then:

  * every key reads back byte-identical to one version that may legitimately be there: an
    acknowledged or in-flight write (or delete) that no later acknowledged write superseded —
    a version that was acknowledged before another acknowledged write to the key started can
    no longer be visible. Keys never acknowledged are absent or hold a whole in-flight version.
    Nothing else is listed.
  * nothing is left in blobs/staging (recovery published or removed it), every blob that the
    metadata names exists, and every file under blobs/objects is named by an object, a part of
    an open upload, or the garbage list; after the grace time (advance_clock, which runs the
    maintenance synchronously) the garbage is gone and files == referenced blobs exactly.

The kill is repeated in rounds with different triggers, on the same data directory. A second test
interrupts a multipart upload (parts uploaded, no Complete), crashes, and completes it after the
restart; a third checks that an upload interrupted by a crash can be aborted or is cleaned up as
abandoned, leaving no blob behind.
"""

import collections
import glob
import hashlib
import io
import os
import random
import threading
import time
import unittest

import botocore.exceptions
from boto3.s3.transfer import TransferConfig

from harness import HangarTestCase, stored_json

MiB = 1024 * 1024
BUCKET = "crash"
GRACE_CROSSING_SECONDS = 120  # the server deletes superseded blobs 60 s (lifecycle clock) after
WAIT_FOR_TRIGGER_SECONDS = 120
JOIN_SECONDS = 120

SHARED_KEYS = [f"shared/k{i}" for i in range(4)]  # overwritten by several threads at once
SHARED_BIG_KEY = "big/shared"                      # multipart, overwritten by two threads at once
SHARED_SIZES = [100, 4096, 70_000, 256 * 1024 + 1, 600_000]  # both sides of the in-memory GET path
OWN_SIZES = [0, 1, 4096, 256 * 1024, 256 * 1024 + 1, 2 * MiB + 3]
MULTIPART_SIZES = [9 * MiB + 1, 11 * MiB, 14 * MiB - 5]
TRANSFER = TransferConfig(multipart_threshold=8 * MiB, multipart_chunksize=5 * MiB,
                          max_concurrency=2)


def version_body(version_id, size):
    """The body of write `version_id`: a header naming it (if it fits), then seeded bytes."""
    header = f"hangar-crash v={version_id:08d} n={size:010d}\n".encode()
    if size < len(header):
        return header[:size]
    return header + random.Random(version_id).randbytes(size - len(header))


def describe_body(body):
    head = body[:40]
    return f"{len(body)} bytes starting {head!r}"


class Version:
    """One write (PUT, multipart upload or DELETE) of one key."""
    __slots__ = ("id", "key", "sha256", "size", "t_start", "t_end", "state", "kind", "answer")

    def __init__(self, vid, key, body, kind):
        self.id = vid
        self.key = key
        self.sha256 = None if body is None else hashlib.sha256(body).hexdigest()
        self.size = None if body is None else len(body)
        self.t_start = time.monotonic()
        self.t_end = None
        self.state = "in-flight"  # -> acked | failed; in-flight ones get t_end = the kill time
        self.kind = kind
        self.answer = ""  # ETag and request id of the acknowledgement

    def __repr__(self):
        end = "?" if self.t_end is None else f"{self.t_end:.3f}"
        return (f"v{self.id}({self.kind} {self.key} size={self.size} {self.state} "
                f"t={self.t_start:.3f}..{end}"
                f"{' ' + self.answer if self.answer else ''})")


class WriteLog:
    """Every write of the test, across rounds. Thread-safe (one lock)."""

    def __init__(self):
        self.lock = threading.Condition()
        self.versions = {}
        self.by_key = collections.defaultdict(list)
        self.next_id = 1
        self.acked = 0        # whole writes acknowledged in the current round
        self.parts_acked = 0  # UploadPart answers in the current round
        self.outstanding = 0  # writes sent and not yet answered
        self.unexpected = []  # errors while the server was up

    def begin(self, key, make_body, kind):
        """Registers a write about to be sent; returns it and its body (None: a delete)."""
        with self.lock:
            vid = self.next_id
            self.next_id += 1
        body = None if make_body is None else make_body(vid)
        v = Version(vid, key, body, kind)
        with self.lock:
            self.versions[vid] = v
            self.by_key[key].append(v)
            self.outstanding += 1
            self.lock.notify_all()
        return v, body

    def ack(self, v, response=None):
        now = time.monotonic()
        meta = (response or {}).get("ResponseMetadata", {})
        with self.lock:
            v.state, v.t_end = "acked", now
            v.answer = (f"HTTP {meta.get('HTTPStatusCode')} etag={(response or {}).get('ETag')} "
                        f"request-id={meta.get('RequestId')}") if response else ""
            self.acked += 1
            self.outstanding -= 1
            self.lock.notify_all()

    def part_acked(self):
        with self.lock:
            self.parts_acked += 1
            self.lock.notify_all()

    def fail(self, v, error, server_down):
        with self.lock:
            self.outstanding -= 1
            if server_down:
                return  # stays in flight: it may or may not have committed before the kill
            v.state, v.t_end = "failed", time.monotonic()
            self.unexpected.append(f"{v}: {error!r}")

    def crashed(self, kill_time):
        """After the kill: whatever was in flight ended (committed or not) by kill_time."""
        with self.lock:
            for v in self.versions.values():
                if v.state == "in-flight" and v.t_end is None:
                    v.t_end = kill_time
            self.acked = 0
            self.parts_acked = 0
            self.outstanding = 0

    def resolve(self, key, visible):
        """After a crash and its check: the in-flight writes of `key` are settled. Those in
        `visible` (what the server shows now; for an absent key, the in-flight deletes) are
        durable from now on, like acknowledged ones; the others either never committed or were
        overwritten by another in-flight write, and can never become visible."""
        with self.lock:
            for v in self.by_key[key]:
                if v.state == "in-flight":
                    v.state = "acked" if v in visible else "failed"

    def allowed(self, key):
        """The versions that may be visible for `key` now (None in the list: absent)."""
        with self.lock:
            versions = [v for v in self.by_key[key] if v.state != "failed"]
        acked_starts = [v.t_start for v in versions if v.state == "acked"]
        latest_acked_start = max(acked_starts, default=float("-inf"))
        out = []
        if not acked_starts:
            out.append(None)  # never acknowledged: may be absent
        for v in versions:
            # v ended before an acknowledged write of the key began: that one is newer.
            if v.t_end is not None and v.t_end < latest_acked_start:
                continue
            out.append(v)
        return out


class Writers:
    """The writer and reader threads of one round."""

    def __init__(self, test, log, round_no, seed):
        self.test = test
        self.server = test.server
        self.log = log
        self.round_no = round_no
        self.rng_seed = seed
        self.stop = threading.Event()
        self.server_down = threading.Event()
        self.threads = []
        self.ready = None  # barrier: every thread has its client, the round may begin
        self.reads = 0
        self.read_errors = []

    def client(self):
        s3 = self.server.client("s3", max_pool_connections=8)
        s3.meta.events.register("after-call.s3.UploadPart", self._on_part)
        return s3

    def _on_part(self, http_response=None, **_):
        if http_response is not None and http_response.status_code == 200:
            self.log.part_acked()

    def start(self):
        kinds = [("shared", 0), ("shared", 1), ("own", 0), ("own", 1), ("multipart", 0),
                 ("multipart", 1), ("reader", 0)]
        self.ready = threading.Barrier(len(kinds) + 1, timeout=WAIT_FOR_TRIGGER_SECONDS)
        for index, (kind, n) in enumerate(kinds):
            t = threading.Thread(target=self._run, args=(kind, n, index), daemon=True,
                                 name=f"r{self.round_no}-{kind}{n}")
            self.threads.append(t)
            t.start()
        self.ready.wait()  # clients are slow to make: start counting when all can write

    def join(self):
        for t in self.threads:
            t.join(JOIN_SECONDS)
            self.test.assertFalse(t.is_alive(), f"{t.name} did not stop")

    def _run(self, kind, n, index):
        rng = random.Random(self.rng_seed * 100 + index)
        s3 = self.client()
        self.ready.wait()
        step = 0
        while not self.stop.is_set():
            step += 1
            if kind == "reader":
                self._read(s3, rng)
                continue
            if kind == "shared":
                key = rng.choice(SHARED_KEYS)
                size = rng.choice(SHARED_SIZES)
                self._put(s3, key, size)
            elif kind == "own":
                key = f"own/{n}/k{rng.randrange(6)}"
                if rng.random() < 0.15:
                    self._delete(s3, key)
                else:
                    self._put(s3, key, rng.choice(OWN_SIZES))
            else:
                # Multipart: own keys, the shared big key, and a fresh key now and then.
                choice = step % 3
                key = (SHARED_BIG_KEY if choice == 0 else
                       f"big/{n}/k{rng.randrange(2)}" if choice == 1 else
                       f"fresh/{self.round_no}/{n}/{step}")
                self._multipart(s3, key, rng.choice(MULTIPART_SIZES))

    def _put(self, s3, key, size):
        v, body = self.log.begin(key, lambda vid: version_body(vid, size), "put")
        try:
            answer = s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        except Exception as e:  # noqa: BLE001 - any failure: in flight (server down) or a bug
            self.log.fail(v, e, self.server_down.is_set())
            return
        self.log.ack(v, answer)
        if answer.get("ETag") != '"%s"' % hashlib.md5(body).hexdigest():
            with self.log.lock:
                self.log.unexpected.append(f"{v}: the answer is not this PUT's: {answer}")

    def _delete(self, s3, key):
        v, _ = self.log.begin(key, None, "delete")
        try:
            answer = s3.delete_object(Bucket=BUCKET, Key=key)
        except Exception as e:  # noqa: BLE001
            self.log.fail(v, e, self.server_down.is_set())
            return
        self.log.ack(v, answer)

    def _multipart(self, s3, key, size):
        v, body = self.log.begin(key, lambda vid: version_body(vid, size), "multipart")
        try:
            s3.upload_fileobj(io.BytesIO(body), BUCKET, key, Config=TRANSFER)
        except Exception as e:  # noqa: BLE001
            self.log.fail(v, e, self.server_down.is_set())
            return
        self.log.ack(v)

    def _read(self, s3, rng):
        """A concurrent reader: every body it sees is one whole version of the key."""
        key = rng.choice(SHARED_KEYS + [SHARED_BIG_KEY])
        try:
            body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except botocore.exceptions.ClientError as e:
            if e.response["Error"]["Code"] != "NoSuchKey" and not self.server_down.is_set():
                self.read_errors.append(f"GET {key}: {e!r}")
            return
        except Exception as e:  # noqa: BLE001
            if not self.server_down.is_set():
                self.read_errors.append(f"GET {key}: {e!r}")
            return
        digest = hashlib.sha256(body).hexdigest()
        with self.log.lock:
            known = {v.sha256 for v in self.log.by_key[key] if v.sha256}
        if digest not in known:
            self.read_errors.append(f"GET {key} during writes: {describe_body(body)} is no "
                                    "version that was written")
        self.reads += 1


class BlobAccounting:
    """What the data directory holds versus what metadata.db names."""

    def __init__(self, server):
        self.server = server
        blobs = os.path.join(server.data_dir, "blobs")
        self.staging = sorted(os.listdir(os.path.join(blobs, "staging")))
        self.files = {os.path.basename(p)
                      for p in glob.glob(os.path.join(blobs, "objects", "*", "*"))}
        rows = server.query_db("SELECT collection, partition, id, body FROM documents "
                               "WHERE collection IN ('s3.object', 's3.part', 's3.blob', "
                               "'s3.garbage')")
        self.object_blobs, self.part_blobs = set(), set()
        self.registered, self.garbage = set(), set()
        for collection, _, doc_id, body in rows:
            if isinstance(doc_id, bytes):
                doc_id = doc_id.decode("utf-8", "replace")
            if collection == "s3.object":
                for seg in stored_json(body).get("segments", []):
                    if seg.get("blob"):
                        self.object_blobs.add(seg["blob"])
            elif collection == "s3.part":
                blob = stored_json(body).get("blob")
                if blob:
                    self.part_blobs.add(blob)
            elif collection == "s3.blob":
                self.registered.add(doc_id)
            else:
                self.garbage.add(doc_id)

    @property
    def referenced(self):
        return self.object_blobs | self.part_blobs


class CrashDuringWritesTest(HangarTestCase):

    # (what to count, how many in the round before the kill): different moments of the run.
    ROUNDS = [
        ("acked", 1),         # right at the start: nearly everything in flight
        ("parts_acked", 2),   # in the middle of multipart uploads
        ("acked", 40),
        ("acked", 150),       # later, with many overwrites and garbage behind
    ]

    def s3(self):
        return self.server.client("s3")

    def test_kill_during_concurrent_uploads_and_overwrites(self):
        self.s3().create_bucket(Bucket=BUCKET)
        log = WriteLog()
        for round_no, (counter, target) in enumerate(self.ROUNDS, start=1):
            self.run_round(log, round_no, counter, target)
        self.assertEqual(log.unexpected, [], "writes failed while the server was up")

        # Finally: abort what the crashes left of multipart uploads; after the grace time only
        # the blobs of visible objects remain.
        s3 = self.s3()
        uploads = s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
        for u in uploads:
            s3.abort_multipart_upload(Bucket=BUCKET, Key=u["Key"], UploadId=u["UploadId"])
        self.assertEqual(s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []), [])
        self.server.advance_clock(GRACE_CROSSING_SECONDS)
        acct = BlobAccounting(self.server)
        self.assertEqual(acct.part_blobs, set())
        self.assertEqual(acct.garbage, set())
        self.assertEqual(acct.files, acct.object_blobs, "blob files != blobs of visible objects")
        self.assertEqual(acct.registered, acct.object_blobs)

    def run_round(self, log, round_no, counter, target):
        writers = Writers(self, log, round_no, seed=round_no)
        writers.start()
        try:
            # The moment: `target` answers counted and some write outstanding. The kill happens
            # under the log's lock, so no answer is recorded between the check and the kill.
            with log.lock:
                reached = log.lock.wait_for(
                    lambda: (getattr(log, counter) >= target and log.outstanding > 0) or
                    log.unexpected, timeout=WAIT_FOR_TRIGGER_SECONDS)
                in_flight = [v for v in log.versions.values() if v.state == "in-flight"
                             and v.t_end is None]
                acked = log.acked
                if reached and not log.unexpected:
                    writers.server_down.set()
                    self.server.proc.kill()  # SIGKILL, no warning
            if not reached:
                self.fail(f"round {round_no}: {counter} never reached {target} in "
                          f"{WAIT_FOR_TRIGGER_SECONDS} s; {counter}={getattr(log, counter)}, "
                          f"now={time.monotonic():.3f}, in flight: {in_flight}")
        finally:
            writers.server_down.set()
            writers.stop.set()
            self.server.kill()  # reaps it (and kills it if an assertion fired first)
            kill_time = time.monotonic()
            writers.join()
        log.crashed(kill_time)
        self.assertEqual(log.unexpected, [], "writes failed while the server was up")
        kinds = sorted(collections.Counter(v.kind for v in in_flight).items())
        print(f"\n  round {round_no}: killed after {acked} acknowledged writes this round, "
              f"{len(in_flight)} in flight {kinds}, {writers.reads} concurrent reads",
              end=" ", flush=True)
        self.assertEqual(writers.read_errors, [])

        self.server.start()  # recovery runs before the server listens
        acct = BlobAccounting(self.server)
        self.assertEqual(acct.staging, [], "staged blobs left after recovery")
        self.check_objects(log, round_no)
        self.check_blobs(acct, before_grace=True)
        self.server.advance_clock(GRACE_CROSSING_SECONDS)
        self.check_blobs(BlobAccounting(self.server), before_grace=False)

    def check_objects(self, log, round_no):
        s3 = self.s3()
        listed = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for obj in page.get("Contents", []):
                listed[obj["Key"]] = obj["Size"]
        with log.lock:
            keys = list(log.by_key)
        observed = {}
        unknown = sorted(set(listed) - set(keys))
        self.assertEqual(unknown, [], f"round {round_no}: listed keys nobody wrote")
        problems = []
        for key in keys:
            allowed = log.allowed(key)
            etag = None
            try:
                got = s3.get_object(Bucket=BUCKET, Key=key)
                body, etag = got["Body"].read(), got["ETag"]
            except botocore.exceptions.ClientError as e:
                if e.response["Error"]["Code"] != "NoSuchKey":
                    raise
                body = None
            if body is None:
                matches = [v for v in allowed if v is not None and v.kind == "delete"]
                ok = None in allowed or bool(matches)
                if key in listed:
                    problems.append(f"{key}: listed but GET says NoSuchKey")
            else:
                digest = hashlib.sha256(body).hexdigest()
                matches = [v for v in allowed if v is not None and v.sha256 == digest]
                ok = bool(matches)
                # The metadata belongs to those bytes: a PUT's ETag is their MD5, a multipart
                # upload's names its part count.
                md5 = '"%s"' % hashlib.md5(body).hexdigest()
                if matches and not any(etag == md5 if v.kind == "put" else
                                       etag.endswith(('-2"', '-3"')) for v in matches):
                    problems.append(f"{key}: ETag {etag} does not fit the body ({matches})")
                if listed.get(key) != len(body):
                    problems.append(f"{key}: listed size {listed.get(key)} != body {len(body)}")
            if not ok:
                with log.lock:
                    history = "\n      ".join(map(repr, log.by_key[key]))
                seen = "absent" if body is None else describe_body(body)
                problems.append(f"{key}: read {seen}; allowed {allowed}\n      history:\n      "
                                f"{history}")
            observed[key] = matches
        self.assertEqual(problems, [], f"round {round_no}: objects after the crash")
        # What is visible now must stay visible until overwritten: later rounds hold it to that.
        for key, visible in observed.items():
            log.resolve(key, visible)

    def check_blobs(self, acct, before_grace):
        self.assertEqual(acct.staging, [], "staged blobs appeared")
        missing = acct.referenced - acct.files
        self.assertEqual(missing, set(), "metadata names blobs whose files are missing")
        self.assertTrue(acct.referenced <= acct.registered,
                        f"blobs in use but not registered: {acct.referenced - acct.registered}")
        self.assertEqual(acct.registered & acct.garbage, set(), "blobs both in use and garbage")
        if before_grace:
            orphans = acct.files - acct.referenced - acct.garbage
            self.assertEqual(orphans, set(), "blob files nothing names (orphans)")
        else:
            self.assertEqual(acct.garbage, set(), "garbage left after the grace time")
            self.assertEqual(acct.files, acct.referenced, "blob files != referenced blobs")


class InterruptedMultipartTest(HangarTestCase):

    def s3(self):
        return self.server.client("s3")

    def test_parts_survive_a_crash_and_the_upload_completes_after_it(self):
        s3 = self.s3()
        s3.create_bucket(Bucket="mpu")
        key = "interrupted/object.bin"
        upload_id = s3.create_multipart_upload(
            Bucket="mpu", Key=key, ContentType="application/x-test",
            Metadata={"origin": "before-crash"})["UploadId"]
        rng = random.Random(7)
        bodies = {1: rng.randbytes(5 * MiB), 2: rng.randbytes(5 * MiB + 3),
                  3: rng.randbytes(1000)}
        etags = {}
        for number, body in bodies.items():
            etags[number] = s3.upload_part(Bucket="mpu", Key=key, UploadId=upload_id,
                                           PartNumber=number, Body=body)["ETag"]
        self.assertEqual(etags[1], '"%s"' % hashlib.md5(bodies[1]).hexdigest())

        self.server.crash_restart()
        s3 = self.s3()
        uploads = s3.list_multipart_uploads(Bucket="mpu").get("Uploads", [])
        self.assertEqual([(u["Key"], u["UploadId"]) for u in uploads], [(key, upload_id)])
        parts = s3.list_parts(Bucket="mpu", Key=key, UploadId=upload_id)["Parts"]
        self.assertEqual([(p["PartNumber"], p["ETag"], p["Size"]) for p in parts],
                         [(n, etags[n], len(bodies[n])) for n in (1, 2, 3)])

        # After the restart: replace part 3 (must be 5 MiB now that it is no longer last),
        # add a last part 4, complete.
        bodies[3] = rng.randbytes(5 * MiB)
        bodies[4] = rng.randbytes(12345)
        for number in (3, 4):
            etags[number] = s3.upload_part(Bucket="mpu", Key=key, UploadId=upload_id,
                                           PartNumber=number, Body=bodies[number])["ETag"]
        done = s3.complete_multipart_upload(
            Bucket="mpu", Key=key, UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2, 3, 4)]})
        whole = b"".join(bodies[n] for n in (1, 2, 3, 4))
        md5s = b"".join(hashlib.md5(bodies[n]).digest() for n in (1, 2, 3, 4))
        self.assertEqual(done["ETag"], '"%s-4"' % hashlib.md5(md5s).hexdigest())
        got = s3.get_object(Bucket="mpu", Key=key)
        self.assertEqual(got["ContentType"], "application/x-test")
        self.assertEqual(got["Metadata"], {"origin": "before-crash"})
        self.assertEqual(hashlib.sha256(got["Body"].read()).hexdigest(),
                         hashlib.sha256(whole).hexdigest())
        self.assertEqual(s3.list_multipart_uploads(Bucket="mpu").get("Uploads", []), [])

        # And once more across a crash: the completed object is durable; the replaced part 3
        # is deleted after the grace time; nothing else is left.
        self.server.crash_restart()
        s3 = self.s3()
        self.assertEqual(hashlib.sha256(s3.get_object(Bucket="mpu", Key=key)["Body"].read())
                         .hexdigest(), hashlib.sha256(whole).hexdigest())
        self.server.advance_clock(GRACE_CROSSING_SECONDS)
        acct = BlobAccounting(self.server)
        self.assertEqual(acct.staging, [])
        self.assertEqual(acct.files, acct.object_blobs)
        self.assertEqual(len(acct.object_blobs), 4)

    def test_interrupted_upload_can_be_aborted_or_expires_after_a_crash(self):
        s3 = self.s3()
        s3.create_bucket(Bucket="mpu-abort")
        ids = {}
        for key in ("to-abort", "to-abandon"):
            ids[key] = s3.create_multipart_upload(Bucket="mpu-abort", Key=key)["UploadId"]
            for number in (1, 2):
                s3.upload_part(Bucket="mpu-abort", Key=key, UploadId=ids[key],
                               PartNumber=number, Body=os.urandom(5 * MiB))
        self.server.crash_restart()
        s3 = self.s3()
        self.assertEqual(len(s3.list_parts(Bucket="mpu-abort", Key="to-abort",
                                           UploadId=ids["to-abort"])["Parts"]), 2)
        s3.abort_multipart_upload(Bucket="mpu-abort", Key="to-abort", UploadId=ids["to-abort"])
        self.assertClientErrorCode("NoSuchUpload", s3.list_parts, Bucket="mpu-abort",
                                   Key="to-abort", UploadId=ids["to-abort"])
        # The abandoned one goes when its time is up (7 days on the lifecycle clock).
        self.server.advance_clock(8 * 86400)
        self.assertEqual(s3.list_multipart_uploads(Bucket="mpu-abort").get("Uploads", []), [])
        self.server.advance_clock(GRACE_CROSSING_SECONDS)
        acct = BlobAccounting(self.server)
        self.assertEqual(acct.staging, [])
        self.assertEqual(acct.part_blobs, set())
        self.assertEqual(acct.files - acct.object_blobs, set(), "part blobs left behind")

    def assertClientErrorCode(self, code, call, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            call(**kwargs)
        self.assertEqual(cm.exception.response["Error"]["Code"], code)


if __name__ == "__main__":
    unittest.main()
