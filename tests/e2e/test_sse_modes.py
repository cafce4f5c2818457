"""Server-side encryption in every mode, driven by boto3 (and raw signed HTTP where boto3 would
not send the bad request) against the real binary: bucket default encryption, round trips over
random sizes and ranges, multipart, response headers, ETags, the SSE-C and SSE-KMS error paths,
copies between all mode pairs, encryption context, the Bucket Key proof from Hangar's own KMS
counters, and key rotation.

Expected codes, statuses and messages are AWS's, as docs/reference/s3.md §8 records them.
A HEAD has no body, so botocore reports its HTTP status as the error code ("400", "403").
"""

import base64
import hashlib
import io
import json
import random
import re
import socket
import threading
import unittest
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, Optional

import boto3.s3.transfer

from clients import kms_json
from harness import HangarTestCase, b64

KIB = 1024
MIB = 1024 * KIB
DAY = 86400
SEGMENT = 64 * KIB  # the encrypted blob's segment size (docs/sse.md)
PART = 5 * MIB      # the smallest part but the last
SIZES = [0, 1, SEGMENT - 1, SEGMENT, SEGMENT + 1, 3 * SEGMENT + 1000, 3 * MIB + 123]
ALIAS = "alias/sse-modes"

SSE = "x-amz-server-side-encryption"
SSE_KEY_ID = "x-amz-server-side-encryption-aws-kms-key-id"
SSE_BUCKET_KEY = "x-amz-server-side-encryption-bucket-key-enabled"
SSE_CONTEXT = "x-amz-server-side-encryption-context"
SSE_C_ALGORITHM = "x-amz-server-side-encryption-customer-algorithm"
SSE_C_KEY = "x-amz-server-side-encryption-customer-key"
SSE_C_KEY_MD5 = "x-amz-server-side-encryption-customer-key-md5"

CUSTOMER_KEY = hashlib.sha256(b"hangar e2e customer key 1").digest()
OTHER_CUSTOMER_KEY = hashlib.sha256(b"hangar e2e customer key 2").digest()

MALFORMED_XML = ("The XML you provided was not well-formed or did not validate against our "
                 "published schema")
SSE_C_MISSING = ("The object was stored using a form of Server Side Encryption. The correct "
                 "parameters must be provided to retrieve the object.")
SSE_C_WRONG_KEY = ("Requests specifying Server Side Encryption with Customer provided keys must "
                   "provide the correct secret key.")
SSE_C_NO_ALGORITHM = ("Requests specifying Server Side Encryption with Customer provided keys "
                      "must provide a valid encryption algorithm.")
SSE_C_NO_KEY = ("Requests specifying Server Side Encryption with Customer provided keys must "
                "provide an appropriate secret key.")
SSE_C_BAD_KEY = "The secret key was invalid for the specified algorithm."
SSE_C_MD5_MISMATCH = "The calculated MD5 hash of the key did not match the hash that was provided."
SSE_C_BAD_ALGORITHM = "The Encryption request you specified is not valid. Supported value: AES256."
SSE_C_CONFLICT = ("Server Side Encryption with Customer provided key is incompatible with the "
                  "encryption method specified")
PART_NEEDS_SSE_C = ("The multipart upload initiate requested encryption. Subsequent part "
                    "requests must include the appropriate encryption parameters.")
PART_OTHER_SSE_C = "The provided encryption parameters did not match the ones used originally."
KMS_ID_NEEDS_KMS = ("Server Side Encryption with AWS KMS managed key requires HTTP header "
                    "x-amz-server-side-encryption : aws:kms")
AWS_MANAGED_DESCRIPTION = "Default key that protects my S3 objects when no other key is defined"


def md5_b64(data: bytes) -> str:
    return b64(hashlib.md5(data).digest())


def quoted_md5(data: bytes) -> str:
    return '"%s"' % hashlib.md5(data).hexdigest()


def multipart_etag(parts) -> str:
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def headers_of(response) -> dict:
    return response["ResponseMetadata"]["HTTPHeaders"]


def sse_headers(headers: dict) -> dict:
    """The SSE response headers (lower-case names), except the context (AWS may echo it)."""
    return {k.lower(): v for k, v in headers.items()
            if k.lower().startswith(SSE) and k.lower() != SSE_CONTEXT}


def sse_c_args(key=CUSTOMER_KEY, prefix=""):
    return {f"{prefix}SSECustomerAlgorithm": "AES256", f"{prefix}SSECustomerKey": key}


def sse_c_raw_headers(key=CUSTOMER_KEY, *, algorithm="AES256", md5=None, prefix="x-amz-"):
    base = f"{prefix}server-side-encryption-customer-"
    out = {}
    if algorithm is not None:
        out[base + "algorithm"] = algorithm
    if key is not None:
        out[base + "key"] = b64(key)
    md5 = md5_b64(key) if md5 is None and key is not None else md5
    if md5 is not False and md5 is not None:
        out[base + "key-MD5"] = md5
    return out


def xml_error(body: bytes):
    """(Code, Message) of an S3 XML error body."""
    text = body.decode("utf-8", "replace")
    code = re.search(r"<Code>(.*?)</Code>", text, re.S)
    message = re.search(r"<Message>(.*?)</Message>", text, re.S)
    return (code.group(1) if code else None, message.group(1) if message else None)


def ranges_for(size, rng, boundaries=()):
    """Inclusive (first, last) byte ranges of an object of `size` bytes: its ends, both sides of
    segment boundaries (first two, last, two random) and of `boundaries`, and random spans."""
    if size == 0:
        return []
    out = {(0, 0), (size - 1, size - 1), (0, size - 1)}
    segment_bounds = list(range(SEGMENT, size, SEGMENT))
    picks = set(segment_bounds[:2] + segment_bounds[-1:])
    picks |= set(rng.sample(segment_bounds, min(2, len(segment_bounds))))
    for b in picks | set(boundaries):
        out |= {(b - 1, b), (b, b), (b - 1, b - 1),
                (max(0, b - 17), min(size - 1, b + 16)),
                (max(0, b - SEGMENT - 5), min(size - 1, b + 5))}
    for _ in range(8):
        first = rng.randrange(size)
        span = rng.choice([1, 100, SEGMENT, 5 * SEGMENT, size])
        out.add((first, min(size - 1, first + rng.randrange(span))))
    return sorted(out)


class Mode(NamedTuple):
    """One way of encrypting an object, as the tests drive it."""
    name: str
    bucket: str
    put: dict             # boto3 arguments for PutObject / CreateMultipartUpload / CopyObject
    read: dict            # boto3 arguments every GetObject/HeadObject/UploadPart needs (SSE-C)
    algorithm: Optional[str]  # x-amz-server-side-encryption of the object; None for SSE-C
    key_arn: Optional[str]    # the KMS key's full ARN
    bucket_key: bool
    customer_key: Optional[bytes] = None

    @property
    def sse_c(self):
        return self.customer_key is not None

    @property
    def plain_etag(self):
        """SSE-S3 objects keep the plaintext MD5 as ETag (s3.md §8.3)."""
        return self.algorithm == "AES256"

    def expected_headers(self, customer_headers=True) -> dict:
        """The SSE headers AWS puts on a response about this object (s3.md §8.2)."""
        if self.sse_c:
            if not customer_headers:
                return {}
            return {SSE_C_ALGORITHM: "AES256", SSE_C_KEY_MD5: md5_b64(self.customer_key)}
        out = {SSE: self.algorithm}
        if self.key_arn:
            out[SSE_KEY_ID] = self.key_arn
        if self.bucket_key:
            out[SSE_BUCKET_KEY] = "true"
        return out


