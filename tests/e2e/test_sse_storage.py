"""What SSE leaves on disk, checked on the real data directory of the real binary:

- no plaintext anywhere (blobs, metadata.db, its WAL, staged files) for every mode, also for
  multipart uploads, copies, an upload in progress, after a restart and after kill -9 mid-upload;
- tampering with a stored blob (a flipped byte, swapped segments, truncation) makes the GET fail
  and never returns wrong bytes, while ranges over untouched segments still read;
- after a KMS key's deletion window, nothing in the data directory decrypts its objects.

On-disk format: docs/sse.md ("Blob format"); object documents: docs/s3-storage.md.
"""

import base64
import hashlib
import http.client
import os
import random
import socket
import sqlite3
import time
import unittest

import botocore.exceptions

from harness import HangarTestCase, b64, stored_inline_bytes

KIB = 1024
MIB = 1024 * KIB
DAY = 86400
SEGMENT = 64 * KIB
TAG = 16
STORED_SEGMENT = SEGMENT + TAG
PART = 5 * MIB
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

CUSTOMER_KEY = hashlib.sha256(b"hangar e2e storage customer key").digest()
# Never used as a key name or metadata (neither is encrypted, on AWS neither): only in bodies.
MARKER = b"HANGAR-STORAGE-PLAINTEXT-MARKER-" + os.urandom(8).hex().encode()


def sse_c_args(key=CUSTOMER_KEY):
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def sse_c_headers(key=CUSTOMER_KEY):
    return {"x-amz-server-side-encryption-customer-algorithm": "AES256",
            "x-amz-server-side-encryption-customer-key": b64(key),
            "x-amz-server-side-encryption-customer-key-MD5": b64(hashlib.md5(key).digest())}


def marked_body(size, seed) -> bytes:
    """`size` bytes of random data with MARKER every 4 KiB (so every segment holds it)."""
    rng = random.Random(seed)
    chunks = []
    while sum(map(len, chunks)) < size:
        chunks.append(MARKER + rng.randbytes(4 * KIB - len(MARKER)))
    return b"".join(chunks)[:size]


