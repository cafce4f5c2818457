"""Conditional writes and deletes, and idempotent CompleteMultipartUpload, with boto3 and raw
signed requests (docs/reference/s3-data-protection.md §4 and §5).

Covered: If-None-Match: * and If-Match on PutObject, CopyObject and CompleteMultipartUpload (412
with the failed Condition, 404 NoSuchKey for If-Match on a missing key, 501 NotImplemented for the
values and combinations S3 refuses); 16 clients racing If-None-Match: * PUTs where exactly one
wins; a conditional Complete that loses to a write made after its upload began (409
ConditionalRequestConflict) and an upload that survives a failed condition; DeleteObject and
DeleteObjects with If-Match / <ETag>; a retried Complete answered with the first result (also with
a condition that no longer holds), not NoSuchUpload, until its replay window ends on the dev clock.

Debian 12's boto3 (1.26) predates the IfMatch / IfNoneMatch parameters, so the headers are added
to the real boto3 requests through botocore's before-sign event.
"""

import base64
import concurrent.futures
import contextlib
import hashlib
import json
import threading
import unittest
import xml.etree.ElementTree as ET

import botocore.exceptions

from harness import HangarTestCase

DAY = 86400
MiB = 1024 * 1024


class ConditionalHeaders:
    """Adds headers to the boto3 calls made inside `with headers.on(...)`, per thread."""

    def __init__(self, client):
        self._local = threading.local()
        client.meta.events.register("before-sign.s3.*", self._add)

    def _add(self, request, **_):
        for name, value in getattr(self._local, "headers", {}).items():
            request.headers[name] = value

    @contextlib.contextmanager
    def on(self, **headers):
        self._local.headers = {k.replace("_", "-"): v for k, v in headers.items()}
        try:
            yield
        finally:
            self._local.headers = {}


def error_fields(body: bytes) -> dict:
    return {child.tag: child.text for child in ET.fromstring(body)}