class SseTestCase(HangarTestCase):
    """One server per class, a boto3 S3 and KMS client, and helpers for modes and errors."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.kms = cls.server.client("kms")

    @classmethod
    def create_key(cls, alias=None, description="sse e2e key"):
        meta = cls.kms.create_key(Description=description)["KeyMetadata"]
        if alias:
            cls.kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
        return meta

    @classmethod
    def make_bucket(cls, name, default=None, bucket_key=False):
        cls.s3.create_bucket(Bucket=name)
        if default is not None:
            apply = {"SSEAlgorithm": default[0]}
            if default[1]:
                apply["KMSMasterKeyID"] = default[1]
            cls.s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
                    "ApplyServerSideEncryptionByDefault": apply,
                    "BucketKeyEnabled": bucket_key}]})
        return name

    def kms_calls(self) -> dict:
        return dict(self.server.metrics()["kms_calls"])

    def assertSseHeaders(self, response_or_headers, mode: Mode, customer_headers=True, what=""):
        headers = response_or_headers
        if "ResponseMetadata" in headers:
            headers = headers_of(headers)
        self.assertEqual(sse_headers(headers), mode.expected_headers(customer_headers),
                         f"{mode.name}: SSE headers of {what}")

    def assertRawError(self, response, status, code, message=None):
        self.assertEqual(response.status, status, response)
        if code is not None:
            self.assertEqual(xml_error(response.body)[0], code, response)
        if message is not None:
            self.assertEqual(xml_error(response.body)[1], message, response)

    def assertAbsent(self, bucket, key):
        """Nothing was stored under bucket/key."""
        self.assertS3Error(404, "404", None, self.s3.head_object, Bucket=bucket, Key=key)

    def read_body(self, mode: Mode, key, **extra):
        return self.s3.get_object(Bucket=mode.bucket, Key=key, **mode.read, **extra)


class ModesTestCase(SseTestCase):
    """A KMS key with an alias and buckets for every mode."""

    PLAIN_BUCKET = "sse-plain"              # default: SSE-S3
    BUCKET_KEY_BUCKET = "sse-bk-default"    # default: SSE-KMS with the alias and a Bucket Key

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        meta = cls.create_key(ALIAS)
        cls.key_id, cls.key_arn = meta["KeyId"], meta["Arn"]
        cls.alias_arn = f"arn:aws:kms:us-east-1:{cls.server.account_id}:{ALIAS}"
        cls.make_bucket(cls.PLAIN_BUCKET)
        cls.make_bucket(cls.BUCKET_KEY_BUCKET, ("aws:kms", ALIAS), bucket_key=True)
        # The AWS managed key aws/s3 exists from the first SSE-KMS write without a key id.
        put = cls.s3.put_object(Bucket=cls.PLAIN_BUCKET, Key="first-aws-managed", Body=b"x",
                                ServerSideEncryption="aws:kms")
        cls.aws_managed_arn = headers_of(put)[SSE_KEY_ID]

    @classmethod
    def modes(cls) -> dict:
        plain, bk_bucket = cls.PLAIN_BUCKET, cls.BUCKET_KEY_BUCKET
        kms = {"ServerSideEncryption": "aws:kms"}
        arn = cls.key_arn
        modes = [
            Mode("sse_s3_header", plain, {"ServerSideEncryption": "AES256"}, {}, "AES256",
                 None, False),
            Mode("sse_s3_default", plain, {}, {}, "AES256", None, False),
            Mode("kms_key_id", plain, {**kms, "SSEKMSKeyId": cls.key_id}, {}, "aws:kms", arn,
                 False),
            Mode("kms_key_arn", plain, {**kms, "SSEKMSKeyId": arn}, {}, "aws:kms", arn, False),
            Mode("kms_alias", plain, {**kms, "SSEKMSKeyId": ALIAS}, {}, "aws:kms", arn, False),
            Mode("kms_alias_arn", plain, {**kms, "SSEKMSKeyId": cls.alias_arn}, {}, "aws:kms",
                 arn, False),
            Mode("kms_aws_managed", plain, kms, {}, "aws:kms", cls.aws_managed_arn, False),
            Mode("kms_bucket_key", plain,
                 {**kms, "SSEKMSKeyId": cls.key_id, "BucketKeyEnabled": True}, {}, "aws:kms",
                 arn, True),
            Mode("kms_bucket_default_bucket_key", bk_bucket, {}, {}, "aws:kms", arn, True),
            Mode("dsse", plain, {"ServerSideEncryption": "aws:kms:dsse", "SSEKMSKeyId": arn},
                 {}, "aws:kms:dsse", arn, False),
            Mode("dsse_aws_managed", plain, {"ServerSideEncryption": "aws:kms:dsse"}, {},
                 "aws:kms:dsse", cls.aws_managed_arn, False),
            Mode("sse_c", plain, sse_c_args(), sse_c_args(), None, None, False, CUSTOMER_KEY),
        ]
        return {m.name: m for m in modes}


MODE_NAMES = ["sse_s3_header", "sse_s3_default", "kms_key_id", "kms_key_arn", "kms_alias",
              "kms_alias_arn", "kms_aws_managed", "kms_bucket_key",
              "kms_bucket_default_bucket_key", "dsse", "dsse_aws_managed", "sse_c"]


# --- (a) bucket default encryption ------------------------------------------------------------

class BucketEncryptionConfigTest(SseTestCase):

    def put_encryption_xml(self, bucket, xml: str):
        body = xml.encode()
        return self.server.s3_request("PUT", f"/{bucket}", body, query="encryption",
                                      headers={"Content-MD5": md5_b64(body)})

    def test_fresh_bucket_reports_the_aes256_default(self):
        self.make_bucket("enc-fresh")
        got = self.s3.get_bucket_encryption(Bucket="enc-fresh")
        self.assertEqual(got["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(got["ServerSideEncryptionConfiguration"], {"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
            "BucketKeyEnabled": False}]})

    def test_configuration_is_echoed_exactly_as_configured(self):
        key = self.create_key("alias/enc-echo")
        self.make_bucket("enc-echo")
        for key_id in (key["KeyId"], key["Arn"], "alias/enc-echo",
                       f"arn:aws:kms:us-east-1:{self.server.account_id}:alias/enc-echo"):
            for algorithm in ("aws:kms", "aws:kms:dsse"):
                for bucket_key in (True, False):
                    config = {"Rules": [{"ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": algorithm, "KMSMasterKeyID": key_id},
                        "BucketKeyEnabled": bucket_key}]}
                    put = self.s3.put_bucket_encryption(
                        Bucket="enc-echo", ServerSideEncryptionConfiguration=config)
                    self.assertEqual(put["ResponseMetadata"]["HTTPStatusCode"], 200)
                    got = self.s3.get_bucket_encryption(Bucket="enc-echo")
                    self.assertEqual(got["ServerSideEncryptionConfiguration"], config)
        # aws:kms without a key id: echoed without one.
        config = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                             "BucketKeyEnabled": False}]}
        self.s3.put_bucket_encryption(Bucket="enc-echo", ServerSideEncryptionConfiguration=config)
        self.assertEqual(self.s3.get_bucket_encryption(
            Bucket="enc-echo")["ServerSideEncryptionConfiguration"], config)

    def test_delete_resets_to_aes256_and_is_idempotent(self):
        key = self.create_key()
        self.make_bucket("enc-delete", ("aws:kms", key["KeyId"]), bucket_key=True)
        for _ in range(2):
            deleted = self.s3.delete_bucket_encryption(Bucket="enc-delete")
            self.assertEqual(deleted["ResponseMetadata"]["HTTPStatusCode"], 204)
            got = self.s3.get_bucket_encryption(Bucket="enc-delete")
            self.assertEqual(got["ServerSideEncryptionConfiguration"], {"Rules": [{
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                "BucketKeyEnabled": False}]})
        put = self.s3.put_object(Bucket="enc-delete", Key="after-delete", Body=b"abc")
        self.assertEqual(sse_headers(headers_of(put)), {SSE: "AES256"})

    def test_bucket_default_applies_and_a_request_header_overrides_it(self):
        key = self.create_key()
        self.make_bucket("enc-default", ("aws:kms", key["KeyId"]))
        put = self.s3.put_object(Bucket="enc-default", Key="by-default", Body=b"abc")
        self.assertEqual(sse_headers(headers_of(put)), {SSE: "aws:kms", SSE_KEY_ID: key["Arn"]})
        put = self.s3.put_object(Bucket="enc-default", Key="override", Body=b"abc",
                                 ServerSideEncryption="AES256")
        self.assertEqual(sse_headers(headers_of(put)), {SSE: "AES256"})
        put = self.s3.put_object(Bucket="enc-default", Key="override-c", Body=b"abc",
                                 **sse_c_args())
        self.assertEqual(sse_headers(headers_of(put)),
                         {SSE_C_ALGORITHM: "AES256", SSE_C_KEY_MD5: md5_b64(CUSTOMER_KEY)})

    def test_bucket_default_without_key_id_uses_the_aws_managed_key(self):
        self.make_bucket("enc-managed", ("aws:kms", None))
        put = self.s3.put_object(Bucket="enc-managed", Key="o", Body=b"abc")
        managed = self.kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
        self.assertEqual(sse_headers(headers_of(put)), {SSE: "aws:kms", SSE_KEY_ID: managed["Arn"]})
        self.assertEqual(managed["KeyManager"], "AWS")

    def test_no_rule_or_two_rules_is_malformed_xml(self):
        self.make_bucket("enc-malformed")
        ns = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
        rule = ("<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
                "</ApplyServerSideEncryptionByDefault></Rule>")
        for rules in ("", rule + rule):
            body = (f"<ServerSideEncryptionConfiguration {ns}>{rules}"
                    "</ServerSideEncryptionConfiguration>")
            with self.subTest(rules=rules.count("<Rule>")):
                self.assertRawError(self.put_encryption_xml("enc-malformed", body), 400,
                                    "MalformedXML", MALFORMED_XML)
        # The default is untouched.
        got = self.s3.get_bucket_encryption(Bucket="enc-malformed")
        self.assertEqual(got["ServerSideEncryptionConfiguration"]["Rules"][0]
                         ["ApplyServerSideEncryptionByDefault"], {"SSEAlgorithm": "AES256"})

    def test_kms_master_key_id_with_aes256_is_invalid_argument(self):
        self.make_bucket("enc-aes-key")
        response = self.assertS3Error(
            400, "InvalidArgument",
            "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or "
            "aws:kms:dsse",
            self.s3.put_bucket_encryption, Bucket="enc-aes-key",
            ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": "AES256", "KMSMasterKeyID": "alias/whatever"}}]})
        self.assertEqual(response["Error"].get("ArgumentName"),
                         "ApplyServerSideEncryptionByDefault")

    def test_missing_bucket_is_no_such_bucket(self):
        config = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
        for call, kwargs in ((self.s3.put_bucket_encryption,
                              {"ServerSideEncryptionConfiguration": config}),
                             (self.s3.get_bucket_encryption, {}),
                             (self.s3.delete_bucket_encryption, {})):
            with self.subTest(call=call.__name__):
                self.assertS3Error(404, "NoSuchBucket", "The specified bucket does not exist",
                                   call, Bucket="enc-no-such-bucket", **kwargs)


# --- (b) every mode: round trips, multipart, headers, ETags -------------------------------------

class ModeRoundTripTest(ModesTestCase):
    """Generated per mode below: test_round_trip_<mode>, test_multipart_<mode>, test_etag_<mode>."""

    def check_round_trip(self, name):
        mode = self.modes()[name]
        rng = random.Random(f"round-trip/{name}")
        for size in SIZES + [rng.randrange(2, 8 * SEGMENT)]:
            data = rng.randbytes(size)
            key = f"round-trip/{name}/{size}"
            put = self.s3.put_object(Bucket=mode.bucket, Key=key, Body=data, **mode.put)
            self.assertSseHeaders(put, mode, what=f"PUT of {size} B")
            head = self.s3.head_object(Bucket=mode.bucket, Key=key, **mode.read)
            self.assertEqual(head["ContentLength"], size)
            self.assertEqual(head["ETag"], put["ETag"])
            self.assertSseHeaders(head, mode, what=f"HEAD of {size} B")
            got = self.read_body(mode, key)
            self.assertSseHeaders(got, mode, what=f"GET of {size} B")
            self.assertEqual(got["Body"].read(), data, f"{name}: {size} B body")
            for first, last in ranges_for(size, rng):
                got = self.read_body(mode, key, Range=f"bytes={first}-{last}")
                body = got["Body"].read()
                self.assertEqual(body, data[first:last + 1], f"{name}: {size} B, {first}-{last}")
                self.assertEqual(got["ContentRange"], f"bytes {first}-{last}/{size}")
                self.assertEqual(got["ResponseMetadata"]["HTTPStatusCode"], 206)
            if size:
                # Suffix, open-ended and past-the-end forms.
                n = min(size, rng.randrange(1, 3 * SEGMENT))
                start = rng.randrange(size)
                for spec, want in ((f"-{n}", data[size - n:]), (f"{start}-", data[start:]),
                                   (f"{start}-{size + 1000}", data[start:])):
                    got = self.read_body(mode, key, Range=f"bytes={spec}")
                    self.assertEqual(got["Body"].read(), want, f"{name}: {size} B, {spec}")
                    self.assertSseHeaders(got, mode, what=f"ranged GET {spec}")

    def check_multipart(self, name):
        mode = self.modes()[name]
        rng = random.Random(f"multipart/{name}")
        data = rng.randbytes(2 * PART + 300 * KIB + 7)
        parts = [data[:PART], data[PART:2 * PART], data[2 * PART:]]
        key = f"multipart/{name}"
        client = self.server.s3_client()
        seen = {}

        def record(http_response, parsed, model, **_):
            seen.setdefault(model.name, []).append(headers_of(parsed))

        for op in ("CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
            client.meta.events.register(f"after-call.s3.{op}", record)
        if "BucketKeyEnabled" in mode.put:
            # upload_fileobj does not pass BucketKeyEnabled: the same calls by hand.
            created = client.create_multipart_upload(Bucket=mode.bucket, Key=key, **mode.put)
            etags = []
            for number, part in enumerate(parts, 1):
                etags.append(client.upload_part(Bucket=mode.bucket, Key=key, Body=part,
                                                UploadId=created["UploadId"],
                                                PartNumber=number, **mode.read)["ETag"])
            client.complete_multipart_upload(
                Bucket=mode.bucket, Key=key, UploadId=created["UploadId"],
                MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e}
                                           for i, e in enumerate(etags)]})
        else:
            config = boto3.s3.transfer.TransferConfig(
                multipart_threshold=PART, multipart_chunksize=PART, max_concurrency=3)
            client.upload_fileobj(io.BytesIO(data), mode.bucket, key,
                                  ExtraArgs={**mode.put}, Config=config)
        self.assertEqual(len(seen.get("CreateMultipartUpload", [])), 1, seen.keys())
        self.assertEqual(len(seen.get("UploadPart", [])), 3)
        self.assertEqual(len(seen.get("CompleteMultipartUpload", [])), 1)
        self.assertSseHeaders(seen["CreateMultipartUpload"][0], mode, what="CreateMultipartUpload")
        for headers in seen["UploadPart"]:
            self.assertSseHeaders(headers, mode, what="UploadPart")
        self.assertSseHeaders(seen["CompleteMultipartUpload"][0], mode, customer_headers=False,
                              what="CompleteMultipartUpload")

        head = self.s3.head_object(Bucket=mode.bucket, Key=key, **mode.read)
        self.assertEqual(head["ContentLength"], len(data))
        self.assertTrue(head["ETag"].endswith('-3"'), head["ETag"])
        if mode.plain_etag:
            self.assertEqual(head["ETag"], multipart_etag(parts))
        self.assertSseHeaders(head, mode, what="HEAD of a multipart object")
        got = self.read_body(mode, key)
        self.assertEqual(got["Body"].read(), data, f"{name}: multipart body")
        self.assertSseHeaders(got, mode, what="GET of a multipart object")
        size = len(data)
        for first, last in ranges_for(size, rng, boundaries=(PART, 2 * PART)) + [
                (PART - 10, 2 * PART + 10), (PART - SEGMENT, PART + SEGMENT),
                (2 * PART - 1, size - 1)]:
            got = self.read_body(mode, key, Range=f"bytes={first}-{last}")
            self.assertEqual(got["Body"].read(), data[first:last + 1], f"{name}: {first}-{last}")
            self.assertEqual(got["ContentRange"], f"bytes {first}-{last}/{size}")
        second = self.read_body(mode, key, PartNumber=2)
        self.assertEqual(second["Body"].read(), parts[1])
        self.assertEqual(second["PartsCount"], 3)
        self.assertSseHeaders(second, mode, what="GET partNumber=2")

    def check_etag(self, name):
        mode = self.modes()[name]
        body = b"the same body in two objects\n" * 100
        first = self.s3.put_object(Bucket=mode.bucket, Key=f"etag/{name}/a", Body=body, **mode.put)
        second = self.s3.put_object(Bucket=mode.bucket, Key=f"etag/{name}/b", Body=body,
                                    **mode.put)
        if mode.plain_etag:
            self.assertEqual(first["ETag"], quoted_md5(body))
            self.assertEqual(second["ETag"], quoted_md5(body))
        else:
            self.assertRegex(first["ETag"], r'^"[0-9a-f]{32}"$')
            self.assertNotEqual(first["ETag"], quoted_md5(body), "ETag reveals the plaintext MD5")
            self.assertNotEqual(second["ETag"], quoted_md5(body))
            self.assertNotEqual(first["ETag"], second["ETag"], "equal bodies, equal ETags")
        for key, put in ((f"etag/{name}/a", first), (f"etag/{name}/b", second)):
            head = self.s3.head_object(Bucket=mode.bucket, Key=key, **mode.read)
            self.assertEqual(head["ETag"], put["ETag"])
        listed = self.s3.list_objects_v2(Bucket=mode.bucket, Prefix=f"etag/{name}/")["Contents"]
        self.assertEqual([o["ETag"] for o in listed], [first["ETag"], second["ETag"]])


def _generate_mode_tests():
    for name in MODE_NAMES:
        for check in ("round_trip", "multipart", "etag"):
            def test(self, name=name, check=check):
                getattr(self, f"check_{check}")(name)
            test.__name__ = f"test_{check}_{name}"
            test.__doc__ = f"{check.replace('_', ' ')} in mode {name}"
            setattr(ModeRoundTripTest, test.__name__, test)


_generate_mode_tests()


class AwsManagedKeyTest(SseTestCase):
    """A fresh server: aws/s3 does not exist until the first SSE-KMS write without a key id."""

    def test_sse_kms_without_key_id_creates_and_reports_the_aws_managed_key(self):
        self.make_bucket("managed")
        self.assertEqual([k for k in self.kms.list_keys()["Keys"]], [])
        put = self.s3.put_object(Bucket="managed", Key="a", Body=b"abc",
                                 ServerSideEncryption="aws:kms")
        arn = headers_of(put)[SSE_KEY_ID]
        self.assertRegex(arn, r"^arn:aws:kms:us-east-1:%s:key/[0-9a-f-]{36}$"
                         % self.server.account_id)
        self.assertEqual(headers_of(put)[SSE], "aws:kms")
        meta = self.kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]
        self.assertEqual(meta["Arn"], arn)
        self.assertEqual(meta["KeyManager"], "AWS")
        self.assertEqual(meta["Description"], AWS_MANAGED_DESCRIPTION)
        # The CLI shows the same.
        described = self.assertCliOk(self.server.aws("kms", "describe-key", "--key-id",
                                                     "alias/aws/s3"))["KeyMetadata"]
        self.assertEqual(described["KeyManager"], "AWS")
        self.assertEqual(described["Arn"], arn)
        # Later writes reuse it; no second key appears.
        again = self.s3.put_object(Bucket="managed", Key="b", Body=b"abc",
                                   ServerSideEncryption="aws:kms")
        self.assertEqual(headers_of(again)[SSE_KEY_ID], arn)
        self.assertEqual(len(self.kms.list_keys()["Keys"]), 1)
        head = self.s3.head_object(Bucket="managed", Key="a")
        self.assertEqual(head["SSEKMSKeyId"], arn)
        self.assertEqual(self.s3.get_object(Bucket="managed", Key="a")["Body"].read(), b"abc")


# --- (c) SSE-C and SSE header errors ------------------------------------------------------------

class SseCustomerKeyErrorTest(SseTestCase):

    BUCKET = "ssec-errors"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.make_bucket(cls.BUCKET)
        cls.body = random.Random("ssec").randbytes(3 * SEGMENT + 5)
        cls.s3.put_object(Bucket=cls.BUCKET, Key="obj", Body=cls.body, **sse_c_args())
        cls.s3.put_object(Bucket=cls.BUCKET, Key="plain", Body=b"plain body")

    def raw_put(self, key, headers, body=b"some body"):
        return self.server.s3_request("PUT", f"/{self.BUCKET}/{key}", body, headers=headers)

    def raw_get(self, key, headers, method="GET"):
        return self.server.s3_request(method, f"/{self.BUCKET}/{key}", headers=headers)

    def test_get_without_the_key_is_invalid_request(self):
        self.assertS3Error(400, "InvalidRequest", SSE_C_MISSING, self.s3.get_object,
                           Bucket=self.BUCKET, Key="obj")
        self.assertS3Error(400, "InvalidRequest", SSE_C_MISSING, self.s3.get_object,
                           Bucket=self.BUCKET, Key="obj", Range="bytes=0-9")

    def test_get_with_the_wrong_key_is_access_denied(self):
        self.assertS3Error(403, "AccessDenied", SSE_C_WRONG_KEY, self.s3.get_object,
                           Bucket=self.BUCKET, Key="obj", **sse_c_args(OTHER_CUSTOMER_KEY))

    def test_get_without_the_key_md5_is_access_denied(self):
        # s3.md §8.6: "GET of SSE-C object with wrong key, or without key-MD5 → 403".
        response = self.raw_get("obj", sse_c_raw_headers(md5=False))
        self.assertRawError(response, 403, "AccessDenied", SSE_C_WRONG_KEY)

    def test_head_without_or_with_the_wrong_key_is_a_bare_400_or_403(self):
        self.assertS3Error(400, "400", None, self.s3.head_object, Bucket=self.BUCKET, Key="obj")
        self.assertS3Error(403, "403", None, self.s3.head_object, Bucket=self.BUCKET, Key="obj",
                           **sse_c_args(OTHER_CUSTOMER_KEY))
        head = self.s3.head_object(Bucket=self.BUCKET, Key="obj", **sse_c_args())
        self.assertEqual(head["SSECustomerAlgorithm"], "AES256")
        self.assertEqual(head["SSECustomerKeyMD5"], md5_b64(CUSTOMER_KEY))
        self.assertNotIn("ServerSideEncryption", head)

    def test_the_right_key_reads_and_the_object_is_reported_as_sse_c(self):
        got = self.s3.get_object(Bucket=self.BUCKET, Key="obj", **sse_c_args())
        self.assertEqual(got["Body"].read(), self.body)
        self.assertEqual(sse_headers(headers_of(got)),
                         {SSE_C_ALGORITHM: "AES256", SSE_C_KEY_MD5: md5_b64(CUSTOMER_KEY)})

    def test_sse_c_headers_on_an_object_that_is_not_sse_c_are_invalid_request(self):
        self.assertS3Error(400, "InvalidRequest",
                           "The encryption parameters are not applicable to this object.",
                           self.s3.get_object, Bucket=self.BUCKET, Key="plain", **sse_c_args())

    def test_put_header_validation_errors(self):
        cases = [
            ("key without algorithm", sse_c_raw_headers(algorithm=None), 400, "InvalidArgument",
             SSE_C_NO_ALGORITHM),
            ("algorithm without key", sse_c_raw_headers(None), 400, "InvalidArgument",
             SSE_C_NO_KEY),
            ("16-byte key", sse_c_raw_headers(CUSTOMER_KEY[:16]), 400, "InvalidArgument",
             SSE_C_BAD_KEY),
            ("key that is not base64", {**sse_c_raw_headers(), SSE_C_KEY: "not base64!!"}, 400,
             "InvalidArgument", SSE_C_BAD_KEY),
            ("no key MD5", sse_c_raw_headers(md5=False), 400, "InvalidArgument", SSE_C_BAD_KEY),
            ("key MD5 of another key", sse_c_raw_headers(md5=md5_b64(OTHER_CUSTOMER_KEY)), 400,
             "InvalidArgument", SSE_C_MD5_MISMATCH),
            ("algorithm AES128", sse_c_raw_headers(algorithm="AES128"), 400,
             "InvalidEncryptionAlgorithmError", SSE_C_BAD_ALGORITHM),
            ("SSE-C and AES256", {**sse_c_raw_headers(), SSE: "AES256"}, 400, "InvalidArgument",
             SSE_C_CONFLICT),
            ("SSE-C and aws:kms", {**sse_c_raw_headers(), SSE: "aws:kms"}, 400,
             "InvalidArgument", SSE_C_CONFLICT),
        ]
        for i, (what, headers, status, code, message) in enumerate(cases):
            with self.subTest(what):
                key = f"bad-put-{i}"
                self.assertRawError(self.raw_put(key, headers), status, code, message)
                self.assertAbsent(self.BUCKET, key)

    def test_conflict_names_the_header_argument(self):
        response = self.raw_put("conflict", {**sse_c_raw_headers(), SSE: "AES256"})
        self.assertIn("<ArgumentName>x-amz-server-side-encryption</ArgumentName>",
                      response.body.decode(), response)

    def test_get_header_validation_errors_are_the_same_as_on_put(self):
        self.assertRawError(self.raw_get("obj", sse_c_raw_headers(md5=md5_b64(OTHER_CUSTOMER_KEY))),
                            400, "InvalidArgument", SSE_C_MD5_MISMATCH)
        self.assertRawError(self.raw_get("obj", sse_c_raw_headers(algorithm="AES128")), 400,
                            "InvalidEncryptionAlgorithmError", SSE_C_BAD_ALGORITHM)

    def test_get_object_attributes_needs_the_customer_key_like_head(self):
        # GetObjectAttributes takes the SSE-C headers (s3.md §8.1); AWS's API reference: they
        # "provide the server with the encryption key required to retrieve the object's
        # metadata". Without them it must not reveal what HEAD refuses to (size, ETag).
        attributes = {"x-amz-object-attributes": "ETag,ObjectSize"}
        ok = self.server.s3_request("GET", f"/{self.BUCKET}/obj", query="attributes",
                                    headers={**attributes, **sse_c_raw_headers()})
        self.assertEqual(ok.status, 200, ok)
        self.assertIn(f"<ObjectSize>{len(self.body)}</ObjectSize>".encode(), ok.body)
        missing = self.server.s3_request("GET", f"/{self.BUCKET}/obj", query="attributes",
                                         headers=attributes)
        self.assertRawError(missing, 400, "InvalidRequest")
        wrong = self.server.s3_request("GET", f"/{self.BUCKET}/obj", query="attributes",
                                       headers={**attributes,
                                                **sse_c_raw_headers(OTHER_CUSTOMER_KEY)})
        self.assertRawError(wrong, 403, "AccessDenied")

    def test_upload_part_must_repeat_the_same_customer_key(self):
        upload = self.s3.create_multipart_upload(Bucket=self.BUCKET, Key="mpu", **sse_c_args())
        self.assertEqual(upload["SSECustomerAlgorithm"], "AES256")
        self.assertEqual(upload["SSECustomerKeyMD5"], md5_b64(CUSTOMER_KEY))
        uid = upload["UploadId"]
        self.assertS3Error(400, "InvalidRequest", PART_NEEDS_SSE_C, self.s3.upload_part,
                           Bucket=self.BUCKET, Key="mpu", UploadId=uid, PartNumber=1, Body=b"a")
        self.assertS3Error(400, "InvalidRequest", PART_OTHER_SSE_C, self.s3.upload_part,
                           Bucket=self.BUCKET, Key="mpu", UploadId=uid, PartNumber=1, Body=b"a",
                           **sse_c_args(OTHER_CUSTOMER_KEY))
        part = self.s3.upload_part(Bucket=self.BUCKET, Key="mpu", UploadId=uid, PartNumber=1,
                                   Body=b"abc", **sse_c_args())
        self.assertEqual(part["SSECustomerKeyMD5"], md5_b64(CUSTOMER_KEY))
        self.assertEqual(self.s3.list_parts(Bucket=self.BUCKET, Key="mpu",
                                            UploadId=uid)["Parts"][0]["Size"], 3)
        self.s3.abort_multipart_upload(Bucket=self.BUCKET, Key="mpu", UploadId=uid)

    def test_upload_part_with_a_customer_key_on_an_upload_without_one_is_invalid_request(self):
        uid = self.s3.create_multipart_upload(Bucket=self.BUCKET, Key="mpu-plain")["UploadId"]
        self.assertS3Error(400, "InvalidRequest", PART_NEEDS_SSE_C, self.s3.upload_part,
                           Bucket=self.BUCKET, Key="mpu-plain", UploadId=uid, PartNumber=1,
                           Body=b"a", **sse_c_args())
        self.s3.abort_multipart_upload(Bucket=self.BUCKET, Key="mpu-plain", UploadId=uid)

    def test_copy_of_an_sse_c_source_needs_the_source_key(self):
        self.assertS3Error(400, "InvalidRequest", None, self.s3.copy_object,
                           Bucket=self.BUCKET, Key="copy-no-key",
                           CopySource={"Bucket": self.BUCKET, "Key": "obj"})
        self.assertS3Error(403, "AccessDenied", None, self.s3.copy_object,
                           Bucket=self.BUCKET, Key="copy-wrong-key",
                           CopySource={"Bucket": self.BUCKET, "Key": "obj"},
                           **sse_c_args(OTHER_CUSTOMER_KEY, prefix="CopySource"))
        self.assertAbsent(self.BUCKET, "copy-no-key")
        self.assertAbsent(self.BUCKET, "copy-wrong-key")


class SseHeaderErrorTest(ModesTestCase):

    def raw(self, method, key, headers, body=b""):
        return self.server.s3_request(method, f"/{self.PLAIN_BUCKET}/{key}", body,
                                      headers=headers)

    def test_server_side_encryption_header_on_get_or_head_is_400(self):
        self.s3.put_object(Bucket=self.PLAIN_BUCKET, Key="read-s3", Body=b"abc")
        self.s3.put_object(Bucket=self.PLAIN_BUCKET, Key="read-kms", Body=b"abc",
                           ServerSideEncryption="aws:kms", SSEKMSKeyId=self.key_id)
        for key, value in (("read-s3", "AES256"), ("read-kms", "aws:kms")):
            for method in ("GET", "HEAD"):
                with self.subTest(key=key, method=method):
                    response = self.raw(method, key, {SSE: value})
                    self.assertEqual(response.status, 400, response)
                    if method == "GET":
                        self.assertEqual(xml_error(response.body)[0], "InvalidArgument")
            with self.subTest(key=key, header="key id"):
                self.assertEqual(self.raw("GET", key, {SSE_KEY_ID: self.key_id}).status, 400)

    def test_kms_key_id_without_aws_kms_is_invalid_argument(self):
        response = self.raw("PUT", "id-alone", {SSE_KEY_ID: self.key_id}, b"abc")
        self.assertRawError(response, 400, "InvalidArgument", KMS_ID_NEEDS_KMS)
        self.assertAbsent(self.PLAIN_BUCKET, "id-alone")
        response = self.raw("PUT", "id-aes", {SSE: "AES256", SSE_KEY_ID: self.key_id}, b"abc")
        self.assertRawError(response, 400, "InvalidArgument")
        self.assertAbsent(self.PLAIN_BUCKET, "id-aes")
        self.assertS3Error(400, "InvalidArgument", KMS_ID_NEEDS_KMS,
                           self.s3.create_multipart_upload, Bucket=self.PLAIN_BUCKET,
                           Key="id-alone-mpu", SSEKMSKeyId=self.key_id)

    def test_unknown_algorithm_values_are_invalid_argument(self):
        for i, value in enumerate(("aes:kms", "AES128", "aws:fsx")):
            with self.subTest(value=value):
                response = self.raw("PUT", f"bad-alg-{i}", {SSE: value}, b"abc")
                self.assertRawError(response, 400, "InvalidArgument")
                self.assertAbsent(self.PLAIN_BUCKET, f"bad-alg-{i}")

    def test_unknown_and_malformed_kms_key_ids_are_kms_not_found(self):
        account = self.server.account_id
        unknown = "0f0e0d0c-0b0a-4909-8807-060504030201"
        unknown_arn = f"arn:aws:kms:us-east-1:{account}:key/{unknown}"
        cases = [
            (unknown, f"Key '{unknown_arn}' does not exist"),
            (unknown_arn, f"Key '{unknown_arn}' does not exist"),
            ("fake-key-id", "Invalid keyId 'fake-key-id'"),
            (f"arn:aws:kms:us-west-2:{account}:key/{self.key_id}", "Invalid arn us-west-2"),
            ("alias/no-such-alias",
             f"Alias arn:aws:kms:us-east-1:{account}:alias/no-such-alias is not found."),
        ]
        self.s3.put_object(Bucket=self.PLAIN_BUCKET, Key="copy-source", Body=b"abc")
        for i, (key_id, message) in enumerate(cases):
            args = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_id}
            with self.subTest(key_id=key_id, op="PutObject"):
                self.assertS3Error(400, "KMS.NotFoundException", message, self.s3.put_object,
                                   Bucket=self.PLAIN_BUCKET, Key=f"nf-{i}", Body=b"abc", **args)
                self.assertAbsent(self.PLAIN_BUCKET, f"nf-{i}")
            with self.subTest(key_id=key_id, op="CreateMultipartUpload"):
                self.assertS3Error(400, "KMS.NotFoundException", message,
                                   self.s3.create_multipart_upload, Bucket=self.PLAIN_BUCKET,
                                   Key=f"nf-mpu-{i}", **args)
            with self.subTest(key_id=key_id, op="CopyObject"):
                self.assertS3Error(400, "KMS.NotFoundException", message, self.s3.copy_object,
                                   Bucket=self.PLAIN_BUCKET, Key=f"nf-copy-{i}",
                                   CopySource={"Bucket": self.PLAIN_BUCKET, "Key": "copy-source"},
                                   **args)
                self.assertAbsent(self.PLAIN_BUCKET, f"nf-copy-{i}")
        uploads = self.s3.list_multipart_uploads(Bucket=self.PLAIN_BUCKET).get("Uploads", [])
        self.assertEqual([u["Key"] for u in uploads if u["Key"].startswith("nf-")], [])

    def test_bucket_default_with_an_unknown_key_fails_on_write(self):
        unknown = "0f0e0d0c-0b0a-4909-8807-0605040302ff"
        arn = f"arn:aws:kms:us-east-1:{self.server.account_id}:key/{unknown}"
        self.make_bucket("sse-bad-default", ("aws:kms", unknown))  # accepted: not checked here
        self.assertS3Error(400, "KMS.NotFoundException", f"Key '{arn}' does not exist",
                           self.s3.put_object, Bucket="sse-bad-default", Key="o", Body=b"abc")
        self.assertAbsent("sse-bad-default", "o")


# --- (d) copies between all mode pairs ----------------------------------------------------------

COPY_MODES = ["sse_s3", "kms", "kms_bucket_key", "dsse", "sse_c"]


class CopyTest(SseTestCase):
    """Generated below: test_copy_<source>_to_<destination> for every pair of COPY_MODES."""

    SRC = "copy-src"
    DST = "copy-dst"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key1 = cls.create_key("alias/copy-one")
        cls.key2 = cls.create_key("alias/copy-two")
        cls.make_bucket(cls.SRC)
        cls.make_bucket(cls.DST)
        cls.bodies = {}
        for name in COPY_MODES:
            body = random.Random(f"copy/{name}").randbytes(5 * SEGMENT + 321)
            cls.bodies[name] = body
            cls.s3.put_object(Bucket=cls.SRC, Key=name, Body=body,
                              **cls.copy_mode(name, source=True).put)

    @classmethod
    def copy_mode(cls, name, source) -> Mode:
        """Sources use key one and CUSTOMER_KEY; destinations key two and OTHER_CUSTOMER_KEY."""
        key = cls.key1 if source else cls.key2
        customer = CUSTOMER_KEY if source else OTHER_CUSTOMER_KEY
        bucket = cls.SRC if source else cls.DST
        kms = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key["KeyId"]}
        return {
            "sse_s3": Mode("sse_s3", bucket, {"ServerSideEncryption": "AES256"}, {}, "AES256",
                           None, False),
            "kms": Mode("kms", bucket, kms, {}, "aws:kms", key["Arn"], False),
            "kms_bucket_key": Mode("kms_bucket_key", bucket, {**kms, "BucketKeyEnabled": True},
                                   {}, "aws:kms", key["Arn"], True),
            "dsse": Mode("dsse", bucket, {**kms, "ServerSideEncryption": "aws:kms:dsse"}, {},
                         "aws:kms:dsse", key["Arn"], False),
            "sse_c": Mode("sse_c", bucket, sse_c_args(customer), sse_c_args(customer), None,
                          None, False, customer),
        }[name]

    def check_copy(self, source_name, destination_name):
        source = self.copy_mode(source_name, source=True)
        destination = self.copy_mode(destination_name, source=False)
        body = self.bodies[source_name]
        key = f"{source_name}-to-{destination_name}"
        copy_source_args = ({f"CopySource{k}": v for k, v in source.read.items()}
                            if source.sse_c else {})
        copied = self.s3.copy_object(Bucket=self.DST, Key=key,
                                     CopySource={"Bucket": self.SRC, "Key": source_name},
                                     **copy_source_args, **destination.put)
        self.assertSseHeaders(copied, destination, what="CopyObject")
        etag = copied["CopyObjectResult"]["ETag"]
        if destination.plain_etag:
            self.assertEqual(etag, quoted_md5(body))
        else:
            self.assertNotEqual(etag, quoted_md5(body))
        head = self.s3.head_object(Bucket=self.DST, Key=key, **destination.read)
        self.assertSseHeaders(head, destination, what="HEAD of the copy")
        self.assertEqual(head["ETag"], etag)
        got = self.s3.get_object(Bucket=self.DST, Key=key, **destination.read)
        self.assertEqual(got["Body"].read(), body, f"{key}: content differs")
        ranged = self.s3.get_object(Bucket=self.DST, Key=key, Range="bytes=65530-131080",
                                    **destination.read)
        self.assertEqual(ranged["Body"].read(), body[65530:131081])
        if destination.sse_c:
            self.assertS3Error(400, "InvalidRequest", SSE_C_MISSING, self.s3.get_object,
                               Bucket=self.DST, Key=key)
            if source.sse_c:
                # Re-keyed: the source's customer key does not open the copy.
                self.assertS3Error(403, "AccessDenied", SSE_C_WRONG_KEY, self.s3.get_object,
                                   Bucket=self.DST, Key=key, **source.read)

    def test_copy_to_a_different_kms_key_re_encrypts_under_it(self):
        key3 = self.create_key()
        self.s3.put_object(Bucket=self.SRC, Key="under-three", Body=b"re-key me" * 1000,
                           ServerSideEncryption="aws:kms", SSEKMSKeyId=key3["KeyId"])
        copied = self.s3.copy_object(Bucket=self.DST, Key="now-under-two",
                                     CopySource={"Bucket": self.SRC, "Key": "under-three"},
                                     ServerSideEncryption="aws:kms",
                                     SSEKMSKeyId=self.key2["Arn"])
        self.assertEqual(copied["SSEKMSKeyId"], self.key2["Arn"])
        self.kms.disable_key(KeyId=key3["KeyId"])
        try:
            # The copy no longer depends on key three at all.
            self.assertS3Error(400, "KMS.DisabledException", f"{key3['Arn']} is disabled.",
                               self.s3.get_object, Bucket=self.SRC, Key="under-three")
            got = self.s3.get_object(Bucket=self.DST, Key="now-under-two")
            self.assertEqual(got["Body"].read(), b"re-key me" * 1000)
            self.assertEqual(got["SSEKMSKeyId"], self.key2["Arn"])
        finally:
            self.kms.enable_key(KeyId=key3["KeyId"])

    def test_copy_without_sse_headers_takes_the_destination_buckets_default(self):
        self.make_bucket("copy-dst-bk", ("aws:kms", "alias/copy-two"), bucket_key=True)
        for source in ("kms", "dsse"):
            copied = self.s3.copy_object(Bucket=self.DST, Key=f"default-from-{source}",
                                         CopySource={"Bucket": self.SRC, "Key": source})
            self.assertEqual(sse_headers(headers_of(copied)), {SSE: "AES256"})
            copied = self.s3.copy_object(Bucket="copy-dst-bk", Key=f"default-from-{source}",
                                         CopySource={"Bucket": self.SRC, "Key": source})
            self.assertEqual(sse_headers(headers_of(copied)),
                             {SSE: "aws:kms", SSE_KEY_ID: self.key2["Arn"], SSE_BUCKET_KEY: "true"})
            got = self.s3.get_object(Bucket="copy-dst-bk", Key=f"default-from-{source}")
            self.assertEqual(got["Body"].read(), self.bodies[source])

    def test_copy_does_not_carry_the_sources_encryption_context(self):
        context = {"team": "copy"}
        self.s3.put_object(Bucket=self.SRC, Key="with-context", Body=b"ctx",
                           ServerSideEncryption="aws:kms", SSEKMSKeyId=self.key1["KeyId"],
                           SSEKMSEncryptionContext=b64(json.dumps(context).encode()))
        self.s3.copy_object(Bucket=self.DST, Key="context-copy",
                            CopySource={"Bucket": self.SRC, "Key": "with-context"},
                            ServerSideEncryption="aws:kms", SSEKMSKeyId=self.key1["KeyId"])
        record = self.server.object_record(self.DST, "context-copy")
        blob = base64.b64decode(record["segments"][0]["keys"]["kms"])
        plain = self.kms.decrypt(CiphertextBlob=blob, EncryptionContext={
            "aws:s3:arn": f"arn:aws:s3:::{self.DST}/context-copy"})
        self.assertEqual(len(plain["Plaintext"]), 32)
        self.assertEqual(self.s3.get_object(Bucket=self.DST, Key="context-copy")["Body"].read(),
                         b"ctx")

    def test_copy_onto_itself_changing_the_encryption(self):
        self.s3.put_object(Bucket=self.DST, Key="in-place", Body=b"in place")
        copied = self.s3.copy_object(Bucket=self.DST, Key="in-place",
                                     CopySource={"Bucket": self.DST, "Key": "in-place"},
                                     ServerSideEncryption="aws:kms",
                                     SSEKMSKeyId=self.key2["KeyId"])
        self.assertEqual(copied["ServerSideEncryption"], "aws:kms")
        head = self.s3.head_object(Bucket=self.DST, Key="in-place")
        self.assertEqual(head["SSEKMSKeyId"], self.key2["Arn"])
        self.assertEqual(self.s3.get_object(Bucket=self.DST, Key="in-place")["Body"].read(),
                         b"in place")

    def test_upload_part_copy_from_sse_c_into_an_sse_kms_upload(self):
        body = random.Random("upc").randbytes(PART + 200 * KIB)
        self.s3.put_object(Bucket=self.SRC, Key="upc-source", Body=body, **sse_c_args())
        upload = self.s3.create_multipart_upload(Bucket=self.DST, Key="upc",
                                                 ServerSideEncryption="aws:kms",
                                                 SSEKMSKeyId=self.key2["KeyId"])
        self.assertEqual(upload["SSEKMSKeyId"], self.key2["Arn"])
        uid = upload["UploadId"]
        source = {"Bucket": self.SRC, "Key": "upc-source"}
        # Without the source's key the part cannot be read.
        self.assertS3Error(400, "InvalidRequest", SSE_C_MISSING, self.s3.upload_part_copy,
                           Bucket=self.DST, Key="upc", UploadId=uid, PartNumber=1,
                           CopySource=source, CopySourceRange=f"bytes=0-{PART - 1}")
        etags = []
        for number, (first, last) in enumerate(((0, PART - 1), (PART, len(body) - 1)), 1):
            part = self.s3.upload_part_copy(Bucket=self.DST, Key="upc", UploadId=uid,
                                            PartNumber=number, CopySource=source,
                                            CopySourceRange=f"bytes={first}-{last}",
                                            **sse_c_args(prefix="CopySource"))
            self.assertEqual(sse_headers(headers_of(part)),
                             {SSE: "aws:kms", SSE_KEY_ID: self.key2["Arn"]})
            etags.append(part["CopyPartResult"]["ETag"])
        done = self.s3.complete_multipart_upload(
            Bucket=self.DST, Key="upc", UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e}
                                       for i, e in enumerate(etags)]})
        self.assertEqual(sse_headers(headers_of(done)),
                         {SSE: "aws:kms", SSE_KEY_ID: self.key2["Arn"]})
        got = self.s3.get_object(Bucket=self.DST, Key="upc")
        self.assertEqual(got["Body"].read(), body)
        self.assertEqual(got["SSEKMSKeyId"], self.key2["Arn"])
        ranged = self.s3.get_object(Bucket=self.DST, Key="upc",
                                    Range=f"bytes={PART - 100}-{PART + 100}")
        self.assertEqual(ranged["Body"].read(), body[PART - 100:PART + 101])


def _generate_copy_tests():
    for source in COPY_MODES:
        for destination in COPY_MODES:
            def test(self, source=source, destination=destination):
                self.check_copy(source, destination)
            test.__name__ = f"test_copy_{source}_to_{destination}"
            setattr(CopyTest, test.__name__, test)


_generate_copy_tests()


# --- (e) encryption context ---------------------------------------------------------------------

class EncryptionContextTest(SseTestCase):

    BUCKET = "sse-context"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = cls.create_key()
        cls.make_bucket(cls.BUCKET)

    def put(self, key, context, **extra):
        encoded = b64(json.dumps(context).encode()) if isinstance(context, dict) else context
        return self.s3.put_object(Bucket=self.BUCKET, Key=key, Body=b"context body " + key.encode(),
                                  ServerSideEncryption="aws:kms", SSEKMSKeyId=self.key["KeyId"],
                                  SSEKMSEncryptionContext=encoded, **extra)

    def stored_kms_ciphertext(self, key) -> bytes:
        record = self.server.object_record(self.BUCKET, key)
        return base64.b64decode(record["segments"][0]["keys"]["kms"])

    def test_caller_context_is_accepted_stored_and_bound_to_the_data_key(self):
        self.put("with-context", {"department": "finance", "project": "lab"})
        got = self.s3.get_object(Bucket=self.BUCKET, Key="with-context")
        self.assertEqual(got["Body"].read(), b"context body with-context")
        self.assertNotIn(SSE_CONTEXT, headers_of(got), "GET must not return the context")
        # The stored data key opens only under the merged context S3 sends to KMS.
        blob = self.stored_kms_ciphertext("with-context")
        arn = f"arn:aws:s3:::{self.BUCKET}/with-context"
        plain = self.kms.decrypt(CiphertextBlob=blob, EncryptionContext={
            "aws:s3:arn": arn, "department": "finance", "project": "lab"})
        self.assertEqual(len(plain["Plaintext"]), 32)
        self.assertEqual(plain["KeyId"], self.key["Arn"])
        self.assertClientError("InvalidCiphertextException", None, self.kms.decrypt,
                               CiphertextBlob=blob, EncryptionContext={"aws:s3:arn": arn})

    def test_without_caller_context_the_object_arn_is_the_context(self):
        self.s3.put_object(Bucket=self.BUCKET, Key="plain-context", Body=b"x",
                           ServerSideEncryption="aws:kms", SSEKMSKeyId=self.key["KeyId"])
        blob = self.stored_kms_ciphertext("plain-context")
        plain = self.kms.decrypt(CiphertextBlob=blob, EncryptionContext={
            "aws:s3:arn": f"arn:aws:s3:::{self.BUCKET}/plain-context"})
        self.assertEqual(len(plain["Plaintext"]), 32)

    def test_a_bucket_key_is_bound_to_the_bucket_arn(self):
        self.s3.put_object(Bucket=self.BUCKET, Key="bk-context", Body=b"x",
                           ServerSideEncryption="aws:kms", SSEKMSKeyId=self.key["KeyId"],
                           BucketKeyEnabled=True)
        blob = self.stored_kms_ciphertext("bk-context")
        plain = self.kms.decrypt(CiphertextBlob=blob,
                                 EncryptionContext={"aws:s3:arn": f"arn:aws:s3:::{self.BUCKET}"})
        self.assertEqual(len(plain["Plaintext"]), 32)
        self.assertClientError("InvalidCiphertextException", None, self.kms.decrypt,
                               CiphertextBlob=blob, EncryptionContext={
                                   "aws:s3:arn": f"arn:aws:s3:::{self.BUCKET}/bk-context"})

    def test_context_without_aws_kms_is_invalid_argument(self):
        self.assertS3Error(400, "InvalidArgument", None, self.s3.put_object, Bucket=self.BUCKET,
                           Key="ctx-aes", Body=b"x", ServerSideEncryption="AES256",
                           SSEKMSEncryptionContext=b64(b'{"a": "b"}'))
        self.assertAbsent(self.BUCKET, "ctx-aes")

    def test_aws_s3_arn_equal_to_the_object_arn_is_accepted(self):
        self.put("own-arn", {"aws:s3:arn": f"arn:aws:s3:::{self.BUCKET}/own-arn"})
        self.assertEqual(self.s3.get_object(Bucket=self.BUCKET, Key="own-arn")["Body"].read(),
                         b"context body own-arn")

    def test_aws_s3_arn_of_another_object_is_invalid_argument(self):
        for i, value in enumerate((f"arn:aws:s3:::{self.BUCKET}/someone-else",
                                   f"arn:aws:s3:::{self.BUCKET}", "not-an-arn")):
            with self.subTest(value=value):
                self.assertS3Error(400, "InvalidArgument", None, self.put, f"other-arn-{i}",
                                   {"aws:s3:arn": value})
                self.assertAbsent(self.BUCKET, f"other-arn-{i}")

    def test_context_that_is_not_base64_json_of_strings_is_invalid_argument(self):
        for i, value in enumerate(("%%%not base64", b64(b"not json"), b64(b"[1, 2]"),
                                   b64(b'{"n": 1}'))):
            with self.subTest(value=value):
                self.assertS3Error(400, "InvalidArgument", None, self.put, f"bad-ctx-{i}", value)
                self.assertAbsent(self.BUCKET, f"bad-ctx-{i}")

    def test_context_with_a_multipart_upload(self):
        context = b64(json.dumps({"stage": "multipart"}).encode())
        upload = self.s3.create_multipart_upload(
            Bucket=self.BUCKET, Key="ctx-mpu", ServerSideEncryption="aws:kms",
            SSEKMSKeyId=self.key["KeyId"], SSEKMSEncryptionContext=context)
        part = self.s3.upload_part(Bucket=self.BUCKET, Key="ctx-mpu", UploadId=upload["UploadId"],
                                   PartNumber=1, Body=b"multipart with context")
        self.s3.complete_multipart_upload(
            Bucket=self.BUCKET, Key="ctx-mpu", UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assertEqual(self.s3.get_object(Bucket=self.BUCKET, Key="ctx-mpu")["Body"].read(),
                         b"multipart with context")


# --- (f) Bucket Key proof -----------------------------------------------------------------------

class BucketKeyProofTest(SseTestCase):
    """1,000 objects with and without a Bucket Key; the KMS calls are Hangar's own counters."""

    OBJECTS = 1000
    THREADS = 16

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = cls.create_key("alias/bucket-key-proof")
        cls.make_bucket("bk-with", ("aws:kms", "alias/bucket-key-proof"), bucket_key=True)
        cls.make_bucket("bk-without", ("aws:kms", "alias/bucket-key-proof"), bucket_key=False)
        cls._local = threading.local()
        cls.pool = ThreadPoolExecutor(cls.THREADS)
        cls.addClassCleanup(cls.pool.shutdown)

    def thread_client(self):
        client = getattr(self._local, "s3", None)
        if client is None:
            client = self._local.s3 = self.server.s3_client()
        return client

    def put_many(self, bucket):
        def put(i):
            return self.thread_client().put_object(Bucket=bucket, Key=f"obj-{i:04d}",
                                                   Body=b"small object %d" % i)
        return list(self.pool.map(put, range(self.OBJECTS)))

    def get_many(self, bucket):
        def get(i):
            return self.thread_client().get_object(Bucket=bucket, Key=f"obj-{i:04d}")["Body"].read()
        return list(self.pool.map(get, range(self.OBJECTS)))

    def measured(self, op, bucket, counter):
        before = self.kms_calls()
        results = op(bucket)
        after = self.kms_calls()
        return results, after[counter] - before[counter]

    def test_1000_objects_cost_a_handful_of_kms_calls_with_a_bucket_key_and_1000_without(self):
        puts_with, generate_with = self.measured(self.put_many, "bk-with", "GenerateDataKey")
        puts_without, generate_without = self.measured(self.put_many, "bk-without",
                                                       "GenerateDataKey")
        for put in puts_with:
            self.assertEqual(put["BucketKeyEnabled"], True)
            self.assertEqual(put["SSEKMSKeyId"], self.key["Arn"])
        for put in puts_without:
            self.assertNotIn("BucketKeyEnabled", put)
            self.assertEqual(put["SSEKMSKeyId"], self.key["Arn"])
        bodies_with, decrypt_with = self.measured(self.get_many, "bk-with", "Decrypt")
        bodies_without, decrypt_without = self.measured(self.get_many, "bk-without", "Decrypt")
        expected = [b"small object %d" % i for i in range(self.OBJECTS)]
        self.assertEqual(bodies_with, expected)
        self.assertEqual(bodies_without, expected)
        print(f"\nBucket Key proof ({self.OBJECTS} objects each, from /_hangar/metrics): "
              f"PUT GenerateDataKey with={generate_with} without={generate_without}; "
              f"GET Decrypt with={decrypt_with} without={decrypt_without}", flush=True)
        self.assertLessEqual(generate_with, 5)
        self.assertEqual(generate_without, self.OBJECTS)
        self.assertLessEqual(decrypt_with, 5)
        self.assertEqual(decrypt_without, self.OBJECTS)

    def test_a_bucket_key_lives_five_minutes(self):
        self.make_bucket("bk-lifetime", ("aws:kms", "alias/bucket-key-proof"), bucket_key=True)
        calls = lambda: (self.kms_calls()["GenerateDataKey"], self.kms_calls()["Decrypt"])
        start = calls()
        self.s3.put_object(Bucket="bk-lifetime", Key="first", Body=b"first")
        self.s3.put_object(Bucket="bk-lifetime", Key="second", Body=b"second")
        self.assertEqual(calls(), (start[0] + 1, start[1]))
        self.server.advance_clock(4 * 60)
        self.s3.put_object(Bucket="bk-lifetime", Key="third", Body=b"third")
        self.assertEqual(calls(), (start[0] + 1, start[1]), "a Bucket Key younger than 5 min")
        self.server.advance_clock(60 + 1)
        self.s3.put_object(Bucket="bk-lifetime", Key="fourth", Body=b"fourth")
        self.assertEqual(calls(), (start[0] + 2, start[1]), "a new Bucket Key after 5 min")
        # Reading objects under the expired Bucket Key decrypts it once more, then caches it.
        for key in ("first", "second", "third"):
            got = self.s3.get_object(Bucket="bk-lifetime", Key=key)["Body"].read()
            self.assertEqual(got, key.encode())
        self.assertEqual(calls(), (start[0] + 2, start[1] + 1))

    def test_disabling_the_key_stops_cached_bucket_key_puts_and_gets_at_once(self):
        self.make_bucket("bk-disable", ("aws:kms", "alias/bucket-key-proof"), bucket_key=True)
        for i in range(3):  # the Bucket Key is now cached for writes and reads
            self.s3.put_object(Bucket="bk-disable", Key=f"o{i}", Body=b"cached %d" % i)
            self.s3.get_object(Bucket="bk-disable", Key=f"o{i}")["Body"].read()
        disabled = f"{self.key['Arn']} is disabled."
        self.kms.disable_key(KeyId=self.key["KeyId"])
        try:
            self.assertS3Error(400, "KMS.DisabledException", disabled, self.s3.put_object,
                               Bucket="bk-disable", Key="o-new", Body=b"new")
            self.assertS3Error(400, "KMS.DisabledException", disabled, self.s3.get_object,
                               Bucket="bk-disable", Key="o0")
            self.assertS3Error(400, "KMS.DisabledException", disabled,
                               self.s3.create_multipart_upload, Bucket="bk-disable", Key="mpu")
            self.assertAbsent("bk-disable", "o-new")
        finally:
            self.kms.enable_key(KeyId=self.key["KeyId"])
        self.assertEqual(self.s3.get_object(Bucket="bk-disable", Key="o1")["Body"].read(),
                         b"cached 1")
        pending = f"{self.key['Arn']} is pending deletion."
        self.kms.schedule_key_deletion(KeyId=self.key["KeyId"], PendingWindowInDays=7)
        try:
            self.assertS3Error(400, "KMS.KMSInvalidStateException", pending, self.s3.put_object,
                               Bucket="bk-disable", Key="o-new", Body=b"new")
            self.assertS3Error(400, "KMS.KMSInvalidStateException", pending, self.s3.get_object,
                               Bucket="bk-disable", Key="o2")
        finally:
            self.kms.cancel_key_deletion(KeyId=self.key["KeyId"])
            self.kms.enable_key(KeyId=self.key["KeyId"])
        self.assertEqual(self.s3.get_object(Bucket="bk-disable", Key="o2")["Body"].read(),
                         b"cached 2")


