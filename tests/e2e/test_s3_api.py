"""Every S3 operation Hangar offers, driven by boto3 (and plain urllib for presigned URLs) against
the real binary: buckets, objects, listing, multipart, presigned URLs, anonymous access.

Expected codes, statuses and messages are AWS's, as docs/reference/s3.md records them. A HEAD
has no body, so botocore reports its HTTP status as the error code ("404", "412", "304").

Runs with Debian 12's boto3 (botocore 1.29) too: a response member an older botocore does not parse
is checked in the response's headers or raw XML, and boto3's parsed value where it has one; a
request it cannot make (PutObject IfNoneMatch) fails naming the botocore it needs (clients.py).
"""

import concurrent.futures
import contextlib
import datetime
import hashlib
import importlib
import io
import os
import re
import types
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ElementTree
import zlib
from unittest import mock

import boto3.s3.transfer
import botocore
import botocore.auth
import botocore.config
import botocore.exceptions

from clients import Need, S3_IF_NONE_MATCH_ON_PUT, models, require
from harness import HangarTestCase, b64

MIB = 1024 * 1024
ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyz"  # 36 bytes: ranges are easy to read

MALFORMED_XML = ("The XML you provided was not well-formed or did not validate against our "
                 "published schema")
NO_SUCH_KEY = "The specified key does not exist."
NO_SUCH_BUCKET = "The specified bucket does not exist"
NO_SUCH_UPLOAD = ("The specified upload does not exist. The upload ID may be invalid, or the "
                  "upload may have been aborted or completed.")
PRECONDITION_FAILED = "At least one of the pre-conditions you specified did not hold"
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you "
                      "provided. Check your key and signing method.")


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def multipart_etag(parts) -> str:
    """The ETag S3 gives a multipart object: MD5 of the parts' binary MD5s, dash, part count."""
    digests = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(digests).hexdigest()}-{len(parts)}"'