def samples_of(body: bytes, count=4, length=32):
    """A few 32-byte windows of the random part of `body`: plaintext that must not be on disk."""
    rng = random.Random(len(body))
    out = []
    for _ in range(count):
        start = rng.randrange(len(MARKER), max(len(MARKER) + 1, min(len(body), 4 * KIB) - length))
        block = rng.randrange(max(1, len(body) // (4 * KIB)))
        window = body[block * 4 * KIB + start:block * 4 * KIB + start + length]
        if len(window) == length:
            out.append(window)
    return out


class StorageTestCase(HangarTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.kms = cls.server.client("kms")

    def reconnect(self):
        """New clients after the server came back (perhaps on another port)."""
        type(self).s3 = self.server.s3_client()
        type(self).kms = self.server.client("kms")

    def assertNoPlaintextOnDisk(self, needles, when):
        hits = self.server.files_containing(*needles)
        self.assertEqual(hits, [], f"plaintext found in the data directory {when}")

    def blob_of(self, bucket, key, segment=0) -> str:
        record = self.server.object_record(bucket, key)
        return self.server.blob_path(record["segments"][segment]["blob"])

    def fetch(self, bucket, key, first=None, last=None, headers=None):
        """A signed GET read to the end or until the server gives up. Returns (status, body,
        complete): complete is False when the connection closed before Content-Length bytes."""
        hdrs = dict(headers or {})
        if first is not None:
            hdrs["Range"] = f"bytes={first}-{last}"
        hdrs["X-Amz-Content-SHA256"] = EMPTY_SHA256
        path, signed = self.server.sign(b"", method="GET", path=f"/{bucket}/{key}",
                                        service="s3", headers=hdrs)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        try:
            conn.request("GET", path, headers=signed)
            resp = conn.getresponse()
            try:
                return resp.status, resp.read(), True
            except http.client.IncompleteRead as e:
                return resp.status, e.partial, False
            except (ConnectionError, http.client.HTTPException):
                return resp.status, b"", False
        finally:
            conn.close()

    def assertReads(self, bucket, key, expected, first=None, last=None, headers=None):
        status, body, complete = self.fetch(bucket, key, first, last, headers)
        want = expected if first is None else expected[first:last + 1]
        self.assertIn(status, (200, 206), body[:300])
        self.assertTrue(complete, f"{key} {first}-{last}: response cut short")
        self.assertEqual(body, want, f"{key} {first}-{last}: wrong bytes")

    def assertFailsWithoutWrongBytes(self, bucket, key, expected, first=None, last=None,
                                     headers=None, bad_offset=0):
        """The GET fails: an error status, or a 200/206 whose body stops short. Whatever bytes
        came are the true bytes and end before `bad_offset` (the first tampered plaintext byte)."""
        status, body, complete = self.fetch(bucket, key, first, last, headers)
        start = 0 if first is None else first
        want = expected[start:] if last is None else expected[start:last + 1]
        what = f"{key} bytes {first}-{last}"
        if status >= 400:
            self.assertIn(status, (500, 503), f"{what}: {status} {body[:300]!r}")
            if len(want) >= 16:
                self.assertNotIn(want[:64], body, f"{what}: plaintext in an error body")
            return
        self.assertIn(status, (200, 206), what)
        self.assertFalse(complete and len(body) == len(want),
                         f"{what}: a tampered blob was served in full (status {status})")
        self.assertEqual(body, want[:len(body)], f"{what}: WRONG BYTES returned")
        self.assertLessEqual(len(body), max(0, bad_offset - start),
                             f"{what}: bytes of a tampered segment were returned")


class PlaintextOnDiskTest(StorageTestCase):
    """Every mode leaves only ciphertext behind."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        key = cls.kms.create_key(Description="storage key")["KeyMetadata"]
        cls.kms.create_alias(AliasName="alias/storage", TargetKeyId=key["KeyId"])
        cls.key_id = key["KeyId"]
        cls.s3.create_bucket(Bucket="disk-plain")
        cls.s3.create_bucket(Bucket="disk-bk")
        cls.s3.put_bucket_encryption(Bucket="disk-bk", ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/storage"},
                "BucketKeyEnabled": True}]})

    def modes(self):
        kms = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.key_id}
        return {
            "sse_s3": ("disk-plain", {"ServerSideEncryption": "AES256"}, {}),
            "default": ("disk-plain", {}, {}),
            "kms": ("disk-plain", kms, {}),
            "kms_aws_managed": ("disk-plain", {"ServerSideEncryption": "aws:kms"}, {}),
            "kms_bucket_key": ("disk-plain", {**kms, "BucketKeyEnabled": True}, {}),
            "bucket_default_bucket_key": ("disk-bk", {}, {}),
            "dsse": ("disk-plain", {**kms, "ServerSideEncryption": "aws:kms:dsse"}, {}),
            "sse_c": ("disk-plain", sse_c_args(), sse_c_args()),
        }

    def test_no_mode_leaves_plaintext_in_any_file_also_after_a_restart(self):
        needles = [MARKER]
        written = []
        for name, (bucket, put, read) in self.modes().items():
            # A tiny body, a multi-segment one (streamed on GET), a multipart upload, a copy.
            tiny = MARKER + b" tiny " + name.encode()
            large = marked_body(5 * SEGMENT + 777, f"large/{name}")
            needles += samples_of(large)
            self.s3.put_object(Bucket=bucket, Key=f"{name}/tiny", Body=tiny, **put)
            self.s3.put_object(Bucket=bucket, Key=f"{name}/large", Body=large, **put)
            written += [(bucket, f"{name}/tiny", tiny, read),
                        (bucket, f"{name}/large", large, read)]
            multipart = marked_body(PART + 3 * SEGMENT, f"multipart/{name}")
            needles += samples_of(multipart)
            upload = self.s3.create_multipart_upload(Bucket=bucket, Key=f"{name}/mpu", **put)
            etags = []
            for number, part in enumerate((multipart[:PART], multipart[PART:]), 1):
                etags.append(self.s3.upload_part(Bucket=bucket, Key=f"{name}/mpu", Body=part,
                                                 UploadId=upload["UploadId"], PartNumber=number,
                                                 **read)["ETag"])
            self.s3.complete_multipart_upload(
                Bucket=bucket, Key=f"{name}/mpu", UploadId=upload["UploadId"],
                MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e}
                                           for i, e in enumerate(etags)]})
            written.append((bucket, f"{name}/mpu", multipart, read))
            copy_source = {f"CopySource{k}": v for k, v in read.items()}
            self.s3.copy_object(Bucket=bucket, Key=f"{name}/copy", **put, **copy_source,
                                CopySource={"Bucket": bucket, "Key": f"{name}/large"})
            written.append((bucket, f"{name}/copy", large, read))
            # An upload left in progress: its parts are on disk too.
            pending = self.s3.create_multipart_upload(Bucket=bucket, Key=f"{name}/pending", **put)
            self.s3.upload_part(Bucket=bucket, Key=f"{name}/pending", Body=large,
                                UploadId=pending["UploadId"], PartNumber=1, **read)

        for bucket, key, body, read in written:
            got = self.s3.get_object(Bucket=bucket, Key=key, **read)["Body"].read()
            self.assertEqual(got, body, key)
        self.assertGreater(len(self.server.data_files()), 40)
        self.assertNoPlaintextOnDisk(needles, "after uploads in every mode")

        self.assertEqual(self.server.restart(), 0)
        self.reconnect()
        self.assertNoPlaintextOnDisk(needles, "after a restart")
        for bucket, key, body, read in written:
            got = self.s3.get_object(Bucket=bucket, Key=key, **read)["Body"].read()
            self.assertEqual(got, body, f"{key} after a restart")

    def test_a_small_object_keeps_only_its_ciphertext_in_its_record(self):
        """Objects up to --inline-max-size (16 KiB) keep their encrypted bytes in their metadata
        record instead of a blob file (docs/s3-storage.md): no file, ciphertext + tag only."""
        blob_files = self.blob_files()
        for name, (bucket, put, read) in self.modes().items():
            with self.subTest(mode=name):
                key = f"inline-check-{name}"
                body = marked_body(4 * KIB, f"inline/{name}")
                self.s3.put_object(Bucket=bucket, Key=key, Body=body, **put)
                self.assertEqual(self.blob_files(), blob_files, "a small PUT made a blob file")
                record = self.server.object_record(bucket, key)
                self.assertEqual(record["segments"][0]["blob"], "")
                self.assertTrue(record["segments"][0]["inline"])
                (raw,) = self.server.query_db(
                    "SELECT body FROM documents WHERE collection = 's3.object' "
                    "AND CAST(partition AS TEXT) = ? AND CAST(id AS TEXT) = ?", (bucket, key))[0]
                stored = stored_inline_bytes(raw)
                layers = 2 if name == "dsse" else 1  # DSSE: two layers, a tag each
                self.assertEqual(len(stored), len(body) + layers * TAG)
                self.assertNotIn(MARKER, stored)
                got = self.s3.get_object(Bucket=bucket, Key=key, **read)["Body"].read()
                self.assertEqual(got, body)
                # The search sees the record (its key is plain metadata), never the body.
                self.assertNotEqual(self.server.files_containing(key.encode()), [])
                self.assertNoPlaintextOnDisk([MARKER] + samples_of(body), f"after {key}")

    def blob_files(self):
        return sorted(p for p in self.server.data_files()
                      if os.sep + "blobs" + os.sep in p)

    def test_kill_9_mid_upload_leaves_no_plaintext(self):
        declared = 4 * MIB
        sent = 2 * MIB
        body = marked_body(declared, "interrupted")
        kms = {"x-amz-server-side-encryption": "aws:kms",
               "x-amz-server-side-encryption-aws-kms-key-id": self.key_id}
        uploads = {"sse_s3": {}, "kms": kms,
                   "dsse": {**kms, "x-amz-server-side-encryption": "aws:kms:dsse"},
                   "sse_c": sse_c_headers()}
        staging = os.path.join(self.server.data_dir, "blobs", "staging")
        before = set(os.listdir(staging))
        sockets = []
        try:
            for name, headers in uploads.items():
                path, signed = self.server.sign(
                    body, method="PUT", path=f"/disk-plain/interrupted-{name}", service="s3",
                    headers={**headers,
                             "X-Amz-Content-SHA256": hashlib.sha256(body).hexdigest()})
                head = f"PUT {path} HTTP/1.1\r\n".encode()
                for k, v in signed.items():
                    head += f"{k}: {v}\r\n".encode()
                head += f"Content-Length: {declared}\r\n\r\n".encode()
                sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
                sockets.append(sock)
                sock.sendall(head + body[:sent])
            # Wait (bounded) until the server has staged part of every upload.
            deadline = time.monotonic() + 20
            while True:
                staged = [os.path.join(staging, n) for n in set(os.listdir(staging)) - before]
                sizes = [os.path.getsize(p) for p in staged if os.path.exists(p)]
                if len(sizes) >= len(uploads) and min(sizes) >= 512 * KIB:
                    break
                self.assertLess(time.monotonic(), deadline,
                                f"uploads not staged in time: {sizes}")
                time.sleep(0.02)
            needles = [MARKER] + samples_of(body[:sent], count=8)
            self.assertNoPlaintextOnDisk(needles, "while uploads are staged")
            self.server.kill()
        finally:
            for sock in sockets:
                sock.close()
        self.assertNoPlaintextOnDisk(needles, "after kill -9 mid-upload")
        self.server.start()
        self.reconnect()
        self.assertNoPlaintextOnDisk(needles, "after recovery")
        self.assertEqual(set(os.listdir(staging)), set(), "recovery left staged blobs")
        for name in uploads:
            with self.assertRaises(botocore.exceptions.ClientError):
                self.s3.head_object(Bucket="disk-plain", Key=f"interrupted-{name}")


class TamperTest(StorageTestCase):
    """A stored blob altered behind the server's back is detected, never served."""

    BUCKET = "tamper"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key_id = cls.kms.create_key()["KeyMetadata"]["KeyId"]
        cls.s3.create_bucket(Bucket=cls.BUCKET)

    def modes(self):
        kms = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.key_id}
        return {
            "sse_s3": ({}, {}),
            "kms": (kms, {}),
            "kms_bucket_key": ({**kms, "BucketKeyEnabled": True}, {}),
            "dsse": ({**kms, "ServerSideEncryption": "aws:kms:dsse"}, {}),
            "sse_c": (sse_c_args(), sse_c_headers()),
        }

    def put(self, key, body, mode):
        put, _ = self.modes()[mode]
        self.s3.put_object(Bucket=self.BUCKET, Key=key, Body=body, **put)
        return self.modes()[mode][1]

    @staticmethod
    def flip(path, offset):
        with open(path, "r+b") as f:
            f.seek(offset)
            byte = f.read(1)
            f.seek(offset)
            f.write(bytes([byte[0] ^ 0x01]))

    def test_a_flipped_byte_in_a_small_object_fails_the_get_in_every_mode(self):
        """1,000 bytes live in the object's metadata record (docs/s3-storage.md, small objects),
        20,000 in a blob file: either way, one flipped stored byte fails the GET."""
        for size in (1000, 20000):
            for mode in self.modes():
                for where in ("ciphertext", "tag"):
                    with self.subTest(size=size, mode=mode, where=where):
                        key = f"small-{size}-{mode}-{where}"
                        body = bytes(random.Random(key).randbytes(size))
                        headers = self.put(key, body, mode)
                        self.assertReads(self.BUCKET, key, body, headers=headers)
                        tags = 2 * TAG if mode == "dsse" else TAG  # DSSE: two layers
                        offset = 500 if where == "ciphertext" else size + tags - 3
                        if size == 1000:
                            self.flip_inline(key, offset, size + tags)
                        else:
                            self.flip(self.blob_of(self.BUCKET, key), offset)
                        self.assertFailsWithoutWrongBytes(self.BUCKET, key, body,
                                                          headers=headers)
                        self.assertFailsWithoutWrongBytes(self.BUCKET, key, body, 0, 9,
                                                          headers=headers)

    def flip_inline(self, key, offset, stored_size):
        """Flips one stored byte of a small object kept in its record, writing the metadata
        database behind the server's back (SQLite's WAL lets another process write)."""
        record = self.server.object_record(self.BUCKET, key)
        self.assertEqual(record["segments"][0]["blob"], "", "expected the bytes in the record")
        conn = sqlite3.connect(self.server.db_path, timeout=30)
        try:
            where = ("collection = 's3.object' AND CAST(partition AS TEXT) = ? "
                     "AND CAST(id AS TEXT) = ?")
            (body,) = conn.execute(f"SELECT body FROM documents WHERE {where}",
                                   (self.BUCKET, key)).fetchone()
            body = bytearray(body)
            start = body.index(0) + 1
            self.assertEqual(len(body) - start, stored_size, "inline bytes: ciphertext + tag")
            body[start + offset] ^= 0x01
            conn.execute(f"UPDATE documents SET body = ? WHERE {where}",
                         (bytes(body), self.BUCKET, key))
            conn.commit()
        finally:
            conn.close()

    def large(self, key, mode="sse_s3", segments=9):
        body = random.Random(key).randbytes((segments - 1) * SEGMENT + 100)
        headers = self.put(key, body, mode)
        path = self.blob_of(self.BUCKET, key)
        self.assertEqual(os.path.getsize(path), len(body) + segments * TAG,
                         "stored size is not plaintext + 16 B per segment")
        return body, headers, path

    def test_a_flipped_byte_in_one_segment_fails_only_ranges_that_touch_it(self):
        for mode in ("sse_s3", "kms", "sse_c"):
            with self.subTest(mode=mode):
                key = f"large-flip-{mode}"
                body, headers, path = self.large(key, mode)
                self.flip(path, 5 * STORED_SEGMENT + 1234)  # inside segment 5
                bad = 5 * SEGMENT
                args = dict(headers=headers, bad_offset=bad)
                # Untouched segments still read, also streamed (> 256 KiB) up to segment 4.
                self.assertReads(self.BUCKET, key, body, 0, 200000, headers=headers)
                self.assertReads(self.BUCKET, key, body, 0, bad - 1, headers=headers)
                self.assertReads(self.BUCKET, key, body, 6 * SEGMENT, len(body) - 1,
                                 headers=headers)
                self.assertReads(self.BUCKET, key, body, bad - 10, bad - 1, headers=headers)
                # Anything touching segment 5 fails without a wrong byte.
                self.assertFailsWithoutWrongBytes(self.BUCKET, key, body, bad, bad, **args)
                self.assertFailsWithoutWrongBytes(self.BUCKET, key, body, bad + 2000, bad + 3000,
                                                  **args)
                self.assertFailsWithoutWrongBytes(self.BUCKET, key, body, bad - 10, bad + 10,
                                                  **args)
                self.assertFailsWithoutWrongBytes(self.BUCKET, key, body, 4 * SEGMENT,
                                                  7 * SEGMENT, **args)
                self.assertFailsWithoutWrongBytes(self.BUCKET, key, body, 0, len(body) - 1,
                                                  **args)
                self.assertFailsWithoutWrongBytes(self.BUCKET, key, body, **args)

    def test_swapped_segments_fail(self):
        key = "large-swap"
        body, headers, path = self.large(key)
        with open(path, "r+b") as f:
            f.seek(1 * STORED_SEGMENT)
            one = f.read(STORED_SEGMENT)
            two = f.read(STORED_SEGMENT)
            f.seek(1 * STORED_SEGMENT)
            f.write(two + one)
        self.assertReads(self.BUCKET, key, body, 0, SEGMENT - 1)
        self.assertReads(self.BUCKET, key, body, 3 * SEGMENT, len(body) - 1)
        for first, last in ((SEGMENT, SEGMENT + 10), (2 * SEGMENT + 5, 2 * SEGMENT + 6),
                            (0, 3 * SEGMENT), (None, None)):
            self.assertFailsWithoutWrongBytes(self.BUCKET, key, body, first, last,
                                              bad_offset=SEGMENT)

    def test_segments_moved_between_blobs_fail(self):
        # Same index, another blob (another content key): the tag does not verify.
        body_a, _, path_a = self.large("large-move-a")
        body_b, _, path_b = self.large("large-move-b")
        with open(path_a, "rb") as f:
            f.seek(2 * STORED_SEGMENT)
            segment = f.read(STORED_SEGMENT)
        with open(path_b, "r+b") as f:
            f.seek(2 * STORED_SEGMENT)
            f.write(segment)
        self.assertFailsWithoutWrongBytes(self.BUCKET, "large-move-b", body_b,
                                          2 * SEGMENT, 2 * SEGMENT + 99, bad_offset=2 * SEGMENT)
        self.assertReads(self.BUCKET, "large-move-b", body_b, 0, 2 * SEGMENT - 1)

    def test_truncated_blobs_fail(self):
        cases = {
            "after-a-full-segment": lambda size: 8 * STORED_SEGMENT,  # the last segment gone
            "mid-segment": lambda size: size - 40,
            "tag-only": lambda size: size - 1,
            "empty": lambda size: 0,
        }
        for name, new_size in cases.items():
            with self.subTest(name):
                key = f"large-truncated-{name}"
                body, headers, path = self.large(key)
                size = os.path.getsize(path)
                os.truncate(path, new_size(size))
                bad = 8 * SEGMENT if name != "empty" else 0
                self.assertFailsWithoutWrongBytes(self.BUCKET, key, body, bad_offset=bad)
                self.assertFailsWithoutWrongBytes(self.BUCKET, key, body, len(body) - 50,
                                                  len(body) - 1, bad_offset=bad)
                if name != "empty":
                    self.assertReads(self.BUCKET, key, body, 0, 100)

    def test_a_tampered_part_of_a_multipart_object_fails_and_other_parts_read(self):
        key = "multipart-tamper"
        body = random.Random(key).randbytes(PART + 2 * SEGMENT)
        upload = self.s3.create_multipart_upload(Bucket=self.BUCKET, Key=key)
        etags = [self.s3.upload_part(Bucket=self.BUCKET, Key=key, UploadId=upload["UploadId"],
                                     PartNumber=n, Body=part)["ETag"]
                 for n, part in enumerate((body[:PART], body[PART:]), 1)]
        self.s3.complete_multipart_upload(
            Bucket=self.BUCKET, Key=key, UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e}
                                       for i, e in enumerate(etags)]})
        self.flip(self.blob_of(self.BUCKET, key, segment=1), STORED_SEGMENT + 7)
        bad = PART + SEGMENT
        self.assertReads(self.BUCKET, key, body, 0, PART + SEGMENT - 1)
        self.assertFailsWithoutWrongBytes(self.BUCKET, key, body, PART + SEGMENT,
                                          PART + SEGMENT + 5, bad_offset=bad)
        self.assertFailsWithoutWrongBytes(self.BUCKET, key, body, bad_offset=bad)