# --- key states for the other KMS modes, and an upload in progress ------------------------------

class KeyStateTest(SseTestCase):

    BUCKET = "key-states"

    def test_disabled_and_pending_deletion_keys_stop_every_kms_mode(self):
        self.make_bucket(self.BUCKET)
        key = self.create_key()
        arn = key["Arn"]
        modes = {
            "kms": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key["KeyId"]},
            "bucket_key": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key["KeyId"],
                           "BucketKeyEnabled": True},
            "dsse": {"ServerSideEncryption": "aws:kms:dsse", "SSEKMSKeyId": key["KeyId"]},
        }
        for name, args in modes.items():
            self.s3.put_object(Bucket=self.BUCKET, Key=name, Body=name.encode() * 100, **args)
        upload = self.s3.create_multipart_upload(Bucket=self.BUCKET, Key="mpu", **modes["kms"])
        uid = upload["UploadId"]

        for state, change, undo, code, message in (
                ("disabled", lambda: self.kms.disable_key(KeyId=key["KeyId"]),
                 lambda: self.kms.enable_key(KeyId=key["KeyId"]),
                 "KMS.DisabledException", f"{arn} is disabled."),
                ("pending deletion",
                 lambda: self.kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7),
                 lambda: (self.kms.cancel_key_deletion(KeyId=key["KeyId"]),
                          self.kms.enable_key(KeyId=key["KeyId"])),
                 "KMS.KMSInvalidStateException", f"{arn} is pending deletion.")):
            change()
            try:
                for name, args in modes.items():
                    with self.subTest(state=state, mode=name):
                        self.assertS3Error(400, code, message, self.s3.get_object,
                                           Bucket=self.BUCKET, Key=name)
                        self.assertS3Error(400, code, message, self.s3.put_object,
                                           Bucket=self.BUCKET, Key=f"{name}-new", Body=b"x",
                                           **args)
                        self.assertAbsent(self.BUCKET, f"{name}-new")
                with self.subTest(state=state, op="UploadPart"):
                    self.assertS3Error(400, code, message, self.s3.upload_part,
                                       Bucket=self.BUCKET, Key="mpu", UploadId=uid, PartNumber=1,
                                       Body=b"part")
                with self.subTest(state=state, op="CopyObject from the key"):
                    self.assertS3Error(400, code, message, self.s3.copy_object,
                                       Bucket=self.BUCKET, Key="copied",
                                       CopySource={"Bucket": self.BUCKET, "Key": "kms"},
                                       ServerSideEncryption="AES256")
            finally:
                undo()
            for name in modes:
                got = self.s3.get_object(Bucket=self.BUCKET, Key=name)
                self.assertEqual(got["Body"].read(), name.encode() * 100)
        part = self.s3.upload_part(Bucket=self.BUCKET, Key="mpu", UploadId=uid, PartNumber=1,
                                   Body=b"part")
        self.s3.complete_multipart_upload(Bucket=self.BUCKET, Key="mpu", UploadId=uid,
                                          MultipartUpload={"Parts": [{"PartNumber": 1,
                                                                      "ETag": part["ETag"]}]})
        self.assertEqual(self.s3.get_object(Bucket=self.BUCKET, Key="mpu")["Body"].read(), b"part")


    def test_an_empty_kms_object_shares_its_keys_state(self):
        # No blob, but still an SSE-KMS object: AWS decrypts its data key on every GET.
        self.make_bucket("key-states-empty")
        key = self.create_key()
        self.s3.put_object(Bucket="key-states-empty", Key="empty", Body=b"",
                           ServerSideEncryption="aws:kms", SSEKMSKeyId=key["KeyId"])
        self.kms.disable_key(KeyId=key["KeyId"])
        try:
            self.assertS3Error(400, "KMS.DisabledException", f"{key['Arn']} is disabled.",
                               self.s3.get_object, Bucket="key-states-empty", Key="empty")
        finally:
            self.kms.enable_key(KeyId=key["KeyId"])
        got = self.s3.get_object(Bucket="key-states-empty", Key="empty")
        self.assertEqual(got["Body"].read(), b"")