def _crc32c_table():
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC32C[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def checksum_b64(algorithm: str, data: bytes) -> str:
    """The x-amz-checksum-<algorithm> value of `data`: base64 of the big-endian digest."""
    if algorithm == "CRC32":
        return b64(zlib.crc32(data).to_bytes(4, "big"))
    if algorithm == "CRC32C":
        return b64(crc32c(data).to_bytes(4, "big"))
    return b64(hashlib.new(algorithm.lower(), data).digest())


def headers_of(response) -> dict:
    return response["ResponseMetadata"]["HTTPHeaders"]


def signing_clock(when):
    """Makes botocore sign (and presign) as if it were `when` (naive UTC), in its own signers and
    in the awscrt ones it prefers where awscrt is installed (Debian's python3-awscrt, which awscli
    brings). A current botocore asks get_current_datetime(); older ones (1.29) call
    datetime.datetime.utcnow()."""
    stack = contextlib.ExitStack()
    modules = [botocore.auth]
    try:
        modules.append(importlib.import_module("botocore.crt.auth"))
    except ImportError:  # no awscrt
        pass
    for module in modules:
        if hasattr(module, "get_current_datetime"):
            stack.enter_context(mock.patch.object(
                module, "get_current_datetime",
                lambda remove_tzinfo=True: when if remove_tzinfo else
                when.replace(tzinfo=datetime.timezone.utc)))
        elif hasattr(module, "datetime"):
            class Frozen(datetime.datetime):
                @classmethod
                def utcnow(cls):
                    return when
            frozen = types.ModuleType("datetime")
            frozen.__dict__.update(vars(datetime))
            frozen.datetime = Frozen
            stack.enter_context(mock.patch.object(module, "datetime", frozen))
    return stack


class S3ApiTestCase(HangarTestCase):
    """One server per class and a boto3 client with path-style addressing."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()

    def make_bucket(self, name):
        self.s3.create_bucket(Bucket=name)
        return name

    def assertNoSuchKey(self, bucket, key):
        self.assertS3Error(404, "NoSuchKey", NO_SUCH_KEY, self.s3.get_object, Bucket=bucket,
                           Key=key, s3_fields={"Key": key})

    def body_of(self, bucket, key) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()

    def assertParsedWhereModelled(self, response, operation, member, expected):
        """boto3 parsed `member` of `operation`'s answer as `expected`, if the installed botocore
        models that member (callers check the header it comes from, which every botocore
        shows in ResponseMetadata)."""
        if models(Need("s3", operation, "output", member)):
            self.assertEqual(response.get(member), expected, member)


class BucketTest(S3ApiTestCase):

    def test_invalid_bucket_names_are_invalid_bucket_name_with_the_name(self):
        # Names botocore lets through (its own check only refuses characters outside
        # [a-zA-Z0-9._-], and it sends "--x-s3" names to S3 Express); the others are sent raw in
        # test_s3_bad_input.
        for name in ("ab", "a" * 64, "UpperCase", "under_score", "-leading", "trailing-",
                     "double..dot", "192.168.5.4", "xn--punycode", "sthree-bucket",
                     "amzn-s3-demo-bucket", "name-s3alias", "name--ol-s3", "name.mrap",
                     ".leading-dot"):
            with self.subTest(name=name):
                self.assertS3Error(400, "InvalidBucketName", "The specified bucket is not valid.",
                                   self.s3.create_bucket, Bucket=name,
                                   s3_fields={"BucketName": name})
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertNotIn("UpperCase", names)

    def test_valid_edge_names_are_accepted(self):
        for name in ("abc", "a" * 63, "1.2.3", "with-dash.and.dot", "0leading-digit"):
            with self.subTest(name=name):
                self.s3.create_bucket(Bucket=name)
                self.s3.head_bucket(Bucket=name)

    def test_recreating_own_bucket_in_us_east_1_succeeds(self):
        self.make_bucket("again-east")
        response = self.s3.create_bucket(Bucket="again-east")
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(response["Location"], "/again-east")

    def test_recreating_own_bucket_outside_us_east_1_is_bucket_already_owned_by_you(self):
        config = {"LocationConstraint": "eu-west-1"}
        self.s3.create_bucket(Bucket="again-west", CreateBucketConfiguration=config)
        self.assertS3Error(
            409, "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
            self.s3.create_bucket, Bucket="again-west", CreateBucketConfiguration=config,
            s3_fields={"BucketName": "again-west"})

    def test_location_constraint_sets_the_bucket_region(self):
        self.s3.create_bucket(Bucket="in-frankfurt",
                              CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        self.make_bucket("in-virginia")
        self.assertEqual(
            self.s3.get_bucket_location(Bucket="in-frankfurt")["LocationConstraint"],
            "eu-central-1")
        # us-east-1 is the absence of a constraint.
        self.assertIsNone(self.s3.get_bucket_location(Bucket="in-virginia")["LocationConstraint"])
        head = self.s3.head_bucket(Bucket="in-frankfurt")
        self.assertEqual(headers_of(head)["x-amz-bucket-region"], "eu-central-1")
        self.assertParsedWhereModelled(head, "HeadBucket", "BucketRegion", "eu-central-1")
        head = self.s3.head_bucket(Bucket="in-virginia")
        self.assertEqual(headers_of(head)["x-amz-bucket-region"], "us-east-1")
        # ListBuckets names each bucket's region (in the XML; boto3 parses it where it models it).
        listing = self.server.s3_request("GET", "/")
        self.assertEqual(listing.status, 200, listing.body)
        namespace = "{http://s3.amazonaws.com/doc/2006-03-01/}"
        xml_regions = {b.findtext(f"{namespace}Name"): b.findtext(f"{namespace}BucketRegion")
                       for b in ElementTree.fromstring(listing.body).iter(f"{namespace}Bucket")}
        self.assertEqual(xml_regions["in-frankfurt"], "eu-central-1")
        self.assertEqual(xml_regions["in-virginia"], "us-east-1")
        if models(Need("s3", "ListBuckets", "output", "Buckets.BucketRegion")):
            regions = {b["Name"]: b.get("BucketRegion") for b in self.s3.list_buckets()["Buckets"]}
            self.assertEqual(regions["in-frankfurt"], "eu-central-1")
            self.assertEqual(regions["in-virginia"], "us-east-1")

    def test_regional_endpoint_refuses_another_regions_constraint(self):
        s3 = self.server.s3_client(region="eu-west-1")
        self.assertS3Error(
            400, "IllegalLocationConstraintException",
            "The us-west-2 location constraint is incompatible for the region specific endpoint "
            "this request was sent to.",
            s3.create_bucket, Bucket="wrong-region",
            CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        self.assertS3Error(404, "404", "Not Found", self.s3.head_bucket, Bucket="wrong-region")
        s3.create_bucket(Bucket="right-region",
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        self.assertEqual(s3.get_bucket_location(Bucket="right-region")["LocationConstraint"],
                         "eu-west-1")

    def test_head_bucket_of_missing_bucket_is_404(self):
        self.assertS3Error(404, "404", "Not Found", self.s3.head_bucket, Bucket="never-made")

    def test_delete_bucket_refuses_a_non_empty_bucket(self):
        bucket = self.make_bucket("full-bucket")
        self.s3.put_object(Bucket=bucket, Key="keep", Body=b"x")
        self.assertS3Error(409, "BucketNotEmpty", "The bucket you tried to delete is not empty",
                           self.s3.delete_bucket, Bucket=bucket,
                           s3_fields={"BucketName": bucket})
        self.assertEqual(self.body_of(bucket, "keep"), b"x")
        self.s3.delete_object(Bucket=bucket, Key="keep")
        response = self.s3.delete_bucket(Bucket=bucket)
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertS3Error(404, "404", "Not Found", self.s3.head_bucket, Bucket=bucket)
        self.assertS3Error(404, "NoSuchBucket", NO_SUCH_BUCKET, self.s3.delete_bucket,
                           Bucket=bucket, s3_fields={"BucketName": bucket})

    def test_delete_bucket_with_an_upload_in_progress_takes_the_upload_along(self):
        bucket = self.make_bucket("pending-upload")
        upload = self.s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
        self.s3.upload_part(Bucket=bucket, Key="k", UploadId=upload, PartNumber=1, Body=b"p")
        self.s3.delete_bucket(Bucket=bucket)
        self.make_bucket(bucket)
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket=bucket))

    def test_list_buckets_lists_mine_sorted_with_owner(self):
        for name in ("list-c", "list-a", "list-b"):
            self.make_bucket(name)
        response = self.s3.list_buckets()
        names = [b["Name"] for b in response["Buckets"]]
        self.assertTrue({"list-a", "list-b", "list-c"} <= set(names), names)
        self.assertEqual(names, sorted(names))
        self.assertRegex(response["Owner"]["ID"], r"^[0-9a-f]{64}$")
        for bucket in response["Buckets"]:
            self.assertIsInstance(bucket["CreationDate"], datetime.datetime)

    def test_bucket_tagging_round_trip(self):
        bucket = self.make_bucket("tagged-bucket")
        self.assertS3Error(404, "NoSuchTagSet", "The TagSet does not exist",
                           self.s3.get_bucket_tagging, Bucket=bucket,
                           s3_fields={"BucketName": bucket})
        tags = [{"Key": "team", "Value": "storage"}, {"Key": "cost centre", "Value": "42"}]
        self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags})
        got = self.s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
        self.assertEqual(sorted(got, key=lambda t: t["Key"]), sorted(tags, key=lambda t: t["Key"]))
        self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": tags[:1]})
        self.assertEqual(self.s3.get_bucket_tagging(Bucket=bucket)["TagSet"], tags[:1])
        response = self.s3.delete_bucket_tagging(Bucket=bucket)
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertS3Error(404, "NoSuchTagSet", "The TagSet does not exist",
                           self.s3.get_bucket_tagging, Bucket=bucket)

    def test_bucket_operations_on_missing_bucket_are_no_such_bucket(self):
        calls = [
            (self.s3.get_bucket_location, {}),
            (self.s3.get_bucket_tagging, {}),
            (self.s3.list_objects_v2, {}),
            (self.s3.list_objects, {}),
            (self.s3.list_multipart_uploads, {}),
            (self.s3.put_object, {"Key": "k", "Body": b"x"}),
            (self.s3.get_object, {"Key": "k"}),
            (self.s3.delete_object, {"Key": "k"}),
            (self.s3.create_multipart_upload, {"Key": "k"}),
        ]
        for call, kwargs in calls:
            with self.subTest(operation=call.__name__):
                self.assertS3Error(404, "NoSuchBucket", NO_SUCH_BUCKET, call, Bucket="no-bucket",
                                   s3_fields={"BucketName": "no-bucket"}, **kwargs)


class ObjectWriteTest(S3ApiTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = "writes"
        cls.s3.create_bucket(Bucket=cls.bucket)

    def test_put_with_right_content_md5_stores_and_etag_is_the_md5(self):
        body = b"hello, hangar"
        response = self.s3.put_object(Bucket=self.bucket, Key="md5-ok", Body=body,
                                      ContentMD5=b64(hashlib.md5(body).digest()))
        self.assertEqual(response["ETag"], f'"{md5_hex(body)}"')
        self.assertEqual(self.body_of(self.bucket, "md5-ok"), body)

    def test_put_with_wrong_content_md5_is_bad_digest_and_stores_nothing(self):
        body, claimed = b"the real body", b"another body"
        self.assertS3Error(
            400, "BadDigest", "The Content-MD5 you specified did not match what we received.",
            self.s3.put_object, Bucket=self.bucket, Key="md5-bad", Body=body,
            ContentMD5=b64(hashlib.md5(claimed).digest()),
            s3_fields={"ExpectedDigest": md5_hex(claimed),
                       "CalculatedDigest": b64(hashlib.md5(body).digest())})
        self.assertNoSuchKey(self.bucket, "md5-bad")

    def test_put_with_right_checksums_stores_and_echoes_them(self):
        body = b"checksummed content \x00\xff" * 100
        for algorithm in ("CRC32", "CRC32C", "SHA1", "SHA256"):
            with self.subTest(algorithm=algorithm):
                key = f"sum-ok-{algorithm}"
                value = checksum_b64(algorithm, body)
                response = self.s3.put_object(Bucket=self.bucket, Key=key, Body=body,
                                              **{f"Checksum{algorithm}": value})
                self.assertEqual(response[f"Checksum{algorithm}"], value)
                self.assertEqual(headers_of(response)["x-amz-checksum-type"], "FULL_OBJECT")
                self.assertParsedWhereModelled(response, "PutObject", "ChecksumType",
                                               "FULL_OBJECT")
                head = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
                self.assertEqual(head[f"Checksum{algorithm}"], value)
                self.assertEqual(self.body_of(self.bucket, key), body)

    def test_put_with_wrong_checksums_is_bad_digest_and_stores_nothing(self):
        body = b"what was sent"
        for algorithm in ("CRC32", "CRC32C", "SHA1", "SHA256"):
            with self.subTest(algorithm=algorithm):
                key = f"sum-bad-{algorithm}"
                self.assertS3Error(
                    400, "BadDigest",
                    f"The {algorithm} you specified did not match the calculated checksum.",
                    self.s3.put_object, Bucket=self.bucket, Key=key, Body=body,
                    **{f"Checksum{algorithm}": checksum_b64(algorithm, b"something else")})
                self.assertNoSuchKey(self.bucket, key)

    def test_put_with_malformed_checksum_value_is_invalid_request(self):
        self.assertS3Error(400, "InvalidRequest",
                           "Value for x-amz-checksum-crc32 header is invalid.", self.s3.put_object,
                           Bucket=self.bucket, Key="sum-garbled", Body=b"x",
                           ChecksumCRC32="not-base64!")
        self.assertNoSuchKey(self.bucket, "sum-garbled")

    def test_user_metadata_round_trips_with_lower_case_names(self):
        metadata = {"color": "blue", "Mixed-Case": "Value With Spaces", "empty": ""}
        self.s3.put_object(Bucket=self.bucket, Key="meta", Body=b"m", Metadata=metadata)
        expected = {"color": "blue", "mixed-case": "Value With Spaces", "empty": ""}
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="meta")["Metadata"], expected)
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="meta")["Metadata"], expected)

    def test_content_headers_are_kept(self):
        expires = datetime.datetime(2031, 5, 17, 8, 30, tzinfo=datetime.timezone.utc)
        self.s3.put_object(Bucket=self.bucket, Key="page.html.gz", Body=b"<html/>",
                           ContentType="text/html; charset=utf-8", ContentEncoding="gzip",
                           ContentDisposition='attachment; filename="page.html"',
                           ContentLanguage="en-GB", CacheControl="max-age=3600, public",
                           Expires=expires)
        for response in (self.s3.head_object(Bucket=self.bucket, Key="page.html.gz"),
                         self.s3.get_object(Bucket=self.bucket, Key="page.html.gz")):
            self.assertEqual(response["ContentType"], "text/html; charset=utf-8")
            self.assertEqual(response["ContentEncoding"], "gzip")
            self.assertEqual(response["ContentDisposition"], 'attachment; filename="page.html"')
            self.assertEqual(response["ContentLanguage"], "en-GB")
            self.assertEqual(response["CacheControl"], "max-age=3600, public")
            self.assertEqual(headers_of(response)["expires"], "Sat, 17 May 2031 08:30:00 GMT")

    def test_content_type_defaults_to_binary_octet_stream(self):
        self.s3.put_object(Bucket=self.bucket, Key="untyped", Body=b"?")
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="untyped")["ContentType"],
                         "binary/octet-stream")

    def test_overwrite_replaces_body_and_metadata(self):
        self.s3.put_object(Bucket=self.bucket, Key="over", Body=b"first", Metadata={"v": "1"})
        self.s3.put_object(Bucket=self.bucket, Key="over", Body=b"second!", Metadata={"w": "2"})
        response = self.s3.get_object(Bucket=self.bucket, Key="over")
        self.assertEqual(response["Body"].read(), b"second!")
        self.assertEqual(response["Metadata"], {"w": "2"})
        self.assertEqual(response["ETag"], f'"{md5_hex(b"second!")}"')

    def test_empty_file_upload_leaves_the_connection_usable(self):
        # boto3 sends "Expect: 100-continue" with file-like bodies (upload_fileobj, the aws CLI's
        # cp/sync) and reuses keep-alive connections. After an empty upload the next request on
        # the same connection must still get a well-formed answer.
        s3 = self.server.s3_client(max_pool_connections=1, read_timeout=5)
        first = s3.put_object(Bucket=self.bucket, Key="expect/empty", Body=io.BytesIO(b""))
        self.assertEqual(first.get("ETag"), f'"{md5_hex(b"")}"')
        second = s3.put_object(Bucket=self.bucket, Key="expect/next", Body=io.BytesIO(b"hello"))
        self.assertEqual(second.get("ETag"), f'"{md5_hex(b"hello")}"', second)
        self.assertEqual(self.body_of(self.bucket, "expect/next"), b"hello")

    def test_early_errors_on_large_uploads_leave_the_connection_usable(self):
        # Refused before the body is read (no bucket, key too long, no upload): the server must
        # still consume or close, so that the next request on the keep-alive connection works.
        # In cluster runs, straight to a node: a proxy in front answers for its own connections.
        s3 = self.server.s3_client(max_pool_connections=1, read_timeout=10, direct=True)
        body = os.urandom(MIB)
        refusals = [
            (404, "NoSuchBucket", {"Bucket": "no-such-bucket", "Key": "k"}, s3.put_object),
            (400, "KeyTooLongError", {"Bucket": self.bucket, "Key": "k" * 1100}, s3.put_object),
            (404, "NoSuchUpload", {"Bucket": self.bucket, "Key": "k", "UploadId": "nope",
                                   "PartNumber": 1}, s3.upload_part),
        ]
        for status, code, kwargs, call in refusals:
            with self.subTest(code=code):
                self.assertS3Error(status, code, None, call, Body=body, **kwargs)
                s3.put_object(Bucket=self.bucket, Key="after-refusal", Body=code.encode())
                self.assertEqual(self.body_of(self.bucket, "after-refusal"), code.encode())

    def test_empty_object(self):
        response = self.s3.put_object(Bucket=self.bucket, Key="empty", Body=b"")
        self.assertEqual(response["ETag"], f'"{md5_hex(b"")}"')
        got = self.s3.get_object(Bucket=self.bucket, Key="empty")
        self.assertEqual(got["ContentLength"], 0)
        self.assertEqual(got["Body"].read(), b"")

    def test_keys_with_special_characters_round_trip(self):
        keys = ["dir/sub dir/file name.txt", "plus+and=equals&amp", "ünïcödé/日本語.txt",
                "percent%41literal", "question?mark#hash", "tilde~star*(paren)",
                "trailing/slash/", "//double//slash", "dir/../up", "./dot", " lead space",
                "tab\tkey", "emoji😀", "a" * 1024]
        for key in keys:
            with self.subTest(key=key[:40]):
                body = key.encode("utf-8")
                self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
                self.assertEqual(self.body_of(self.bucket, key), body)
                self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key=key)["ContentLength"],
                                 len(body))
        listed = set()
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            listed.update(o["Key"] for o in page.get("Contents", []))
        self.assertTrue(set(keys) <= listed, set(keys) - listed)

    def test_key_of_1025_bytes_is_key_too_long(self):
        key = "é" * 512 + "x"  # 1025 bytes of UTF-8
        self.assertS3Error(400, "KeyTooLongError", "Your key is too long", self.s3.put_object,
                           Bucket=self.bucket, Key=key, Body=b"x")

    def test_metadata_over_2_kb_is_metadata_too_large(self):
        self.assertS3Error(400, "MetadataTooLarge",
                           "Your metadata headers exceed the maximum allowed metadata size",
                           self.s3.put_object, Bucket=self.bucket, Key="fat-meta", Body=b"x",
                           Metadata={"big": "v" * 2100})
        self.assertNoSuchKey(self.bucket, "fat-meta")

    def test_put_if_none_match_star_refuses_to_overwrite(self):
        require(self, S3_IF_NONE_MATCH_ON_PUT)
        self.s3.put_object(Bucket=self.bucket, Key="once", Body=b"1", IfNoneMatch="*")
        self.assertS3Error(412, "PreconditionFailed", PRECONDITION_FAILED, self.s3.put_object,
                           Bucket=self.bucket, Key="once", Body=b"2", IfNoneMatch="*",
                           s3_fields={"Condition": "If-None-Match"})
        self.assertEqual(self.body_of(self.bucket, "once"), b"1")


class ObjectReadTest(S3ApiTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = "reads"
        cls.s3.create_bucket(Bucket=cls.bucket)
        cls.body = ALPHABET
        # Stored without a checksum, so that boto3 checks none on reads: the range tests test
        # ranges; ranges of an object with a checksum are test_ranged_get_of_checksummed_object.
        # (botocore < 1.36 sends a checksum only when asked to, and has no such option.)
        option = "request_checksum_calculation"
        when_required = ({option: "when_required"}
                         if option in botocore.config.Config.OPTION_DEFAULTS else {})
        plain = cls.server.s3_client(**when_required)
        cls.etag = plain.put_object(Bucket=cls.bucket, Key="abc", Body=cls.body,
                                    Metadata={"k": "v"}, ContentType="text/plain")["ETag"]
        cls.last_modified = cls.s3.head_object(Bucket=cls.bucket, Key="abc")["LastModified"]

    def get(self, **kwargs):
        return self.s3.get_object(Bucket=self.bucket, Key="abc", **kwargs)

    def test_range_first_ten_bytes(self):
        response = self.get(Range="bytes=0-9")
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(response["Body"].read(), self.body[:10])
        self.assertEqual(response["ContentRange"], f"bytes 0-9/{len(self.body)}")
        self.assertEqual(response["ContentLength"], 10)

    def test_range_suffix(self):
        response = self.get(Range="bytes=-5")
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(response["Body"].read(), self.body[-5:])
        self.assertEqual(response["ContentRange"], "bytes 31-35/36")

    def test_range_suffix_longer_than_object_is_whole_object(self):
        response = self.get(Range="bytes=-100")
        self.assertEqual(response["Body"].read(), self.body)
        self.assertEqual(response["ContentRange"], "bytes 0-35/36")

    def test_range_open_ended(self):
        response = self.get(Range="bytes=5-")
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(response["Body"].read(), self.body[5:])
        self.assertEqual(response["ContentRange"], "bytes 5-35/36")

    def test_range_end_past_object_is_clamped(self):
        response = self.get(Range="bytes=30-1000")
        self.assertEqual(response["Body"].read(), self.body[30:])
        self.assertEqual(response["ContentRange"], "bytes 30-35/36")

    def test_ranged_get_of_checksummed_object(self):
        # boto3 stores a CRC32 with every upload and asks for checksums on every GET
        # (x-amz-checksum-mode: ENABLED), then validates the body it receives against the
        # x-amz-checksum-* header. S3 sends the whole object's checksum only with the whole
        # object: a range must come without it, or every ranged read by boto3 fails. (Asked for
        # explicitly below: botocore < 1.36 does either only when asked.)
        self.s3.put_object(Bucket=self.bucket, Key="with-crc", Body=self.body,
                           ChecksumAlgorithm="CRC32")
        self.assertIn("ChecksumCRC32",
                      self.s3.head_object(Bucket=self.bucket, Key="with-crc",
                                          ChecksumMode="ENABLED"))
        raw = self.server.s3_request("GET", f"/{self.bucket}/with-crc",
                                     headers={"Range": "bytes=0-9",
                                              "x-amz-checksum-mode": "ENABLED"})
        self.assertEqual((raw.status, raw.body), (206, self.body[:10]))
        self.assertNotIn("x-amz-checksum-crc32", raw.headers)
        response = self.s3.get_object(Bucket=self.bucket, Key="with-crc", Range="bytes=5-",
                                      ChecksumMode="ENABLED")
        self.assertEqual(response["Body"].read(), self.body[5:])
        # The whole object still comes with its checksum, and boto3 validates it.
        whole = self.s3.get_object(Bucket=self.bucket, Key="with-crc", ChecksumMode="ENABLED")
        self.assertEqual(whole["ChecksumCRC32"], checksum_b64("CRC32", self.body))
        self.assertEqual(whole["Body"].read(), self.body)

    def test_range_starting_beyond_size_is_invalid_range(self):
        self.assertS3Error(416, "InvalidRange", "The requested range is not satisfiable", self.get,
                           Range="bytes=36-40",
                           s3_fields={"RangeRequested": "bytes=36-40", "ActualObjectSize": "36"})

    def test_multiple_ranges_are_ignored(self):
        response = self.get(Range="bytes=0-1,4-5")
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(response["Body"].read(), self.body)
        self.assertNotIn("ContentRange", response)

    def test_head_with_range(self):
        response = self.s3.head_object(Bucket=self.bucket, Key="abc", Range="bytes=2-4")
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 206)
        self.assertEqual(response["ContentLength"], 3)

    def test_if_match(self):
        self.assertEqual(self.get(IfMatch=self.etag)["Body"].read(), self.body)
        self.assertEqual(self.get(IfMatch="*")["Body"].read(), self.body)
        self.assertS3Error(412, "PreconditionFailed", PRECONDITION_FAILED, self.get,
                           IfMatch='"0123456789abcdef0123456789abcdef"',
                           s3_fields={"Condition": "If-Match"})
        self.assertS3Error(412, "412", "Precondition Failed", self.s3.head_object,
                           Bucket=self.bucket, Key="abc", IfMatch='"nope"')

    def test_if_none_match(self):
        self.assertS3Error(304, "304", "Not Modified", self.get, IfNoneMatch=self.etag)
        self.assertS3Error(304, "304", "Not Modified", self.s3.head_object, Bucket=self.bucket,
                           Key="abc", IfNoneMatch=self.etag)
        self.assertEqual(self.get(IfNoneMatch='"other"')["Body"].read(), self.body)

    def test_if_modified_since(self):
        self.assertS3Error(304, "304", "Not Modified", self.get,
                           IfModifiedSince=self.last_modified)
        earlier = self.last_modified - datetime.timedelta(days=1)
        self.assertEqual(self.get(IfModifiedSince=earlier)["Body"].read(), self.body)

    def test_if_unmodified_since(self):
        earlier = self.last_modified - datetime.timedelta(days=1)
        self.assertS3Error(412, "PreconditionFailed", PRECONDITION_FAILED, self.get,
                           IfUnmodifiedSince=earlier,
                           s3_fields={"Condition": "If-Unmodified-Since"})
        self.assertEqual(self.get(IfUnmodifiedSince=self.last_modified)["Body"].read(),
                         self.body)

    def test_true_if_match_wins_over_false_if_unmodified_since(self):
        earlier = self.last_modified - datetime.timedelta(days=1)
        response = self.get(IfMatch=self.etag, IfUnmodifiedSince=earlier)
        self.assertEqual(response["Body"].read(), self.body)

    def test_response_overrides(self):
        response = self.get(ResponseContentType="application/x-custom",
                            ResponseContentDisposition="attachment; filename=x.bin",
                            ResponseCacheControl="no-store",
                            ResponseContentEncoding="identity",
                            ResponseContentLanguage="fr",
                            ResponseExpires=datetime.datetime(2030, 1, 2, 3, 4, 5,
                                                              tzinfo=datetime.timezone.utc))
        self.assertEqual(response["ContentType"], "application/x-custom")
        self.assertEqual(response["ContentDisposition"], "attachment; filename=x.bin")
        self.assertEqual(response["CacheControl"], "no-store")
        self.assertEqual(response["ContentEncoding"], "identity")
        self.assertEqual(response["ContentLanguage"], "fr")
        self.assertEqual(headers_of(response)["expires"], "Wed, 02 Jan 2030 03:04:05 GMT")
        self.assertEqual(response["Body"].read(), self.body)
        # Stored headers are untouched.
        self.assertEqual(self.get()["ContentType"], "text/plain")

    def test_head_object(self):
        response = self.s3.head_object(Bucket=self.bucket, Key="abc")
        self.assertEqual(response["ContentLength"], len(self.body))
        self.assertEqual(response["ETag"], self.etag)
        self.assertEqual(response["Metadata"], {"k": "v"})
        self.assertEqual(response["AcceptRanges"], "bytes")
        self.assertEqual(self.etag, f'"{md5_hex(self.body)}"')
        self.assertS3Error(404, "404", "Not Found", self.s3.head_object, Bucket=self.bucket,
                           Key="missing")

    def test_get_missing_key_is_no_such_key(self):
        self.assertNoSuchKey(self.bucket, "missing/key")

    def test_get_part_number_of_a_simple_object(self):
        response = self.get(PartNumber=1)
        self.assertEqual(response["Body"].read(), self.body)
        self.assertS3Error(416, "InvalidPartNumber", "The requested partnumber is not satisfiable",
                           self.get, PartNumber=2,
                           s3_fields={"PartNumberRequested": "2", "ActualPartCount": "1"})


class ObjectDeleteCopyTagTest(S3ApiTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = "objects"
        cls.s3.create_bucket(Bucket=cls.bucket)

    def test_delete_object_is_idempotent_204(self):
        self.s3.put_object(Bucket=self.bucket, Key="del-me", Body=b"x")
        for _ in range(2):
            response = self.s3.delete_object(Bucket=self.bucket, Key="del-me")
            self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertNoSuchKey(self.bucket, "del-me")

    def test_delete_objects_reports_each_key(self):
        keys = ["multi/a", "multi/b c", "multi/ü", "multi/never-existed"]
        for key in keys[:3]:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"x")
        self.s3.put_object(Bucket=self.bucket, Key="multi/stays", Body=b"x")
        response = self.s3.delete_objects(
            Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys]})
        self.assertEqual(sorted(d["Key"] for d in response["Deleted"]), sorted(keys))
        self.assertNotIn("Errors", response)
        remaining = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="multi/")
        self.assertEqual([o["Key"] for o in remaining["Contents"]], ["multi/stays"])

    def test_delete_objects_quiet_reports_nothing_but_deletes(self):
        keys = ["quiet/1", "quiet/2", "quiet/3"]
        for key in keys:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"x")
        response = self.s3.delete_objects(
            Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertNotIn("Deleted", response)
        self.assertNotIn("Errors", response)
        remaining = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="quiet/")
        self.assertEqual(remaining["KeyCount"], 0)

    def test_copy_with_copy_directive_keeps_metadata(self):
        self.s3.put_object(Bucket=self.bucket, Key="src-copy", Body=b"copy me",
                           Metadata={"origin": "src"}, ContentType="text/x-src")
        response = self.s3.copy_object(Bucket=self.bucket, Key="dst-copy",
                                       CopySource={"Bucket": self.bucket, "Key": "src-copy"},
                                       Metadata={"ignored": "yes"})
        self.assertEqual(response["CopyObjectResult"]["ETag"], f'"{md5_hex(b"copy me")}"')
        got = self.s3.get_object(Bucket=self.bucket, Key="dst-copy")
        self.assertEqual(got["Body"].read(), b"copy me")
        self.assertEqual(got["Metadata"], {"origin": "src"})
        self.assertEqual(got["ContentType"], "text/x-src")

    def test_copy_with_replace_directive_replaces_metadata(self):
        self.s3.put_object(Bucket=self.bucket, Key="src-replace", Body=b"replace me",
                           Metadata={"origin": "src"}, ContentType="text/x-src")
        self.s3.copy_object(Bucket=self.bucket, Key="dst-replace",
                            CopySource=f"{self.bucket}/src-replace", MetadataDirective="REPLACE",
                            Metadata={"fresh": "1"}, ContentType="text/x-new")
        got = self.s3.head_object(Bucket=self.bucket, Key="dst-replace")
        self.assertEqual(got["Metadata"], {"fresh": "1"})
        self.assertEqual(got["ContentType"], "text/x-new")
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="src-replace")["Metadata"],
                         {"origin": "src"})

    def test_copy_across_buckets_and_keys_with_special_characters(self):
        other = self.make_bucket("copy-target")
        key = "dir with space/ünï+code.txt"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b"special")
        self.s3.copy_object(Bucket=other, Key=key, CopySource={"Bucket": self.bucket, "Key": key})
        self.assertEqual(self.body_of(other, key), b"special")

    def test_copy_source_conditions(self):
        self.s3.put_object(Bucket=self.bucket, Key="cond-src", Body=b"conditional")
        head = self.s3.head_object(Bucket=self.bucket, Key="cond-src")
        etag, modified = head["ETag"], head["LastModified"]
        earlier = modified - datetime.timedelta(days=1)
        source = {"Bucket": self.bucket, "Key": "cond-src"}
        failing = [{"CopySourceIfMatch": '"00000000000000000000000000000000"'},
                   {"CopySourceIfNoneMatch": etag},
                   {"CopySourceIfModifiedSince": modified},
                   {"CopySourceIfUnmodifiedSince": earlier}]
        for condition in failing:
            with self.subTest(condition=list(condition)[0]):
                self.assertS3Error(412, "PreconditionFailed", PRECONDITION_FAILED,
                                   self.s3.copy_object, Bucket=self.bucket, Key="cond-dst",
                                   CopySource=source, **condition)
                self.assertNoSuchKey(self.bucket, "cond-dst")
        passing = [{"CopySourceIfMatch": etag}, {"CopySourceIfNoneMatch": '"other"'},
                   {"CopySourceIfModifiedSince": earlier},
                   {"CopySourceIfUnmodifiedSince": modified}]
        for condition in passing:
            with self.subTest(condition=list(condition)[0]):
                self.s3.copy_object(Bucket=self.bucket, Key="cond-ok", CopySource=source,
                                    **condition)
                self.assertEqual(self.body_of(self.bucket, "cond-ok"), b"conditional")

    def test_copy_to_itself_without_replace_is_invalid_request(self):
        self.s3.put_object(Bucket=self.bucket, Key="self", Body=b"me", Metadata={"a": "1"})
        self.assertS3Error(
            400, "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself "
            "without changing the object's metadata, storage class, website redirect location or "
            "encryption attributes.",
            self.s3.copy_object, Bucket=self.bucket, Key="self",
            CopySource={"Bucket": self.bucket, "Key": "self"})
        self.s3.copy_object(Bucket=self.bucket, Key="self",
                            CopySource={"Bucket": self.bucket, "Key": "self"},
                            MetadataDirective="REPLACE", Metadata={"a": "2"})
        got = self.s3.get_object(Bucket=self.bucket, Key="self")
        self.assertEqual(got["Metadata"], {"a": "2"})
        self.assertEqual(got["Body"].read(), b"me")

    def test_copy_of_missing_source_is_no_such_key(self):
        self.assertS3Error(404, "NoSuchKey", NO_SUCH_KEY, self.s3.copy_object,
                           Bucket=self.bucket, Key="from-nothing",
                           CopySource={"Bucket": self.bucket, "Key": "nothing"})

    def test_object_tagging(self):
        self.s3.put_object(Bucket=self.bucket, Key="tagged", Body=b"t",
                           Tagging="project=hangar&tier=gold")
        tags = self.s3.get_object_tagging(Bucket=self.bucket, Key="tagged")["TagSet"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in tags),
                         [("project", "hangar"), ("tier", "gold")])
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="tagged")["TagCount"], 2)
        self.s3.put_object_tagging(Bucket=self.bucket, Key="tagged",
                                   Tagging={"TagSet": [{"Key": "only", "Value": "one"}]})
        self.assertEqual(self.s3.get_object_tagging(Bucket=self.bucket, Key="tagged")["TagSet"],
                         [{"Key": "only", "Value": "one"}])
        response = self.s3.delete_object_tagging(Bucket=self.bucket, Key="tagged")
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.s3.get_object_tagging(Bucket=self.bucket, Key="tagged")["TagSet"],
                         [])
        self.assertEqual(self.body_of(self.bucket, "tagged"), b"t")
        self.assertS3Error(404, "NoSuchKey", NO_SUCH_KEY, self.s3.get_object_tagging,
                           Bucket=self.bucket, Key="untagged-missing")

    def test_get_object_attributes_of_a_simple_object(self):
        body = b"attributes" * 10
        self.s3.put_object(Bucket=self.bucket, Key="attrs", Body=body)
        response = self.s3.get_object_attributes(
            Bucket=self.bucket, Key="attrs",
            ObjectAttributes=["ETag", "ObjectSize", "StorageClass"])
        self.assertEqual(response["ETag"], md5_hex(body))  # without quotes, as AWS
        self.assertEqual(response["ObjectSize"], len(body))
        self.assertEqual(response["StorageClass"], "STANDARD")
        self.assertNotIn("ObjectParts", response)

    def multipart_object(self, key, parts, **create):
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key,
                                                 **create)["UploadId"]
        done = []
        algorithm = ({"ChecksumAlgorithm": create["ChecksumAlgorithm"]}
                     if "ChecksumAlgorithm" in create else {})
        for number, data in enumerate(parts, 1):
            response = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload,
                                           PartNumber=number, Body=data, **algorithm)
            part = {"PartNumber": number, "ETag": response["ETag"]}
            if "ChecksumCRC32" in response:
                part["ChecksumCRC32"] = response["ChecksumCRC32"]
            done.append(part)
        self.s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload,
                                          MultipartUpload={"Parts": done})
        return done

    def test_get_object_attributes_of_a_multipart_object(self):
        parts = [os.urandom(5 * MIB), b"tail"]
        self.multipart_object("mp-attrs", parts)
        response = self.s3.get_object_attributes(
            Bucket=self.bucket, Key="mp-attrs",
            ObjectAttributes=["ETag", "ObjectSize", "StorageClass", "ObjectParts"])
        self.assertEqual(response["ETag"], multipart_etag(parts).strip('"'))
        self.assertEqual(response["ObjectSize"], sum(map(len, parts)))
        self.assertEqual(response["StorageClass"], "STANDARD")
        # The model's wire name for ObjectParts.TotalPartsCount is <PartsCount>.
        self.assertEqual(response["ObjectParts"].get("TotalPartsCount"), 2,
                         response["ObjectParts"])

    def test_get_object_attributes_lists_no_parts_without_a_checksum(self):
        # General purpose buckets return no Part elements for an object without an additional
        # checksum (botocore model, GetObjectAttributesParts.Parts).
        self.multipart_object("mp-attrs-no-sum", [os.urandom(5 * MIB), b"tail"])
        response = self.s3.get_object_attributes(Bucket=self.bucket, Key="mp-attrs-no-sum",
                                                 ObjectAttributes=["ObjectParts"])
        self.assertIn("ObjectParts", response)
        self.assertNotIn("Parts", response["ObjectParts"])

    def test_get_object_attributes_pages_the_parts_of_a_checksummed_multipart_object(self):
        parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"tail"]
        done = self.multipart_object("mp-crc", parts, ChecksumAlgorithm="CRC32")
        self.assertEqual([p["ChecksumCRC32"] for p in done],
                         [checksum_b64("CRC32", data) for data in parts])
        response = self.s3.get_object_attributes(Bucket=self.bucket, Key="mp-crc",
                                                 ObjectAttributes=["ObjectParts"], MaxParts=2)
        object_parts = response["ObjectParts"]
        self.assertEqual([(p["PartNumber"], p["Size"], p["ChecksumCRC32"])
                          for p in object_parts["Parts"]],
                         [(1, 5 * MIB, done[0]["ChecksumCRC32"]),
                          (2, 5 * MIB, done[1]["ChecksumCRC32"])])
        self.assertEqual(object_parts["MaxParts"], 2)
        self.assertTrue(object_parts["IsTruncated"])
        self.assertEqual(object_parts["NextPartNumberMarker"], 2)
        rest = self.s3.get_object_attributes(Bucket=self.bucket, Key="mp-crc",
                                             ObjectAttributes=["ObjectParts"],
                                             PartNumberMarker=2)["ObjectParts"]
        self.assertEqual([p["PartNumber"] for p in rest["Parts"]], [3])
        self.assertFalse(rest["IsTruncated"])
        self.assertEqual(rest.get("TotalPartsCount"), 3, rest)


class ListingTest(S3ApiTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = "listing"
        cls.s3.create_bucket(Bucket=cls.bucket)
        cls.page_keys = [f"page/k{i:03d}" for i in range(250)]
        cls.tree_keys = ["tree/dir1/a", "tree/dir1/b", "tree/dir2/c", "tree/top1", "tree/top2",
                         "tree/dir3/deep/d"]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda k: cls.s3.put_object(Bucket=cls.bucket, Key=k, Body=k.encode()),
                          cls.page_keys + cls.tree_keys))

    def test_v2_pages_250_keys_with_continuation_tokens(self):
        seen, token, pages = [], None, 0
        while True:
            kwargs = {"ContinuationToken": token} if token else {}
            page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="page/", MaxKeys=100,
                                           **kwargs)
            pages += 1
            keys = [o["Key"] for o in page["Contents"]]
            self.assertEqual(page["KeyCount"], len(keys))
            self.assertEqual(page["MaxKeys"], 100)
            if token:
                self.assertEqual(page["ContinuationToken"], token)
            seen += keys
            if not page["IsTruncated"]:
                self.assertNotIn("NextContinuationToken", page)
                break
            self.assertEqual(len(keys), 100)
            token = page["NextContinuationToken"]
            self.assertNotIn(token, self.page_keys)  # opaque, not a key
        self.assertEqual(pages, 3)
        self.assertEqual(seen, self.page_keys)

    def test_v2_start_after(self):
        page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="page/", StartAfter="page/k099",
                                       MaxKeys=5)
        self.assertEqual([o["Key"] for o in page["Contents"]], self.page_keys[100:105])
        self.assertEqual(page["StartAfter"], "page/k099")
        self.assertTrue(page["IsTruncated"])

    def test_v2_delimiter_rolls_up_common_prefixes(self):
        page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="tree/", Delimiter="/")
        self.assertEqual([p["Prefix"] for p in page["CommonPrefixes"]],
                         ["tree/dir1/", "tree/dir2/", "tree/dir3/"])
        self.assertEqual([o["Key"] for o in page["Contents"]], ["tree/top1", "tree/top2"])
        self.assertEqual(page["KeyCount"], 5)
        self.assertEqual(page["Delimiter"], "/")
        self.assertFalse(page["IsTruncated"])
        top = self.s3.list_objects_v2(Bucket=self.bucket, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in top["CommonPrefixes"]], ["page/", "tree/"])
        self.assertNotIn("Contents", top)

    def test_v2_common_prefixes_count_toward_max_keys(self):
        first = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="tree/", Delimiter="/",
                                        MaxKeys=3)
        self.assertEqual(first["KeyCount"], 3)
        self.assertTrue(first["IsTruncated"])
        self.assertEqual([p["Prefix"] for p in first["CommonPrefixes"]],
                         ["tree/dir1/", "tree/dir2/", "tree/dir3/"])
        self.assertNotIn("Contents", first)
        second = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="tree/", Delimiter="/",
                                         MaxKeys=3,
                                         ContinuationToken=first["NextContinuationToken"])
        self.assertEqual([o["Key"] for o in second["Contents"]], ["tree/top1", "tree/top2"])
        self.assertNotIn("CommonPrefixes", second)
        self.assertFalse(second["IsTruncated"])

    def test_max_keys_zero_lists_nothing_and_is_not_truncated(self):
        # Ceph s3-tests test_bucket_list(v2)_maxkeys_zero: no keys, IsTruncated false. A
        # truncated answer would need a NextContinuationToken, and an empty one makes clients
        # page forever.
        for call in (self.s3.list_objects_v2, self.s3.list_objects):
            with self.subTest(operation=call.__name__):
                page = call(Bucket=self.bucket, Prefix="page/", MaxKeys=0)
                self.assertNotIn("Contents", page)
                self.assertFalse(page["IsTruncated"], page)
                self.assertFalse(page.get("NextContinuationToken"), page)

    def test_v2_fetch_owner(self):
        without = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="tree/", MaxKeys=1)
        self.assertNotIn("Owner", without["Contents"][0])
        with_owner = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="tree/", MaxKeys=1,
                                             FetchOwner=True)
        owner = with_owner["Contents"][0]["Owner"]
        self.assertRegex(owner["ID"], r"^[0-9a-f]{64}$")
        self.assertEqual(owner["ID"], self.s3.list_buckets()["Owner"]["ID"])

    def test_v2_contents_fields(self):
        page = self.s3.list_objects_v2(Bucket=self.bucket, Prefix="tree/top1")
        (obj,) = page["Contents"]
        self.assertEqual(obj["Key"], "tree/top1")
        self.assertEqual(obj["Size"], len(b"tree/top1"))
        self.assertEqual(obj["ETag"], f'"{md5_hex(b"tree/top1")}"')
        self.assertEqual(obj["StorageClass"], "STANDARD")
        self.assertIsInstance(obj["LastModified"], datetime.datetime)

    def test_v1_pages_with_marker(self):
        seen, marker = [], ""
        while True:
            page = self.s3.list_objects(Bucket=self.bucket, Prefix="page/", MaxKeys=100,
                                        Marker=marker)
            self.assertEqual(page.get("Marker", ""), marker)
            keys = [o["Key"] for o in page["Contents"]]
            seen += keys
            if not page["IsTruncated"]:
                break
            # Without a delimiter AWS sends no NextMarker: the last key is the next marker.
            self.assertNotIn("NextMarker", page)
            marker = keys[-1]
        self.assertEqual(seen, self.page_keys)

    def test_v1_next_marker_with_delimiter(self):
        page = self.s3.list_objects(Bucket=self.bucket, Prefix="tree/", Delimiter="/", MaxKeys=2)
        self.assertTrue(page["IsTruncated"])
        self.assertEqual([p["Prefix"] for p in page["CommonPrefixes"]],
                         ["tree/dir1/", "tree/dir2/"])
        self.assertEqual(page["NextMarker"], "tree/dir2/")
        rest = self.s3.list_objects(Bucket=self.bucket, Prefix="tree/", Delimiter="/",
                                    Marker=page["NextMarker"])
        self.assertEqual([p["Prefix"] for p in rest["CommonPrefixes"]], ["tree/dir3/"])
        self.assertEqual([o["Key"] for o in rest["Contents"]], ["tree/top1", "tree/top2"])
        self.assertFalse(rest["IsTruncated"])

    def test_utf8_binary_key_order(self):
        bucket = self.make_bucket("order")
        for key in ("z", "é", "a", "B", "~", "0"):
            self.s3.put_object(Bucket=bucket, Key=key, Body=b"")
        v2 = [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket)["Contents"]]
        v1 = [o["Key"] for o in self.s3.list_objects(Bucket=bucket)["Contents"]]
        self.assertEqual(v2, ["0", "B", "a", "z", "~", "é"])
        self.assertEqual(v1, v2)

    def test_encoding_type_url(self):
        bucket = self.make_bucket("encoded")
        keys = ["with space.txt", "plus+sign", "ünï/çødé", "amp&lt<gt>", "per%cent"]
        for key in keys:
            self.s3.put_object(Bucket=bucket, Key=key, Body=b"")
        # boto3 asks for encoding-type=url and decodes what comes back.
        page = self.s3.list_objects_v2(Bucket=bucket)
        self.assertEqual(page["EncodingType"], "url")
        self.assertEqual(sorted(o["Key"] for o in page["Contents"]), sorted(keys))
        page = self.s3.list_objects_v2(Bucket=bucket, Prefix="ünï/", Delimiter="/")
        self.assertEqual(page["Prefix"], "ünï/")
        self.assertEqual([o["Key"] for o in page["Contents"]], ["ünï/çødé"])
        page = self.s3.list_objects_v2(Bucket=bucket, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in page["CommonPrefixes"]], ["ünï/"])
        # On the wire: every key URL-encoded, so XML-special and non-ASCII bytes never appear raw.
        raw = self.server.s3_request("GET", f"/{bucket}", query="list-type=2&encoding-type=url")
        self.assertEqual(raw.status, 200, raw.body)
        wire_keys = re.findall(rb"<Key>(.*?)</Key>", raw.body)
        self.assertEqual(sorted(urllib.parse.unquote_plus(k.decode("ascii")) for k in wire_keys),
                         sorted(keys))
        self.assertIn(b"<Key>plus%2Bsign</Key>", raw.body)
        self.assertIn(b"<Key>per%25cent</Key>", raw.body)
        self.assertIn(b"<EncodingType>url</EncodingType>", raw.body)
        # Without encoding-type the keys are sent as they are (XML-escaped).
        raw = self.server.s3_request("GET", f"/{bucket}", query="list-type=2")
        self.assertIn("<Key>ünï/çødé</Key>".encode(), raw.body)
        self.assertIn(b"<Key>amp&amp;lt&lt;gt&gt;</Key>", raw.body)
        self.assertNotIn(b"EncodingType", raw.body)

    def test_invalid_encoding_type_is_invalid_argument(self):
        raw = self.server.s3_request("GET", f"/{self.bucket}",
                                     query="list-type=2&encoding-type=xml")
        self.assertEqual(raw.status, 400, raw.body)
        self.assertIn(b"<Code>InvalidArgument</Code>", raw.body)
        self.assertIn(b"<Message>Invalid Encoding Method specified in Request</Message>", raw.body)

    def test_paginator_over_everything(self):
        keys = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, PaginationConfig={"PageSize": 70}):
            keys += [o["Key"] for o in page.get("Contents", [])]
        self.assertEqual(keys, sorted(self.page_keys + self.tree_keys))


class MultipartTest(S3ApiTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = "multipart"
        cls.s3.create_bucket(Bucket=cls.bucket)

    def start(self, key, **kwargs):
        return self.s3.create_multipart_upload(Bucket=self.bucket, Key=key, **kwargs)["UploadId"]

    def part(self, key, upload, number, data):
        etag = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload,
                                   PartNumber=number, Body=data)["ETag"]
        self.assertEqual(etag, f'"{md5_hex(data)}"')
        return {"PartNumber": number, "ETag": etag}

    def complete(self, key, upload, parts):
        return self.s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload,
                                                 MultipartUpload={"Parts": parts})

    def test_complete_gives_md5_of_md5s_etag_and_the_concatenated_bytes(self):
        data = [os.urandom(5 * MIB), os.urandom(5 * MIB + 17), b"last bit"]
        upload = self.start("mp/three", Metadata={"kind": "multipart"}, ContentType="video/mp4")
        initiated = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix="mp/three")
        self.assertEqual([u["UploadId"] for u in initiated["Uploads"]], [upload])
        parts = [self.part("mp/three", upload, n, d) for n, d in enumerate(data, 1)]
        response = self.complete("mp/three", upload, parts)
        self.assertEqual(response["ETag"], multipart_etag(data))
        self.assertEqual(response["Bucket"], self.bucket)
        self.assertEqual(response["Key"], "mp/three")
        got = self.s3.get_object(Bucket=self.bucket, Key="mp/three")
        self.assertEqual(got["ETag"], multipart_etag(data))
        self.assertEqual(got["ContentLength"], sum(map(len, data)))
        self.assertEqual(got["Metadata"], {"kind": "multipart"})
        self.assertEqual(got["ContentType"], "video/mp4")
        self.assertEqual(got["Body"].read(), b"".join(data))
        # One part of it, by number.
        second = self.s3.get_object(Bucket=self.bucket, Key="mp/three", PartNumber=2)
        self.assertEqual(second["PartsCount"], 3)
        self.assertEqual(second["Body"].read(), data[1])
        # Completed: the upload is gone.
        self.assertNotIn("Uploads",
                         self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix="mp/three"))
        self.assertS3Error(404, "NoSuchUpload", NO_SUCH_UPLOAD, self.s3.list_parts,
                           Bucket=self.bucket, Key="mp/three", UploadId=upload)

    def test_ranges_across_part_boundaries(self):
        data = [os.urandom(5 * MIB), os.urandom(5 * MIB + 17), os.urandom(300 * 1024)]
        upload = self.start("mp/ranges")
        parts = [self.part("mp/ranges", upload, n, d) for n, d in enumerate(data, 1)]
        self.complete("mp/ranges", upload, parts)
        whole = b"".join(data)
        first_end, second_end = len(data[0]), len(data[0]) + len(data[1])
        for label, first, last in (
                ("small across 1|2", first_end - 10, first_end + 9),
                ("large across 1|2", first_end - 200 * 1024, first_end + 200 * 1024),
                ("all of part 2", first_end, second_end - 1),
                ("across 2|3 to the end", second_end - 5, len(whole) - 1),
                ("across all three", 1, len(whole) - 2)):
            with self.subTest(range=label):
                response = self.s3.get_object(Bucket=self.bucket, Key="mp/ranges",
                                              Range=f"bytes={first}-{last}")
                got = response["Body"].read()
                self.assertEqual(len(got), last - first + 1)
                self.assertTrue(got == whole[first:last + 1], "bytes differ")
                self.assertEqual(response["ContentRange"], f"bytes {first}-{last}/{len(whole)}")
        suffix = self.s3.get_object(Bucket=self.bucket, Key="mp/ranges",
                                    Range=f"bytes=-{len(data[2]) + 3}")["Body"].read()
        self.assertTrue(suffix == whole[-(len(data[2]) + 3):], "suffix bytes differ")
        # Copies read the same segments.
        self.s3.copy_object(Bucket=self.bucket, Key="mp/ranges-copy",
                            CopySource={"Bucket": self.bucket, "Key": "mp/ranges"})
        copied = self.s3.get_object(Bucket=self.bucket, Key="mp/ranges-copy")["Body"].read()
        self.assertTrue(copied == whole, "copy differs")
        target = self.start("mp/part-copy-across")
        part = self.s3.upload_part_copy(
            Bucket=self.bucket, Key="mp/part-copy-across", UploadId=target, PartNumber=1,
            CopySource={"Bucket": self.bucket, "Key": "mp/ranges"},
            CopySourceRange=f"bytes={first_end - 100}-{second_end + 99}")
        self.complete("mp/part-copy-across", target,
                      [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}])
        got = self.body_of(self.bucket, "mp/part-copy-across")
        self.assertTrue(got == whole[first_end - 100:second_end + 100], "part copy differs")

    def test_empty_last_part(self):
        data = [os.urandom(5 * MIB), b""]
        upload = self.start("mp/empty-last")
        parts = [self.part("mp/empty-last", upload, n, d) for n, d in enumerate(data, 1)]
        response = self.complete("mp/empty-last", upload, parts)
        self.assertEqual(response["ETag"], multipart_etag(data))
        self.assertTrue(self.body_of(self.bucket, "mp/empty-last") == data[0])

    def test_reuploading_a_part_replaces_it(self):
        upload = self.start("mp/replace")
        self.part("mp/replace", upload, 1, b"old")
        new = self.part("mp/replace", upload, 1, b"new!")
        listed = self.s3.list_parts(Bucket=self.bucket, Key="mp/replace", UploadId=upload)
        self.assertEqual([(p["PartNumber"], p["ETag"], p["Size"]) for p in listed["Parts"]],
                         [(1, new["ETag"], 4)])
        self.complete("mp/replace", upload, [new])
        self.assertEqual(self.body_of(self.bucket, "mp/replace"), b"new!")

    def test_upload_part_copy_with_range(self):
        source = os.urandom(6 * MIB)
        self.s3.put_object(Bucket=self.bucket, Key="mp/copy-source", Body=source)
        upload = self.start("mp/copied")
        first = self.s3.upload_part_copy(
            Bucket=self.bucket, Key="mp/copied", UploadId=upload, PartNumber=1,
            CopySource={"Bucket": self.bucket, "Key": "mp/copy-source"},
            CopySourceRange=f"bytes=0-{5 * MIB - 1}")
        self.assertEqual(first["CopyPartResult"]["ETag"], f'"{md5_hex(source[:5 * MIB])}"')
        second = self.s3.upload_part_copy(
            Bucket=self.bucket, Key="mp/copied", UploadId=upload, PartNumber=2,
            CopySource={"Bucket": self.bucket, "Key": "mp/copy-source"},
            CopySourceRange="bytes=100-199")
        parts = [{"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
                 {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]}]
        response = self.complete("mp/copied", upload, parts)
        expected = [source[:5 * MIB], source[100:200]]
        self.assertEqual(response["ETag"], multipart_etag(expected))
        self.assertEqual(self.body_of(self.bucket, "mp/copied"), b"".join(expected))

    def test_upload_part_copy_of_whole_object(self):
        self.s3.put_object(Bucket=self.bucket, Key="mp/small-source", Body=b"whole source")
        upload = self.start("mp/whole")
        copied = self.s3.upload_part_copy(Bucket=self.bucket, Key="mp/whole", UploadId=upload,
                                          PartNumber=1,
                                          CopySource=f"{self.bucket}/mp/small-source")
        self.complete("mp/whole", upload,
                      [{"PartNumber": 1, "ETag": copied["CopyPartResult"]["ETag"]}])
        self.assertEqual(self.body_of(self.bucket, "mp/whole"), b"whole source")

    def test_parts_out_of_order_are_invalid_part_order(self):
        upload = self.start("mp/order")
        parts = [self.part("mp/order", upload, n, os.urandom(5 * MIB)) for n in (1, 2)]
        self.assertS3Error(
            400, "InvalidPartOrder",
            "The list of parts was not in ascending order. Parts must be ordered by part number.",
            self.complete, "mp/order", upload, parts[::-1], s3_fields={"UploadId": upload})
        self.assertNoSuchKey(self.bucket, "mp/order")
        # The upload survives a refused Complete.
        self.complete("mp/order", upload, parts)
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="mp/order")["ContentLength"],
                         10 * MIB)

    def test_wrong_etag_is_invalid_part(self):
        upload = self.start("mp/wrong-etag")
        self.part("mp/wrong-etag", upload, 1, b"data")
        wrong = '"' + "0" * 32 + '"'
        self.assertS3Error(
            400, "InvalidPart",
            "One or more of the specified parts could not be found.  The part may not have been "
            "uploaded, or the specified entity tag may not match the part's entity tag.",
            self.complete, "mp/wrong-etag", upload, [{"PartNumber": 1, "ETag": wrong}],
            s3_fields={"UploadId": upload, "PartNumber": "1", "ETag": "0" * 32})
        self.assertS3Error(400, "InvalidPart", None, self.complete, "mp/wrong-etag", upload,
                           [{"PartNumber": 2, "ETag": f'"{md5_hex(b"data")}"'}])
        self.assertNoSuchKey(self.bucket, "mp/wrong-etag")

    def test_small_non_last_part_is_entity_too_small(self):
        upload = self.start("mp/too-small")
        small_data = os.urandom(MIB)
        small = self.part("mp/too-small", upload, 1, small_data)
        last = self.part("mp/too-small", upload, 2, b"end")
        self.assertS3Error(400, "EntityTooSmall",
                           "Your proposed upload is smaller than the minimum allowed size",
                           self.complete, "mp/too-small", upload, [small, last],
                           s3_fields={"PartNumber": "1", "ProposedSize": str(MIB),
                                      "MinSizeAllowed": "5242880",
                                      "ETag": small["ETag"].strip('"')})
        self.assertNoSuchKey(self.bucket, "mp/too-small")
        # The last part alone may be small.
        self.complete("mp/too-small", upload, [small])
        self.assertEqual(self.s3.head_object(Bucket=self.bucket, Key="mp/too-small")["ETag"],
                         multipart_etag([small_data]))

    def test_empty_part_list_is_invalid_request(self):
        upload = self.start("mp/empty-list")
        self.part("mp/empty-list", upload, 1, b"x")
        self.assertS3Error(400, "InvalidRequest", "You must specify at least one part",
                           self.complete, "mp/empty-list", upload, [])
        # No CompleteMultipartUpload element at all is not valid XML for the operation.
        self.assertS3Error(400, "MalformedXML", MALFORMED_XML,
                           self.s3.complete_multipart_upload, Bucket=self.bucket,
                           Key="mp/empty-list", UploadId=upload)

    def test_abort_then_no_such_upload(self):
        upload = self.start("mp/abort")
        self.part("mp/abort", upload, 1, b"doomed")
        response = self.s3.abort_multipart_upload(Bucket=self.bucket, Key="mp/abort",
                                                  UploadId=upload)
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 204)
        fields = {"UploadId": upload}
        self.assertS3Error(404, "NoSuchUpload", NO_SUCH_UPLOAD, self.s3.upload_part,
                           Bucket=self.bucket, Key="mp/abort", UploadId=upload, PartNumber=2,
                           Body=b"late", s3_fields=fields)
        self.assertS3Error(404, "NoSuchUpload", NO_SUCH_UPLOAD, self.s3.list_parts,
                           Bucket=self.bucket, Key="mp/abort", UploadId=upload, s3_fields=fields)
        self.assertS3Error(404, "NoSuchUpload", NO_SUCH_UPLOAD, self.complete, "mp/abort", upload,
                           [{"PartNumber": 1, "ETag": f'"{md5_hex(b"doomed")}"'}],
                           s3_fields=fields)
        self.assertS3Error(404, "NoSuchUpload", NO_SUCH_UPLOAD, self.s3.abort_multipart_upload,
                           Bucket=self.bucket, Key="mp/abort", UploadId=upload, s3_fields=fields)
        self.assertNoSuchKey(self.bucket, "mp/abort")

    def test_unknown_upload_id_is_no_such_upload(self):
        self.assertS3Error(404, "NoSuchUpload", NO_SUCH_UPLOAD, self.s3.upload_part,
                           Bucket=self.bucket, Key="mp/x", UploadId="not-an-upload",
                           PartNumber=1, Body=b"x", s3_fields={"UploadId": "not-an-upload"})
        # An upload id belongs to its key.
        upload = self.start("mp/owner-key")
        self.assertS3Error(404, "NoSuchUpload", NO_SUCH_UPLOAD, self.s3.list_parts,
                           Bucket=self.bucket, Key="mp/other-key", UploadId=upload)

    def test_list_parts_pages(self):
        upload = self.start("mp/list-parts")
        etags = {n: self.part("mp/list-parts", upload, n, bytes([n]) * n)["ETag"]
                 for n in range(1, 6)}
        pages, marker = [], 0
        while True:
            page = self.s3.list_parts(Bucket=self.bucket, Key="mp/list-parts", UploadId=upload,
                                      MaxParts=2, PartNumberMarker=marker)
            pages.append([p["PartNumber"] for p in page["Parts"]])
            for p in page["Parts"]:
                self.assertEqual(p["ETag"], etags[p["PartNumber"]])
                self.assertEqual(p["Size"], p["PartNumber"])
            self.assertEqual(page["MaxParts"], 2)
            self.assertEqual(page["UploadId"], upload)
            if not page["IsTruncated"]:
                break
            self.assertEqual(page["NextPartNumberMarker"], pages[-1][-1])
            marker = page["NextPartNumberMarker"]
        self.assertEqual(pages, [[1, 2], [3, 4], [5]])
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key="mp/list-parts", UploadId=upload)

    def test_list_multipart_uploads(self):
        uploads = {key: self.start(key) for key in ("up/a", "up/b", "up/c", "up/dir/d")}
        everything = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix="up/")
        self.assertEqual([(u["Key"], u["UploadId"]) for u in everything["Uploads"]],
                         sorted(uploads.items()))
        self.assertFalse(everything["IsTruncated"])
        first = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix="up/", MaxUploads=2)
        self.assertEqual([u["Key"] for u in first["Uploads"]], ["up/a", "up/b"])
        self.assertTrue(first["IsTruncated"])
        self.assertEqual(first["NextKeyMarker"], "up/b")
        self.assertEqual(first["NextUploadIdMarker"], uploads["up/b"])
        rest = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix="up/",
                                              KeyMarker=first["NextKeyMarker"],
                                              UploadIdMarker=first["NextUploadIdMarker"])
        self.assertEqual([u["Key"] for u in rest["Uploads"]], ["up/c", "up/dir/d"])
        rolled = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix="up/", Delimiter="/")
        self.assertEqual([u["Key"] for u in rolled["Uploads"]], ["up/a", "up/b", "up/c"])
        self.assertEqual([p["Prefix"] for p in rolled["CommonPrefixes"]], ["up/dir/"])
        self.s3.abort_multipart_upload(Bucket=self.bucket, Key="up/b", UploadId=uploads["up/b"])
        after = self.s3.list_multipart_uploads(Bucket=self.bucket, Prefix="up/")
        self.assertEqual([u["Key"] for u in after["Uploads"]], ["up/a", "up/c", "up/dir/d"])
        for key in ("up/a", "up/c", "up/dir/d"):
            self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=uploads[key])

    def test_transfer_manager_multipart_round_trip(self):
        data = os.urandom(23 * MIB)
        config = boto3.s3.transfer.TransferConfig(multipart_threshold=5 * MIB,
                                                  multipart_chunksize=5 * MIB, max_concurrency=4)
        self.s3.upload_fileobj(io.BytesIO(data), self.bucket, "mp/transfer", Config=config)
        head = self.s3.head_object(Bucket=self.bucket, Key="mp/transfer")
        chunks = [data[i:i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
        self.assertEqual(len(chunks), 5)
        self.assertEqual(head["ETag"], multipart_etag(chunks))
        self.assertEqual(head["ContentLength"], len(data))
        out = io.BytesIO()
        self.s3.download_fileobj(self.bucket, "mp/transfer", out, Config=config)
        self.assertEqual(hashlib.sha256(out.getvalue()).digest(), hashlib.sha256(data).digest())


class PresignedUrlTest(S3ApiTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = "presigned"
        cls.s3.create_bucket(Bucket=cls.bucket)
        cls.s3.put_object(Bucket=cls.bucket, Key="doc.txt", Body=b"presigned content")
        # Query-string SigV4 ("s3v4"); botocore would otherwise presign with SigV2 here.
        cls.presigner = cls.server.s3_client(signature_version="s3v4")

    def presign(self, method, key, expires=300, **params):
        return self.presigner.generate_presigned_url(
            method, Params={"Bucket": self.bucket, "Key": key, **params}, ExpiresIn=expires)

    def fetch(self, url, method="GET", data=None, headers=None):
        """(status, headers, body) of a plain urllib request: no credentials, no SDK."""
        request = urllib.request.Request(url, method=method, data=data, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def assertXmlError(self, result, status, code, message):
        got_status, headers, body = result
        self.assertEqual(got_status, status, body)
        self.assertIn(f"<Code>{code}</Code>".encode(), body)
        self.assertIn(f"<Message>{message}</Message>".encode(), body)
        self.assertTrue(headers.get("x-amz-request-id"), headers)

    def test_presigned_get(self):
        url = self.presign("get_object", "doc.txt")
        self.assertIn("X-Amz-Signature=", url)
        status, headers, body = self.fetch(url)
        self.assertEqual(status, 200)
        self.assertEqual(body, b"presigned content")
        self.assertEqual(headers["ETag"], f'"{md5_hex(b"presigned content")}"')

    def test_presigned_get_with_response_override(self):
        url = self.presign("get_object", "doc.txt", ResponseContentDisposition="inline; x=1")
        status, headers, body = self.fetch(url)
        self.assertEqual(status, 200, body)
        self.assertEqual(headers["Content-Disposition"], "inline; x=1")

    def test_presigned_head(self):
        status, headers, _ = self.fetch(self.presign("head_object", "doc.txt"), method="HEAD")
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Length"], str(len(b"presigned content")))

    def test_presigned_put(self):
        url = self.presign("put_object", "uploaded via url.bin")
        payload = os.urandom(100 * 1024)
        status, _, body = self.fetch(url, method="PUT", data=payload)
        self.assertEqual(status, 200, body)
        self.assertEqual(self.body_of(self.bucket, "uploaded via url.bin"), payload)

    def test_expired_presigned_url_is_access_denied(self):
        past = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - \
            datetime.timedelta(hours=1)
        with signing_clock(past):
            url = self.presign("get_object", "doc.txt", expires=1)
        self.assertIn("X-Amz-Date=" + past.strftime("%Y%m%dT%H%M%SZ"), url)
        result = self.fetch(url)
        self.assertXmlError(result, 403, "AccessDenied", "Request has expired")
        self.assertIn(b"<X-Amz-Expires>1</X-Amz-Expires>", result[2])
        # An expired PUT stores nothing.
        with signing_clock(past):
            url = self.presign("put_object", "expired-put", expires=60)
        self.assertXmlError(self.fetch(url, method="PUT", data=b"late"), 403, "AccessDenied",
                            "Request has expired")
        self.assertNoSuchKey(self.bucket, "expired-put")

    def test_tampered_presigned_url_is_signature_does_not_match(self):
        url = self.presign("get_object", "doc.txt")
        self.s3.put_object(Bucket=self.bucket, Key="doc.txy", Body=b"other")
        tampered = [
            url.replace("/doc.txt?", "/doc.txy?"),                  # another key
            url.replace("X-Amz-Expires=300", "X-Amz-Expires=600"),  # a longer life
            re.sub(r"X-Amz-Signature=([0-9a-f])",
                   lambda m: "X-Amz-Signature=" + ("0" if m.group(1) != "0" else "1"), url),
        ]
        for bad in tampered:
            with self.subTest(url=bad):
                self.assertNotEqual(bad, url)
                self.assertXmlError(self.fetch(bad), 403, "SignatureDoesNotMatch",
                                    SIGNATURE_MISMATCH)
        put = self.presign("put_object", "tampered-put")
        self.assertXmlError(self.fetch(put.replace("tampered-put", "tampered-puu"), method="PUT",
                                       data=b"x"),
                            403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)
        self.assertNoSuchKey(self.bucket, "tampered-puu")

    def test_presigned_url_valid_for_more_than_a_week_is_refused(self):
        url = self.presign("get_object", "doc.txt", expires=604801)
        self.assertXmlError(
            self.fetch(url), 400, "AuthorizationQueryParametersError",
            "X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires "
            "must be less than 604800 seconds")
        status, _, body = self.fetch(self.presign("get_object", "doc.txt", expires=604800))
        self.assertEqual((status, body), (200, b"presigned content"))

    def test_presigned_url_with_missing_parameter_is_authorization_query_parameters_error(self):
        url = self.presign("get_object", "doc.txt")
        without_date = re.sub(r"&X-Amz-Date=[^&]*", "", url)
        self.assertXmlError(
            self.fetch(without_date), 400, "AuthorizationQueryParametersError",
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
            "X-Amz-Expires parameters.")


class AddressingAndAccessTest(S3ApiTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.bucket = "vhost-bucket"
        cls.s3.create_bucket(Bucket=cls.bucket)
        cls.s3.put_object(Bucket=cls.bucket, Key="existing", Body=b"already here")

    def vhost(self):
        return {"Host": f"{self.bucket}.s3.localhost:{self.server.port}"}

    def test_virtual_hosted_style_put_get_list_delete(self):
        # *.s3.localhost does not resolve on these machines, so the Host header carries it.
        put = self.server.s3_request("PUT", "/dir/v%20key.txt", b"virtual body",
                                     headers=self.vhost())
        self.assertEqual(put.status, 200, put.body)
        self.assertEqual(put.headers["etag"], f'"{md5_hex(b"virtual body")}"')
        self.assertEqual(self.body_of(self.bucket, "dir/v key.txt"), b"virtual body")
        get = self.server.s3_request("GET", "/existing", headers=self.vhost())
        self.assertEqual((get.status, get.body), (200, b"already here"))
        listing = self.server.s3_request("GET", "/", query="list-type=2&prefix=dir%2F",
                                         headers=self.vhost())
        self.assertEqual(listing.status, 200, listing.body)
        self.assertIn(f"<Name>{self.bucket}</Name>".encode(), listing.body)
        self.assertIn(b"<Key>dir/v key.txt</Key>", listing.body)
        head = self.server.s3_request("HEAD", "/", headers=self.vhost())
        self.assertEqual(head.status, 200)
        self.assertEqual(head.headers["x-amz-bucket-region"], "us-east-1")
        delete = self.server.s3_request("DELETE", "/dir/v%20key.txt", headers=self.vhost())
        self.assertEqual(delete.status, 204, delete.body)
        self.assertNoSuchKey(self.bucket, "dir/v key.txt")

    def test_virtual_hosted_missing_bucket_is_no_such_bucket(self):
        response = self.server.s3_request(
            "GET", "/k", headers={"Host": f"no-such-vhost.s3.localhost:{self.server.port}"})
        self.assertEqual(response.status, 404, response.body)
        self.assertIn(b"<Code>NoSuchBucket</Code>", response.body)
        self.assertIn(b"<BucketName>no-such-vhost</BucketName>", response.body)

    def test_anonymous_requests_are_access_denied(self):
        cases = [("GET", "/", b""), ("GET", f"/{self.bucket}", b""),
                 ("GET", f"/{self.bucket}/existing", b""),
                 ("PUT", f"/{self.bucket}/anonymous-put", b"sneaky"),
                 ("DELETE", f"/{self.bucket}/existing", b""),
                 ("PUT", "/anonymous-bucket", b""),
                 ("POST", f"/{self.bucket}/existing?uploads", b"")]
        for method, path, body in cases:
            with self.subTest(method=method, path=path):
                path, _, query = path.partition("?")
                response = self.server.s3_request(method, path, body, query=query, sign=False,
                                                  content_sha256=False)
                self.assertEqual(response.status, 403, response.body)
                self.assertIn(b"<Code>AccessDenied</Code>", response.body)
                self.assertIn(b"<Message>Access Denied</Message>", response.body)
                self.assertTrue(response.headers.get("x-amz-request-id"))
        self.assertEqual(self.body_of(self.bucket, "existing"), b"already here")
        self.assertNoSuchKey(self.bucket, "anonymous-put")
        self.assertS3Error(404, "404", "Not Found", self.s3.head_bucket, Bucket="anonymous-bucket")

    def test_unsigned_boto3_client_is_access_denied(self):
        anonymous = self.server.s3_client(signature_version=botocore.UNSIGNED)
        self.assertS3Error(403, "AccessDenied", "Access Denied", anonymous.get_object,
                           Bucket=self.bucket, Key="existing")
        self.assertS3Error(403, "AccessDenied", "Access Denied", anonymous.list_buckets)

    def test_wrong_secret_is_signature_does_not_match(self):
        intruder = self.server.s3_client(secret_access_key="x" * 40)
        self.assertS3Error(403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH, intruder.put_object,
                           Bucket=self.bucket, Key="intruder", Body=b"x")
        self.assertNoSuchKey(self.bucket, "intruder")

    def test_every_response_carries_a_request_id(self):
        bucket = self.bucket
        etag = f'"{md5_hex(b"already here")}"'
        requests = [
            ("GET", "/", {}, 200),
            ("HEAD", f"/{bucket}", {}, 200),
            ("HEAD", "/missing-bucket", {}, 404),
            ("GET", f"/{bucket}/existing", {}, 200),
            ("GET", f"/{bucket}/existing", {"Range": "bytes=0-1"}, 206),
            ("GET", f"/{bucket}/existing", {"Range": "bytes=100-"}, 416),
            ("GET", f"/{bucket}/existing", {"If-None-Match": etag}, 304),
            ("HEAD", f"/{bucket}/existing", {"If-Match": '"x"'}, 412),
            ("HEAD", f"/{bucket}/missing", {}, 404),
            ("GET", f"/{bucket}/missing", {}, 404),
            ("PUT", f"/{bucket}/request-id", {}, 200),
            ("DELETE", f"/{bucket}/request-id", {}, 204),
            ("PATCH", f"/{bucket}/existing", {}, 405),
        ]
        ids = set()
        for method, path, headers, status in requests:
            with self.subTest(method=method, path=path, headers=headers):
                response = self.server.s3_request(method, path, headers=headers)
                self.assertEqual(response.status, status, response.body)
                request_id = response.headers.get("x-amz-request-id", "")
                self.assertTrue(request_id, response.headers)
                ids.add(request_id)
        anonymous = self.server.s3_request("GET", f"/{bucket}", sign=False, content_sha256=False)
        self.assertTrue(anonymous.headers.get("x-amz-request-id"))
        ids.add(anonymous.headers["x-amz-request-id"])
        self.assertEqual(len(ids), len(requests) + 1, "request ids must be unique")

    def test_every_response_carries_x_amz_id_2(self):
        # s3.md §1: "Headers x-amz-request-id and x-amz-id-2 on every response" (botocore
        # reports x-amz-id-2 as ResponseMetadata.HostId).
        ok = self.s3.head_object(Bucket=self.bucket, Key="existing")
        self.assertTrue(ok["ResponseMetadata"].get("HostId"), ok["ResponseMetadata"])
        error = self.server.s3_request("GET", f"/{self.bucket}/missing")
        self.assertEqual(error.status, 404)
        self.assertTrue(error.headers.get("x-amz-id-2"), error.headers)


if __name__ == "__main__":
    import unittest
    unittest.main()