class DestroyedKeyTest(StorageTestCase):
    """After the deletion window, the data directory holds nothing that decrypts the objects."""

    BUCKET = "destroyed"

    def material_rows(self, key_id):
        return [bytes(r[0]) if not isinstance(r[0], str) else r[0].encode()
                for r in self.server.query_db(
                    "SELECT body FROM documents WHERE collection = 'kms.material' "
                    "AND CAST(partition AS TEXT) = ?", (key_id,))]

    def stored_data_keys(self, key):
        """(ciphertext blob, encryption context) of every KMS data key stored for an object."""
        record = self.server.object_record(self.BUCKET, key)
        sse = record["sse"]
        arn = f"arn:aws:s3:::{self.BUCKET}" + ("" if sse["bucket_key"] else f"/{key}")
        out = []
        for segment in record["segments"]:
            for field in ("kms", "kms2"):
                if segment["keys"][field]:
                    out.append((base64.b64decode(segment["keys"][field]), {"aws:s3:arn": arn}))
        return out

    def test_after_the_window_no_file_decrypts_the_objects_and_gets_fail_forever(self):
        meta = self.kms.create_key(Description="to be destroyed")["KeyMetadata"]
        key_id, key_arn = meta["KeyId"], meta["Arn"]
        survivor = self.kms.create_key(Description="stays")["KeyMetadata"]
        self.s3.create_bucket(Bucket=self.BUCKET)
        kms = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_id}
        objects = {
            "kms": (marked_body(3 * SEGMENT, "kms"), kms),
            "bucket-key": (marked_body(SEGMENT + 5, "bk"), {**kms, "BucketKeyEnabled": True}),
            "dsse": (marked_body(2 * SEGMENT, "dsse"),
                     {**kms, "ServerSideEncryption": "aws:kms:dsse"}),
            "other-key": (marked_body(1000, "other"),
                          {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": survivor["KeyId"]}),
        }
        for name, (body, args) in objects.items():
            self.s3.put_object(Bucket=self.BUCKET, Key=name, Body=body, **args)
        upload = self.s3.create_multipart_upload(Bucket=self.BUCKET, Key="multipart", **kms)
        multipart = marked_body(PART + 100, "multipart")
        etags = [self.s3.upload_part(Bucket=self.BUCKET, Key="multipart", PartNumber=n,
                                     UploadId=upload["UploadId"], Body=part)["ETag"]
                 for n, part in enumerate((multipart[:PART], multipart[PART:]), 1)]
        self.s3.complete_multipart_upload(
            Bucket=self.BUCKET, Key="multipart", UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e}
                                       for i, e in enumerate(etags)]})
        doomed = ["kms", "bucket-key", "dsse", "multipart"]

        # Before: the stored data keys do decrypt through KMS (so "no longer" below means it).
        data_keys = [dk for name in doomed for dk in self.stored_data_keys(name)]
        self.assertGreaterEqual(len(data_keys), 6)
        for blob, context in data_keys:
            plain = self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
            self.assertEqual(len(plain["Plaintext"]), 32)
        materials = self.material_rows(key_id)
        self.assertEqual(len(materials), 1)

        self.kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        self.server.advance_clock(7 * DAY + 1)

        gone = f"Key '{key_arn}' does not exist"

        def assert_destroyed(when):
            self.assertEqual(self.material_rows(key_id), [], f"material rows remain {when}")
            hits = self.server.files_containing(*materials)
            self.assertEqual(hits, [], f"wrapped key material still on disk {when}")
            for blob, context in data_keys:
                with self.assertRaises(botocore.exceptions.ClientError, msg=when) as cm:
                    self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
                self.assertEqual(cm.exception.response["Error"]["Code"], "NotFoundException")
                self.assertEqual(cm.exception.response["Error"]["Message"], gone)
            for name in doomed:
                with self.subTest(name=name, when=when):
                    with self.assertRaises(botocore.exceptions.ClientError) as cm:
                        self.s3.get_object(Bucket=self.BUCKET, Key=name)["Body"].read()
                    error = cm.exception.response["Error"]
                    self.assertEqual((error["Code"], error["Message"]),
                                     ("KMS.NotFoundException", gone))
            # Objects under another key are unaffected.
            got = self.s3.get_object(Bucket=self.BUCKET, Key="other-key")["Body"].read()
            self.assertEqual(got, objects["other-key"][0])
            self.assertNoPlaintextOnDisk([MARKER], when)

        assert_destroyed("right after the window")
        self.assertEqual(self.server.restart(), 0)
        self.reconnect()
        assert_destroyed("after a restart")
        self.server.crash_restart()
        self.reconnect()
        self.server.advance_clock(365 * DAY)
        assert_destroyed("after kill -9 and a year")

    def test_an_empty_kms_object_is_unreadable_once_its_key_is_destroyed(self):
        # An empty object has no blob, but it is still an SSE-KMS object: AWS decrypts its data
        # key on every GET, so it shares its key's fate like any other (issue 4).
        meta = self.kms.create_key(Description="empty object key")["KeyMetadata"]
        self.s3.create_bucket(Bucket="destroyed-empty")
        self.s3.put_object(Bucket="destroyed-empty", Key="empty", Body=b"",
                           ServerSideEncryption="aws:kms", SSEKMSKeyId=meta["KeyId"])
        self.assertEqual(self.s3.get_object(Bucket="destroyed-empty", Key="empty")["Body"].read(),
                         b"")
        self.kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
        self.server.advance_clock(7 * DAY + 1)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.get_object(Bucket="destroyed-empty", Key="empty")
        error = cm.exception.response["Error"]
        self.assertEqual((error["Code"], error["Message"]),
                         ("KMS.NotFoundException", f"Key '{meta['Arn']}' does not exist"))


if __name__ == "__main__":
    unittest.main()