# --- what each mode costs in KMS calls (docs/sse.md), from Hangar's own counters ----------------

class KmsCallsPerModeTest(SseTestCase):

    BUCKET = "kms-calls"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.key = cls.create_key("alias/kms-calls")
        cls.make_bucket(cls.BUCKET)
        cls.make_bucket("kms-calls-bk", ("aws:kms", "alias/kms-calls"), bucket_key=True)
        cls.make_bucket("kms-calls-dsse-bk", ("aws:kms:dsse", "alias/kms-calls"), bucket_key=True)

    def delta(self, call):
        before = self.kms_calls()
        result = call()
        after = self.kms_calls()
        return result, {op: after[op] - before[op] for op in after if after[op] != before[op]}

    def test_kms_calls_per_put_and_get_in_each_mode(self):
        kms = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.key["KeyId"]}
        cases = [
            ("sse_s3", self.BUCKET, {"ServerSideEncryption": "AES256"}, {}, {}, {}),
            ("sse_c", self.BUCKET, sse_c_args(), sse_c_args(), {}, {}),
            ("kms", self.BUCKET, kms, {}, {"GenerateDataKey": 1}, {"Decrypt": 1}),
            ("dsse", self.BUCKET, {**kms, "ServerSideEncryption": "aws:kms:dsse"}, {},
             {"GenerateDataKey": 2}, {"Decrypt": 2}),
            # A per-request BucketKeyEnabled=false overrides the bucket's Bucket Key.
            ("bucket_key_off", "kms-calls-bk", {"BucketKeyEnabled": False}, {},
             {"GenerateDataKey": 1}, {"Decrypt": 1}),
        ]
        for name, bucket, put, read, put_calls, get_calls in cases:
            with self.subTest(name):
                body = random.Random(name).randbytes(3 * SEGMENT)
                response, calls = self.delta(lambda: self.s3.put_object(
                    Bucket=bucket, Key=name, Body=body, **put))
                self.assertEqual(calls, put_calls, "PUT")
                self.assertNotIn("BucketKeyEnabled", response)
                got, calls = self.delta(lambda: self.s3.get_object(
                    Bucket=bucket, Key=name, **read)["Body"].read())
                self.assertEqual(got, body)
                self.assertEqual(calls, get_calls, "GET")
                _, calls = self.delta(lambda: self.s3.head_object(Bucket=bucket, Key=name, **read))
                self.assertEqual(calls, {}, "HEAD")

    def test_dsse_ignores_bucket_keys(self):
        kms = {"ServerSideEncryption": "aws:kms:dsse", "SSEKMSKeyId": self.key["KeyId"]}
        for bucket, put in ((self.BUCKET, {**kms, "BucketKeyEnabled": True}),
                            ("kms-calls-dsse-bk", {})):
            with self.subTest(bucket=bucket):
                for i in range(3):
                    response, calls = self.delta(lambda: self.s3.put_object(
                        Bucket=bucket, Key=f"dsse-bk-{i}", Body=b"two layers", **put))
                    self.assertEqual(calls, {"GenerateDataKey": 2})
                    self.assertEqual(sse_headers(headers_of(response)),
                                     {SSE: "aws:kms:dsse", SSE_KEY_ID: self.key["Arn"]})
                head = self.s3.head_object(Bucket=bucket, Key="dsse-bk-0")
                self.assertNotIn("BucketKeyEnabled", head)

    def test_multipart_costs_one_data_key_per_upload_and_one_decrypt_per_part(self):
        kms = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.key["KeyId"]}
        upload, calls = self.delta(lambda: self.s3.create_multipart_upload(
            Bucket=self.BUCKET, Key="mpu", **kms))
        self.assertEqual(calls, {"GenerateDataKey": 1})
        body = random.Random("mpu-calls").randbytes(PART + 10)
        etags = []
        for number, part in enumerate((body[:PART], body[PART:]), 1):
            response, calls = self.delta(lambda: self.s3.upload_part(
                Bucket=self.BUCKET, Key="mpu", UploadId=upload["UploadId"], PartNumber=number,
                Body=part))
            self.assertEqual(calls, {"Decrypt": 1})
            etags.append(response["ETag"])
        self.s3.complete_multipart_upload(
            Bucket=self.BUCKET, Key="mpu", UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e}
                                       for i, e in enumerate(etags)]})
        got, calls = self.delta(lambda: self.s3.get_object(Bucket=self.BUCKET,
                                                           Key="mpu")["Body"].read())
        self.assertEqual(got, body)
        self.assertEqual(calls, {"Decrypt": 1}, "the parts share the upload's data key")