class ConditionalWriteTest(HangarTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.conditional = ConditionalHeaders(cls.s3)
        cls.s3.create_bucket(Bucket="cond")

    def put(self, key, body, **headers):
        with self.conditional.on(**headers):
            return self.s3.put_object(Bucket="cond", Key=key, Body=body)

    def body_of(self, key):
        return self.s3.get_object(Bucket="cond", Key=key)["Body"].read()

    def assertFails(self, status, code, call, *args, condition=None, **kwargs):
        response = self.assertS3Error(status, code, None, call, *args, **kwargs)
        if condition is not None:
            self.assertEqual(response["Error"].get("Condition"), condition, response)
        return response

    def test_if_none_match_star_creates_only(self):
        self.put("new.txt", b"first", If_None_Match="*")
        self.assertFails(412, "PreconditionFailed", self.put, "new.txt", b"second",
                         If_None_Match="*", condition="If-None-Match")
        self.assertEqual(self.body_of("new.txt"), b"first")

    def test_if_match_replaces_only_that_version(self):
        etag = self.put("doc.txt", b"v1")["ETag"]
        self.assertFails(412, "PreconditionFailed", self.put, "doc.txt", b"v2",
                         If_Match='"0123456789abcdef0123456789abcdef"', condition="If-Match")
        self.assertEqual(self.body_of("doc.txt"), b"v1")
        self.put("doc.txt", b"v2", If_Match=etag.strip('"'))  # with or without quotes
        self.assertEqual(self.body_of("doc.txt"), b"v2")
        self.assertFails(404, "NoSuchKey", self.put, "absent.txt", b"x", If_Match=etag)

    def test_refused_values_are_not_implemented(self):
        cases = [
            ({"If-Match": "*"}, "If-Match",
             "We don't accept the provided value of If-Match header for this API"),
            ({"If-None-Match": '"abc"'}, "If-None-Match",
             "We don't accept the provided value of If-None-Match header for this API"),
            ({"If-None-Match": "*", "If-Match": '"abc"'}, "If-Match,If-None-Match",
             "Multiple conditional request headers present in the request"),
        ]
        for headers, header, additional in cases:
            with self.subTest(headers=headers):
                r = self.server.s3_request("PUT", "/cond/refused.txt", b"x", headers=headers)
                self.assertEqual(r.status, 501, r.body)
                fields = error_fields(r.body)
                self.assertEqual(fields["Code"], "NotImplemented")
                self.assertEqual(fields["Header"], header)
                self.assertEqual(fields["additionalMessage"], additional)
        self.assertFails(404, "NoSuchKey", self.s3.get_object, Bucket="cond", Key="refused.txt")

    def test_sixteen_racing_creates_one_wins(self):
        clients = [self.server.s3_client() for _ in range(16)]
        barrier = threading.Barrier(len(clients))

        def attempt(i):
            client = clients[i]
            client.meta.events.register(
                "before-sign.s3.PutObject",
                lambda request, **_: request.headers.__setitem__("If-None-Match", "*"))
            barrier.wait()
            try:
                client.put_object(Bucket="cond", Key="race.txt", Body=f"writer {i}".encode())
                return i, 200
            except botocore.exceptions.ClientError as e:
                return i, e.response["ResponseMetadata"]["HTTPStatusCode"]

        with concurrent.futures.ThreadPoolExecutor(len(clients)) as pool:
            results = list(pool.map(attempt, range(len(clients))))
        winners = [i for i, status in results if status == 200]
        self.assertEqual(len(winners), 1, results)
        self.assertEqual(sorted(s for _, s in results if s != 200), [412] * 15, results)
        self.assertEqual(self.body_of("race.txt"), f"writer {winners[0]}".encode())

    def test_copy_object_conditions_apply_to_the_destination(self):
        self.put("src.txt", b"source")
        dest_etag = self.put("dest.txt", b"old")["ETag"]
        with self.conditional.on(If_None_Match="*"):
            self.assertFails(412, "PreconditionFailed", self.s3.copy_object, Bucket="cond",
                             Key="dest.txt", CopySource="cond/src.txt", condition="If-None-Match")
        with self.conditional.on(If_Match=dest_etag):
            self.s3.copy_object(Bucket="cond", Key="dest.txt", CopySource="cond/src.txt")
        self.assertEqual(self.body_of("dest.txt"), b"source")

    def multipart(self, key, payload=b"p" * (5 * MiB)):
        upload = self.s3.create_multipart_upload(Bucket="cond", Key=key)["UploadId"]
        part = self.s3.upload_part(Bucket="cond", Key=key, UploadId=upload, PartNumber=1,
                                   Body=payload)
        return upload, {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}

    def complete(self, key, upload, parts, **headers):
        with self.conditional.on(**headers):
            return self.s3.complete_multipart_upload(Bucket="cond", Key=key, UploadId=upload,
                                                     MultipartUpload=parts)

    def test_complete_if_none_match_after_a_put_fails_and_the_upload_survives(self):
        upload, parts = self.multipart("mp-none.bin")
        self.put("mp-none.bin", b"written meanwhile")
        self.assertFails(412, "PreconditionFailed", self.complete, "mp-none.bin", upload, parts,
                         If_None_Match="*", condition="If-None-Match")
        # The upload is still there: an unconditional Complete finishes it.
        self.assertEqual(len(self.s3.list_parts(Bucket="cond", Key="mp-none.bin",
                                                UploadId=upload)["Parts"]), 1)
        self.complete("mp-none.bin", upload, parts)
        self.assertEqual(len(self.body_of("mp-none.bin")), 5 * MiB)

    def test_complete_if_match_loses_to_a_write_after_the_upload_began(self):
        first = self.put("mp-match.bin", b"before")["ETag"]
        upload, parts = self.multipart("mp-match.bin")
        self.assertFails(412, "PreconditionFailed", self.complete, "mp-match.bin", upload, parts,
                         If_Match='"ffffffffffffffffffffffffffffffff"', condition="If-Match")
        # Rewritten with the same bytes: the ETag still matches, but the key changed since the
        # upload began.
        again = self.put("mp-match.bin", b"before")["ETag"]
        self.assertEqual(again, first)
        response = self.assertFails(409, "ConditionalRequestConflict", self.complete,
                                    "mp-match.bin", upload, parts, If_Match=first)
        self.assertEqual(response["Error"]["Message"],
                         "The conditional request cannot succeed due to a conflicting operation "
                         "against this resource.")
        self.assertEqual(self.body_of("mp-match.bin"), b"before")
        # A new upload begun after the write completes under the same condition.
        upload2, parts2 = self.multipart("mp-match.bin")
        self.complete("mp-match.bin", upload2, parts2, If_Match=first)
        self.assertEqual(len(self.body_of("mp-match.bin")), 5 * MiB)

    def test_conditional_deletes(self):
        etag = self.put("del.txt", b"x")["ETag"]
        with self.conditional.on(If_Match='"00000000000000000000000000000000"'):
            self.assertFails(412, "PreconditionFailed", self.s3.delete_object, Bucket="cond",
                             Key="del.txt", condition="If-Match")
        self.assertEqual(self.body_of("del.txt"), b"x")
        with self.conditional.on(If_Match=etag):
            self.s3.delete_object(Bucket="cond", Key="del.txt")
        self.assertFails(404, "NoSuchKey", self.s3.get_object, Bucket="cond", Key="del.txt")
        with self.conditional.on(If_Match="*"):
            self.assertFails(404, "NoSuchKey", self.s3.delete_object, Bucket="cond", Key="del.txt")
        r = self.server.s3_request("DELETE", "/cond/del.txt",
                                   headers={"x-amz-if-match-size": "1"})
        self.assertEqual(r.status, 501, r.body)
        self.assertEqual(error_fields(r.body)["Header"], "x-amz-if-match-size")
        # DeleteObjects: per object, an <ETag> that does not match is that object's error.
        keep = self.put("batch-keep.txt", b"k")["ETag"]
        gone = self.put("batch-gone.txt", b"g")["ETag"]
        body = ("<Delete>"
                f"<Object><Key>batch-keep.txt</Key><ETag>\"{'1' * 32}\"</ETag></Object>"
                f"<Object><Key>batch-gone.txt</Key><ETag>{gone}</ETag></Object>"
                "</Delete>").encode()
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        r = self.server.s3_request("POST", "/cond", body, query="delete",
                                   headers={"Content-MD5": md5})
        self.assertEqual(r.status, 200, r.body)
        ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
        root = ET.fromstring(r.body)
        deleted = [e.findtext("s3:Key", namespaces=ns) for e in root.findall("s3:Deleted", ns)]
        errors = {e.findtext("s3:Key", namespaces=ns): e.findtext("s3:Code", namespaces=ns)
                  for e in root.findall("s3:Error", ns)}
        self.assertEqual(deleted, ["batch-gone.txt"])
        self.assertEqual(errors, {"batch-keep.txt": "PreconditionFailed"})
        self.assertEqual(self.s3.head_object(Bucket="cond", Key="batch-keep.txt")["ETag"], keep)


class RequiredConditionTest(HangarTestCase):
    """A bucket policy can demand conditional writes through s3:if-none-match (AWS's
    conditional-writes-enforce example), and name the copy source with s3:x-amz-copy-source."""

    def test_bucket_policy_requires_if_none_match(self):
        s3 = self.server.s3_client()
        conditional = ConditionalHeaders(s3)
        s3.create_bucket(Bucket="write-once")
        s3.put_object(Bucket="write-once", Key="seed.txt", Body=b"seed")
        s3.put_bucket_policy(Bucket="write-once", Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "RequireCreateOnly", "Effect": "Deny", "Principal": "*",
                 "Action": "s3:PutObject", "Resource": "arn:aws:s3:::write-once/*",
                 "Condition": {"Null": {"s3:if-none-match": "true"}}},
                {"Sid": "NoCopiesFromSecrets", "Effect": "Deny", "Principal": "*",
                 "Action": "s3:PutObject", "Resource": "arn:aws:s3:::write-once/*",
                 "Condition": {"StringLike": {"s3:x-amz-copy-source": "write-once/secret*"}}},
            ]}))
        self.assertS3Error(403, "AccessDenied", None, s3.put_object, Bucket="write-once",
                           Key="plain.txt", Body=b"x")
        with conditional.on(If_None_Match="*"):
            s3.put_object(Bucket="write-once", Key="created.txt", Body=b"x")
            s3.copy_object(Bucket="write-once", Key="copied.txt",
                           CopySource="write-once/seed.txt")
            s3.put_object(Bucket="write-once", Key="secret.txt", Body=b"s")
            self.assertS3Error(403, "AccessDenied", None, s3.copy_object, Bucket="write-once",
                               Key="leak.txt", CopySource="write-once/secret.txt")
        self.assertEqual(s3.get_object(Bucket="write-once", Key="copied.txt")["Body"].read(),
                         b"seed")