# --- transport: SSE-KMS and SSE-C only over TLS, or over plain HTTP from this host -------------

def non_loopback_address() -> Optional[str]:
    """An IPv4 address of this host other than 127.x (a UDP connect sends no packet)."""
    for probe in ("198.51.100.1", "192.0.2.123", "10.255.255.1"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.connect((probe, 9))
            except OSError:
                continue
            address = sock.getsockname()[0]
            if not address.startswith("127."):
                return address
    return None


class PlainHttpFromAnotherHostTest(SseTestCase):
    """docs/sse.md "Transport": over plain HTTP, SSE-KMS and SSE-C are refused unless the client
    is on loopback. The server listens on every address; requests come from a non-loopback one."""

    server_options = {"listen_host": "0.0.0.0"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.address = non_loopback_address()
        cls.key = cls.create_key()
        cls.make_bucket("transport")
        cls.make_bucket("transport-kms-default", ("aws:kms", cls.key["KeyId"]))
        cls.s3.put_object(Bucket="transport", Key="kms", Body=b"kms body",
                          ServerSideEncryption="aws:kms", SSEKMSKeyId=cls.key["KeyId"])
        cls.s3.put_object(Bucket="transport", Key="ssec", Body=b"ssec body", **sse_c_args())
        cls.s3.put_object(Bucket="transport", Key="s3", Body=b"s3 body")

    def setUp(self):
        if self.address is None:
            self.skipTest("this host has no non-loopback IPv4 address to connect from")

    def remote(self, method, path, body=b"", headers=None, query=""):
        return self.server.s3_request(method, path, body, headers=headers, query=query,
                                      host=self.address)

    def test_sse_kms_and_sse_c_are_refused_and_sse_s3_is_served(self):
        kms = {SSE: "aws:kms", SSE_KEY_ID: self.key["KeyId"]}
        ssec = sse_c_raw_headers()
        self.assertEqual(self.remote("GET", "/transport/s3").body, b"s3 body")
        self.assertEqual(self.remote("PUT", "/transport/remote-s3", b"x").status, 200)
        for what, method, path, headers in (
                ("PUT SSE-KMS", "PUT", "/transport/remote-kms", kms),
                ("PUT DSSE", "PUT", "/transport/remote-dsse", {**kms, SSE: "aws:kms:dsse"}),
                ("PUT SSE-C", "PUT", "/transport/remote-ssec", ssec),
                ("PUT, bucket default SSE-KMS", "PUT", "/transport-kms-default/remote", {}),
                ("GET SSE-KMS", "GET", "/transport/kms", {}),
                ("GET SSE-C", "GET", "/transport/ssec", ssec),
                ("HEAD SSE-C", "HEAD", "/transport/ssec", ssec),
                ("CopyObject from SSE-C", "PUT", "/transport/remote-copy",
                 {"x-amz-copy-source": "/transport/ssec",
                  **sse_c_raw_headers(prefix="x-amz-copy-source-")})):
            with self.subTest(what):
                response = self.remote(method, path, b"secret" if what.startswith("PUT") else b"",
                                       headers)
                self.assertRawError(response, 400, None if method == "HEAD" else "InvalidRequest")
                self.assertNotIn(b"body", response.body)
        for bucket, key in (("transport", "remote-kms"), ("transport", "remote-dsse"),
                            ("transport", "remote-ssec"), ("transport", "remote-copy"),
                            ("transport-kms-default", "remote")):
            self.assertAbsent(bucket, key)
        # From loopback the same requests work.
        self.assertEqual(self.s3.get_object(Bucket="transport", Key="kms")["Body"].read(),
                         b"kms body")

    def test_upload_part_of_an_sse_kms_upload_is_refused(self):
        upload = self.s3.create_multipart_upload(Bucket="transport", Key="mpu",
                                                 ServerSideEncryption="aws:kms",
                                                 SSEKMSKeyId=self.key["KeyId"])
        response = self.remote("PUT", "/transport/mpu", b"part",
                               query=f"partNumber=1&uploadId={upload['UploadId']}")
        self.assertRawError(response, 400, "InvalidRequest")
        self.s3.abort_multipart_upload(Bucket="transport", Key="mpu",
                                       UploadId=upload["UploadId"])


# --- (g) rotation -------------------------------------------------------------------------------

class RotationTest(SseTestCase):

    BUCKET = "rotation"

    def test_objects_written_before_and_after_rotations_all_read_back(self):
        self.make_bucket(self.BUCKET)
        key = self.create_key()
        modes = {
            "kms": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key["KeyId"]},
            "bucket_key": {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key["KeyId"],
                           "BucketKeyEnabled": True},
            "dsse": {"ServerSideEncryption": "aws:kms:dsse", "SSEKMSKeyId": key["KeyId"]},
        }
        written = {}

        def write_generation(generation):
            for name, args in modes.items():
                object_key = f"{generation}/{name}"
                body = random.Random(object_key).randbytes(2 * SEGMENT + 99)
                self.s3.put_object(Bucket=self.BUCKET, Key=object_key, Body=body, **args)
                written[object_key] = body

        def assert_all_readable():
            for object_key, body in written.items():
                got = self.s3.get_object(Bucket=self.BUCKET, Key=object_key)
                self.assertEqual(got["Body"].read(), body, object_key)
                self.assertEqual(got["SSEKMSKeyId"], key["Arn"])

        # Rotation goes as raw signed JSON (clients.kms_json): Debian 12's botocore predates
        # RotateKeyOnDemand and key material ids, and the subject here is S3's reads, not boto3.
        material = lambda: kms_json(self.server, "DescribeKey", KeyId=key["KeyId"])[
            "KeyMetadata"]["CurrentKeyMaterialId"]
        write_generation("before")
        first_material = material()

        kms_json(self.server, "RotateKeyOnDemand", KeyId=key["KeyId"])
        on_demand_material = material()
        self.assertNotEqual(on_demand_material, first_material)
        assert_all_readable()
        write_generation("after-on-demand")
        assert_all_readable()

        kms_json(self.server, "EnableKeyRotation", KeyId=key["KeyId"], RotationPeriodInDays=90)
        self.server.advance_clock(91 * DAY)
        rotations = kms_json(self.server, "ListKeyRotations", KeyId=key["KeyId"])["Rotations"]
        self.assertEqual(sorted(r["RotationType"] for r in rotations), ["AUTOMATIC", "ON_DEMAND"])
        self.assertNotIn(material(), (first_material, on_demand_material))
        assert_all_readable()
        write_generation("after-automatic")
        assert_all_readable()
        self.server.restart()
        assert_all_readable()


if __name__ == "__main__":
    unittest.main()