class IdempotentCompleteTest(HangarTestCase):
    def test_a_retried_complete_gets_the_first_answer(self):
        s3 = self.server.s3_client()
        conditional = ConditionalHeaders(s3)
        s3.create_bucket(Bucket="retry")
        upload = s3.create_multipart_upload(Bucket="retry", Key="big.bin")["UploadId"]
        part = s3.upload_part(Bucket="retry", Key="big.bin", UploadId=upload, PartNumber=1,
                              Body=b"r" * (5 * MiB))
        parts = {"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}
        with conditional.on(If_None_Match="*"):
            first = s3.complete_multipart_upload(Bucket="retry", Key="big.bin", UploadId=upload,
                                                 MultipartUpload=parts)
            # The key exists now, so the condition no longer holds: a retry still succeeds.
            again = s3.complete_multipart_upload(Bucket="retry", Key="big.bin", UploadId=upload,
                                                 MultipartUpload=parts)
        self.assertEqual(again["ETag"], first["ETag"])
        self.assertEqual(again["Key"], "big.bin")
        self.assertEqual(s3.head_object(Bucket="retry", Key="big.bin")["ETag"], first["ETag"])
        # The upload itself is gone: no parts, no abort.
        self.assertS3Error(404, "NoSuchUpload", None, s3.abort_multipart_upload, Bucket="retry",
                           Key="big.bin", UploadId=upload)
        self.assertS3Error(404, "NoSuchUpload", None, s3.list_parts, Bucket="retry",
                           Key="big.bin", UploadId=upload)
        # Another key with that upload id is not a retry.
        self.assertS3Error(404, "NoSuchUpload", None, s3.complete_multipart_upload,
                           Bucket="retry", Key="other.bin", UploadId=upload,
                           MultipartUpload=parts)
        # After the replay window the answer is forgotten.
        self.server.advance_clock(DAY + 3600)
        self.assertS3Error(404, "NoSuchUpload", None, s3.complete_multipart_upload,
                           Bucket="retry", Key="big.bin", UploadId=upload, MultipartUpload=parts)
        self.assertEqual(self.server.query_db(
            "SELECT COUNT(*) FROM documents WHERE collection = 's3.completed-upload'")[0][0], 0)


if __name__ == "__main__":
    unittest.main()
