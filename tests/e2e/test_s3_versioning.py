"""S3 versioning end to end, with boto3, the aws CLI and raw signed requests
(docs/reference/s3-data-protection.md §1).

Covered: PutBucketVersioning / GetBucketVersioning (Enabled, Suspended, MFA Delete as AWS answers
it without MFA devices, malformed configurations); version ids on PUT, COPY and
CompleteMultipartUpload, their shape and self-validation; GET / HEAD / DELETE / tagging /
GetObjectAttributes by versionId; delete markers (headers, 404 and 405 answers, deleting a marker
restores the version below it); null versions in never-versioned and Suspended buckets;
ListObjectVersions order, IsLatest, pagination with key and version-id markers (raw and through
boto3's paginator), prefix and delimiter, a never-versioned bucket; DeleteObjects with version ids;
CopyObject from a version; BucketNotEmpty for versioned buckets and emptying a bucket the way test
harnesses do (and the aws CLI's s3 rm --recursive); history and ids surviving SIGTERM and kill -9;
blobs of versions deleted for good are garbage collected after the grace time while versions behind
a marker keep theirs; every version keeps its own SSE mode and key, and a KMS key's state decides
the fate of exactly the versions encrypted under it.

Expected codes, statuses and messages are AWS's as the reference records them, plus Hangar's
documented choices where AWS is not recorded: MfaDelete=Enabled is 403 AccessDenied (no MFA
devices), DELETE ?versionId=<well-formed, unknown> is 204. A HEAD has no body, so botocore reports
its HTTP status as the error code ("404", "405").
"""

import base64
import glob
import hashlib
import os
import re
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

import boto3
import botocore.config

from harness import HangarTestCase

KIB = 1024
MIB = 1024 * KIB
DAY = 86400
GRACE_CROSSING_SECONDS = 120  # superseded blobs go 60 s (lifecycle clock) after they are released
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"

VERSION_ID = re.compile(r"^[A-Za-z0-9._]{32}$")
VERSION_ID_ALPHABET = ("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._")

NO_SUCH_KEY = "The specified key does not exist."
NO_SUCH_VERSION = "The specified version does not exist."
INVALID_VERSION_ID = "Invalid version id specified"
EMPTY_VERSION_ID = "Version id cannot be the empty string"
METHOD_NOT_ALLOWED = "The specified method is not allowed against this resource."
COPY_FROM_MARKER = ("The source of a copy request may not specifically refer to a delete marker "
                    "by version id.")
VERSION_MARKER_WITHOUT_KEY_MARKER = "A version-id marker cannot be specified without a key marker."
NOT_EMPTY_VERSIONED = ("The bucket you tried to delete is not empty. You must delete all versions "
                       "in the bucket.")
MFA_REQUIRED = "Mfa Authentication must be used for this request"
MALFORMED_XML = ("The XML you provided was not well-formed or did not validate against our "
                 "published schema")
VERSIONING_ELEMENT_MISSING = "The Versioning element must be specified"
SSE_C_MISSING = ("The object was stored using a form of Server Side Encryption. The correct "
                 "parameters must be provided to retrieve the object.")
CUSTOMER_KEY = hashlib.sha256(b"hangar e2e versioning customer key").digest()


def headers_of(response) -> dict:
    return response["ResponseMetadata"]["HTTPHeaders"]


def forged(version_id: str, position: int = -1) -> str:
    """`version_id` with the character at `position` replaced by another valid one: well
    formed by shape, but not an id the server issued."""
    chars = list(version_id)
    old = chars[position]
    chars[position] = VERSION_ID_ALPHABET[(VERSION_ID_ALPHABET.index(old) + 7)
                                          % len(VERSION_ID_ALPHABET)]
    return "".join(chars)


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def versioning_xml(status=None, mfa_delete=None) -> bytes:
    inner = ""
    if status is not None:
        inner += f"<Status>{status}</Status>"
    if mfa_delete is not None:
        inner += f"<MfaDelete>{mfa_delete}</MfaDelete>"
    return (f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}'
            "</VersioningConfiguration>").encode()


def error_fields(body: bytes) -> dict:
    return {child.tag: child.text for child in ET.fromstring(body)}


def local(tag: str) -> str:
    return tag.split("}", 1)[-1]


class VersioningTestCase(HangarTestCase):
    """One server per class, a boto3 S3 client and helpers for versioned buckets."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()

    def make_bucket(self, name, status=None):
        self.s3.create_bucket(Bucket=name)
        if status is not None:
            self.set_versioning(name, status)
        return name

    def set_versioning(self, bucket, status):
        self.s3.put_bucket_versioning(Bucket=bucket,
                                      VersioningConfiguration={"Status": status})

    def put(self, bucket, key, body, **kwargs) -> str:
        """PutObject; returns the new version id (None when the answer names none)."""
        response = self.s3.put_object(Bucket=bucket, Key=key, Body=body, **kwargs)
        return headers_of(response).get("x-amz-version-id")

    def body_of(self, bucket, key, version_id=None, **kwargs) -> bytes:
        if version_id is not None:
            kwargs["VersionId"] = version_id
        return self.s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()

    def assertVersionId(self, version_id):
        self.assertIsNotNone(version_id)
        self.assertRegex(version_id, VERSION_ID)
        self.assertNotEqual(version_id, "null")

    def raw_versions(self, bucket, **params):
        """GET /bucket?versions with `params` (raw names, e.g. {"key-marker": "a"}): (status,
        root fields, entries in document order as (kind, key, version id, is latest),
        common prefixes). kind: "Version" or "DeleteMarker"."""
        query = "versions"
        if params:
            query += "&" + urllib.parse.urlencode(sorted(params.items()),
                                                  quote_via=urllib.parse.quote)
        r = self.server.s3_request("GET", f"/{bucket}", query=query)
        self.assertEqual(r.status, 200, r.body)
        root = ET.fromstring(r.body)
        self.assertEqual(local(root.tag), "ListVersionsResult")
        fields, entries, prefixes = {}, [], []
        for child in root:
            tag = local(child.tag)
            if tag in ("Version", "DeleteMarker"):
                entries.append((tag, child.findtext(f"{S3_NS}Key"),
                                child.findtext(f"{S3_NS}VersionId"),
                                child.findtext(f"{S3_NS}IsLatest")))
            elif tag == "CommonPrefixes":
                prefixes.append(child.findtext(f"{S3_NS}Prefix"))
            else:
                fields[tag] = child.text or ""
        return fields, entries, prefixes

    def assertEntries(self, actual, expected):
        """`actual` raw entries are `expected`, which is in S3's order: by key, then newest first
        across versions and markers. Whether the two element kinds are interleaved on the wire
        in that order is not recorded (reference §1.6 [?]), so each kind must be in order and
        together they must be exactly the expected entries."""
        for kind in ("Version", "DeleteMarker"):
            self.assertEqual([e for e in actual if e[0] == kind],
                             [e for e in expected if e[0] == kind], kind)
        self.assertEqual(sorted(actual), sorted(expected))

    def boto_entries(self, response):
        """(kind, key, version id, is latest) of a boto3 list_object_versions page, in no
        particular order across the two kinds (boto3 parses them into separate lists)."""
        out = [("Version", v["Key"], v["VersionId"], v["IsLatest"])
               for v in response.get("Versions", [])]
        out += [("DeleteMarker", m["Key"], m["VersionId"], m["IsLatest"])
                for m in response.get("DeleteMarkers", [])]
        return out


# --- bucket state ---------------------------------------------------------------------------------

class BucketVersioningStateTest(VersioningTestCase):

    def put_versioning_raw(self, bucket, body):
        return self.server.s3_request("PUT", f"/{bucket}", body, query="versioning",
                                      headers={"Content-MD5": md5_b64(body)})

    def test_never_versioned_bucket_reports_no_status(self):
        self.make_bucket("state-fresh")
        response = self.s3.get_bucket_versioning(Bucket="state-fresh")
        self.assertNotIn("Status", response)
        self.assertNotIn("MFADelete", response)
        r = self.server.s3_request("GET", "/state-fresh", query="versioning")
        self.assertEqual(r.status, 200, r.body)
        root = ET.fromstring(r.body)
        self.assertEqual(local(root.tag), "VersioningConfiguration")
        self.assertIsNone(root.find(f"{S3_NS}Status"), r.body)

    def test_enabled_suspended_and_enabled_again_round_trip(self):
        self.make_bucket("state-cycle")
        for status in ("Enabled", "Suspended", "Enabled"):
            with self.subTest(status=status):
                self.set_versioning("state-cycle", status)
                got = self.s3.get_bucket_versioning(Bucket="state-cycle")
                self.assertEqual(got.get("Status"), status, got)

    def test_suspending_a_never_versioned_bucket_is_accepted(self):
        self.make_bucket("state-suspend-first")
        self.set_versioning("state-suspend-first", "Suspended")
        got = self.s3.get_bucket_versioning(Bucket="state-suspend-first")
        self.assertEqual(got.get("Status"), "Suspended")

    def test_mfa_delete_disabled_is_accepted_and_reported(self):
        self.make_bucket("state-mfa-off")
        self.s3.put_bucket_versioning(
            Bucket="state-mfa-off",
            VersioningConfiguration={"Status": "Enabled", "MFADelete": "Disabled"})
        got = self.s3.get_bucket_versioning(Bucket="state-mfa-off")
        self.assertEqual((got.get("Status"), got.get("MFADelete")), ("Enabled", "Disabled"))
        r = self.server.s3_request("GET", "/state-mfa-off", query="versioning")
        self.assertIn(b"<MfaDelete>Disabled</MfaDelete>", r.body)

    def test_mfa_delete_enabled_is_access_denied_and_changes_nothing(self):
        self.make_bucket("state-mfa-on", "Suspended")
        self.assertS3Error(403, "AccessDenied", MFA_REQUIRED, self.s3.put_bucket_versioning,
                           Bucket="state-mfa-on",
                           VersioningConfiguration={"Status": "Enabled", "MFADelete": "Enabled"})
        got = self.s3.get_bucket_versioning(Bucket="state-mfa-on")
        self.assertEqual(got.get("Status"), "Suspended")
        self.assertNotIn("MFADelete", got)

    def test_malformed_configurations(self):
        self.make_bucket("state-bad")
        cases = [
            (versioning_xml("enabled"), "MalformedXML", MALFORMED_XML),
            (versioning_xml("Disabled"), "MalformedXML", MALFORMED_XML),
            (versioning_xml(), "IllegalVersioningConfigurationException",
             VERSIONING_ELEMENT_MISSING),
        ]
        for body, code, message in cases:
            with self.subTest(body=body):
                r = self.put_versioning_raw("state-bad", body)
                self.assertEqual(r.status, 400, r.body)
                fields = error_fields(r.body)
                self.assertEqual((fields.get("Code"), fields.get("Message")), (code, message))
        self.assertNotIn("Status", self.s3.get_bucket_versioning(Bucket="state-bad"))

    def test_unknown_bucket_is_no_such_bucket(self):
        self.assertS3Error(404, "NoSuchBucket", None, self.s3.put_bucket_versioning,
                           Bucket="state-missing", VersioningConfiguration={"Status": "Enabled"})
        self.assertS3Error(404, "NoSuchBucket", None, self.s3.get_bucket_versioning,
                           Bucket="state-missing")


# --- version ids on writes and reads --------------------------------------------------------------

class VersionIdTest(VersioningTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="ids")
        cls.s3.put_bucket_versioning(Bucket="ids", VersioningConfiguration={"Status": "Enabled"})

    def test_puts_return_distinct_well_formed_ids_and_each_reads_back(self):
        bodies = [b"first", b"second" * 100, b"third" * 1000]
        ids = [self.put("ids", "three", body) for body in bodies]
        for version_id in ids:
            self.assertVersionId(version_id)
        self.assertEqual(len(set(ids)), 3, ids)
        latest = self.s3.get_object(Bucket="ids", Key="three")
        self.assertEqual(latest["VersionId"], ids[-1])
        self.assertEqual(latest["Body"].read(), bodies[-1])
        self.assertEqual(self.s3.head_object(Bucket="ids", Key="three")["VersionId"], ids[-1])
        for version_id, body in zip(ids, bodies):
            with self.subTest(version_id=version_id):
                got = self.s3.get_object(Bucket="ids", Key="three", VersionId=version_id)
                self.assertEqual(got["VersionId"], version_id)
                self.assertEqual(got["Body"].read(), body)
                head = self.s3.head_object(Bucket="ids", Key="three", VersionId=version_id)
                self.assertEqual((head["VersionId"], head["ContentLength"]),
                                 (version_id, len(body)))

    def test_complete_multipart_upload_returns_a_version_id(self):
        before = self.put("ids", "mpu", b"before the upload")
        upload = self.s3.create_multipart_upload(Bucket="ids", Key="mpu")["UploadId"]
        parts = [b"a" * (5 * MIB), b"tail"]
        etags = [self.s3.upload_part(Bucket="ids", Key="mpu", UploadId=upload, PartNumber=n,
                                     Body=part)["ETag"] for n, part in enumerate(parts, 1)]
        done = self.s3.complete_multipart_upload(
            Bucket="ids", Key="mpu", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                       for n, e in enumerate(etags, 1)]})
        self.assertVersionId(done.get("VersionId"))
        self.assertEqual(headers_of(done).get("x-amz-version-id"), done["VersionId"])
        self.assertNotEqual(done["VersionId"], before)
        self.assertEqual(self.body_of("ids", "mpu", done["VersionId"]), b"".join(parts))
        self.assertEqual(self.body_of("ids", "mpu", before), b"before the upload")
        self.assertEqual(self.s3.head_object(Bucket="ids", Key="mpu")["VersionId"],
                         done["VersionId"])

    def test_copy_returns_a_new_version_id_and_names_the_source_version(self):
        v1 = self.put("ids", "copy-src", b"source one")
        v2 = self.put("ids", "copy-src", b"source two")
        from_v1 = self.s3.copy_object(Bucket="ids", Key="copy-dst",
                                      CopySource={"Bucket": "ids", "Key": "copy-src",
                                                  "VersionId": v1})
        self.assertVersionId(from_v1.get("VersionId"))
        self.assertNotIn(from_v1["VersionId"], (v1, v2))
        self.assertEqual(from_v1.get("CopySourceVersionId"), v1)
        self.assertEqual(headers_of(from_v1).get("x-amz-copy-source-version-id"), v1)
        self.assertEqual(self.body_of("ids", "copy-dst"), b"source one")
        # Without a version id the copy takes the current version, and says which it was.
        current = self.s3.copy_object(Bucket="ids", Key="copy-dst", CopySource="ids/copy-src")
        self.assertEqual(current.get("CopySourceVersionId"), v2)
        self.assertNotEqual(current["VersionId"], from_v1["VersionId"])
        self.assertEqual(self.body_of("ids", "copy-dst"), b"source two")
        self.assertEqual(self.body_of("ids", "copy-dst", from_v1["VersionId"]), b"source one")
        # The raw header form: x-amz-copy-source: /bucket/key?versionId=<id>.
        r = self.server.s3_request("PUT", "/ids/copy-raw",
                                   headers={"x-amz-copy-source": f"/ids/copy-src?versionId={v1}"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers.get("x-amz-copy-source-version-id"), v1)
        self.assertVersionId(r.headers.get("x-amz-version-id"))
        self.assertEqual(self.body_of("ids", "copy-raw"), b"source one")

    def test_copy_source_with_a_malformed_version_id_is_invalid_request(self):
        self.put("ids", "copy-bad-src", b"x")
        r = self.server.s3_request("PUT", "/ids/copy-bad-dst",
                                   headers={"x-amz-copy-source": "/ids/copy-bad-src?versionId=abc"})
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(error_fields(r.body).get("Code"), "InvalidRequest")
        r = self.server.s3_request("PUT", "/ids/copy-bad-dst",
                                   headers={"x-amz-copy-source": "/ids/copy-bad-src?versionId="})
        self.assertEqual(r.status, 400, r.body)
        fields = error_fields(r.body)
        self.assertEqual((fields.get("Code"), fields.get("Message")),
                         ("InvalidArgument", EMPTY_VERSION_ID))
        self.assertS3Error(404, "404", None, self.s3.head_object, Bucket="ids",
                           Key="copy-bad-dst")

    def test_forged_and_malformed_version_ids_are_invalid_argument(self):
        real = self.put("ids", "forge", b"real")
        for bad in (forged(real), forged(real, 10), forged(forged(forged(forged(real, -1), -2),
                                                                    -3), -4), "abc"):
            with self.subTest(version_id=bad):
                self.assertS3Error(400, "InvalidArgument", INVALID_VERSION_ID, self.s3.get_object,
                                   Bucket="ids", Key="forge", VersionId=bad,
                                   s3_fields={"ArgumentName": "versionId", "ArgumentValue": bad})
                self.assertS3Error(400, "400", None, self.s3.head_object, Bucket="ids",
                                   Key="forge", VersionId=bad)
                self.assertS3Error(400, "InvalidArgument", INVALID_VERSION_ID,
                                   self.s3.delete_object, Bucket="ids", Key="forge",
                                   VersionId=bad)
        for method in ("GET", "DELETE"):
            r = self.server.s3_request(method, "/ids/forge", query="versionId=")
            self.assertEqual(r.status, 400, r.body)
            fields = error_fields(r.body)
            self.assertEqual((fields.get("Code"), fields.get("Message")),
                             ("InvalidArgument", EMPTY_VERSION_ID), method)
        self.assertEqual(self.body_of("ids", "forge", real), b"real")

    def test_deleting_a_version_for_good(self):
        v1 = self.put("ids", "gone", b"one")
        v2 = self.put("ids", "gone", b"two")
        response = self.s3.delete_object(Bucket="ids", Key="gone", VersionId=v2)
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(headers_of(response).get("x-amz-version-id"), v2)
        self.assertNotIn("x-amz-delete-marker", headers_of(response))
        # No marker: the next newest version is current again.
        got = self.s3.get_object(Bucket="ids", Key="gone")
        self.assertEqual((got["VersionId"], got["Body"].read()), (v1, b"one"))
        error = self.assertS3Error(404, "NoSuchVersion", NO_SUCH_VERSION, self.s3.get_object,
                                   Bucket="ids", Key="gone", VersionId=v2,
                                   s3_fields={"Key": "gone", "VersionId": v2})
        self.assertNotIn("x-amz-delete-marker", headers_of(error))
        self.assertS3Error(404, "404", None, self.s3.head_object, Bucket="ids", Key="gone",
                           VersionId=v2)
        # A well-formed id that names no version: 204, as for a key that does not exist.
        again = self.s3.delete_object(Bucket="ids", Key="gone", VersionId=v2)
        self.assertEqual(again["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertNotIn("x-amz-delete-marker", headers_of(again))
        listed = self.s3.list_object_versions(Bucket="ids", Prefix="gone")
        self.assertEqual([(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]],
                         [(v1, True)])
        self.assertNotIn("DeleteMarkers", listed)

    def test_tagging_by_version_id(self):
        v1 = self.put("ids", "tags", b"one", Tagging="version=one")
        v2 = self.put("ids", "tags", b"two")
        got = self.s3.get_object_tagging(Bucket="ids", Key="tags", VersionId=v1)
        self.assertEqual((got.get("VersionId"), got["TagSet"]),
                         (v1, [{"Key": "version", "Value": "one"}]))
        current = self.s3.get_object_tagging(Bucket="ids", Key="tags")
        self.assertEqual((current.get("VersionId"), current["TagSet"]), (v2, []))
        put = self.s3.put_object_tagging(Bucket="ids", Key="tags", VersionId=v2,
                                         Tagging={"TagSet": [{"Key": "version", "Value": "two"}]})
        self.assertEqual(put.get("VersionId"), v2)
        self.assertEqual(self.s3.get_object_tagging(Bucket="ids", Key="tags",
                                                    VersionId=v1)["TagSet"],
                         [{"Key": "version", "Value": "one"}])
        deleted = self.s3.delete_object_tagging(Bucket="ids", Key="tags", VersionId=v1)
        self.assertEqual(deleted.get("VersionId"), v1)
        self.assertEqual(self.s3.get_object_tagging(Bucket="ids", Key="tags",
                                                    VersionId=v1)["TagSet"], [])
        self.assertEqual(self.s3.get_object_tagging(Bucket="ids", Key="tags")["TagSet"],
                         [{"Key": "version", "Value": "two"}])
        self.assertS3Error(400, "InvalidArgument", INVALID_VERSION_ID, self.s3.get_object_tagging,
                           Bucket="ids", Key="tags", VersionId=forged(v1))

    def test_get_object_attributes_by_version_id(self):
        v1 = self.put("ids", "attrs", b"12345")
        v2 = self.put("ids", "attrs", b"1234567890")
        for version_id, size, body in ((v1, 5, b"12345"), (v2, 10, b"1234567890")):
            with self.subTest(version_id=version_id):
                got = self.s3.get_object_attributes(Bucket="ids", Key="attrs",
                                                    VersionId=version_id,
                                                    ObjectAttributes=["ETag", "ObjectSize"])
                self.assertEqual(headers_of(got).get("x-amz-version-id"), version_id)
                self.assertEqual(got.get("VersionId"), version_id)
                self.assertEqual((got["ObjectSize"], got["ETag"].strip('"')),
                                 (size, hashlib.md5(body).hexdigest()))
        current = self.s3.get_object_attributes(Bucket="ids", Key="attrs",
                                                ObjectAttributes=["ObjectSize"])
        self.assertEqual((current.get("VersionId"), current["ObjectSize"]), (v2, 10))


# --- never-versioned and suspended buckets: null versions -----------------------------------------

class NullVersionTest(VersioningTestCase):

    def test_never_versioned_bucket_answers_no_version_headers(self):
        self.make_bucket("plain")
        put = self.s3.put_object(Bucket="plain", Key="k", Body=b"plain")
        self.assertNotIn("x-amz-version-id", headers_of(put))
        get = self.s3.get_object(Bucket="plain", Key="k")
        self.assertNotIn("x-amz-version-id", headers_of(get))
        copy = self.s3.copy_object(Bucket="plain", Key="k2", CopySource="plain/k")
        self.assertNotIn("x-amz-version-id", headers_of(copy))
        self.assertNotIn("x-amz-copy-source-version-id", headers_of(copy))
        # versionId=null addresses the only version there is.
        self.assertEqual(self.body_of("plain", "k", "null"), b"plain")
        self.s3.head_object(Bucket="plain", Key="k", VersionId="null")
        for key in ("k", "never-existed"):
            deleted = self.s3.delete_object(Bucket="plain", Key=key)
            self.assertEqual(deleted["ResponseMetadata"]["HTTPStatusCode"], 204)
            self.assertNotIn("x-amz-version-id", headers_of(deleted))
            self.assertNotIn("x-amz-delete-marker", headers_of(deleted))
        self.assertS3Error(404, "NoSuchKey", NO_SUCH_KEY, self.s3.get_object, Bucket="plain",
                           Key="k")
        self.assertS3Error(400, "InvalidArgument", INVALID_VERSION_ID, self.s3.get_object,
                           Bucket="plain", Key="k2", VersionId="abc")

    def test_objects_written_before_versioning_become_the_null_version(self):
        self.make_bucket("before")
        self.put("before", "k", b"from before")
        self.set_versioning("before", "Enabled")
        self.assertEqual(self.s3.head_object(Bucket="before", Key="k")["VersionId"], "null")
        self.assertEqual(headers_of(self.s3.get_object(Bucket="before", Key="k"))
                         .get("x-amz-version-id"), "null")
        v1 = self.put("before", "k", b"after")
        self.assertVersionId(v1)
        self.assertEqual(self.body_of("before", "k", "null"), b"from before")
        self.assertEqual(self.body_of("before", "k"), b"after")
        listed = self.s3.list_object_versions(Bucket="before")
        self.assertEqual([(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]],
                         [(v1, True), ("null", False)])
        # Copying from the null version reports no source version.
        copy = self.s3.copy_object(Bucket="before", Key="copy",
                                   CopySource={"Bucket": "before", "Key": "k",
                                               "VersionId": "null"})
        self.assertNotIn("x-amz-copy-source-version-id", headers_of(copy))
        self.assertVersionId(copy.get("VersionId"))
        self.assertEqual(self.body_of("before", "copy"), b"from before")

    def test_suspended_put_writes_the_null_version_over_the_previous_null(self):
        self.make_bucket("susp-put", "Enabled")
        v1 = self.put("susp-put", "k", b"versioned")
        self.set_versioning("susp-put", "Suspended")
        put = self.s3.put_object(Bucket="susp-put", Key="k", Body=b"null one")
        self.assertNotIn("x-amz-version-id", headers_of(put))
        self.assertEqual(self.s3.head_object(Bucket="susp-put", Key="k")["VersionId"], "null")
        self.put("susp-put", "k", b"null two")
        listed = self.s3.list_object_versions(Bucket="susp-put")
        self.assertEqual([(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]],
                         [("null", True), (v1, False)])
        self.assertEqual(self.body_of("susp-put", "k", "null"), b"null two")
        self.assertEqual(self.body_of("susp-put", "k", v1), b"versioned")
        # Enabled again: new ids, the null version stays below them.
        self.set_versioning("susp-put", "Enabled")
        v3 = self.put("susp-put", "k", b"enabled again")
        self.assertVersionId(v3)
        listed = self.s3.list_object_versions(Bucket="susp-put")
        self.assertEqual([v["VersionId"] for v in listed["Versions"]], [v3, "null", v1])

    def test_suspended_copy_answers_version_id_null(self):
        self.make_bucket("susp-copy", "Enabled")
        v1 = self.put("susp-copy", "src", b"source")
        self.set_versioning("susp-copy", "Suspended")
        copy = self.s3.copy_object(Bucket="susp-copy", Key="dst",
                                   CopySource={"Bucket": "susp-copy", "Key": "src",
                                               "VersionId": v1})
        self.assertEqual(headers_of(copy).get("x-amz-version-id"), "null")
        self.assertEqual(copy.get("CopySourceVersionId"), v1)
        self.assertEqual(self.s3.head_object(Bucket="susp-copy", Key="dst")["VersionId"], "null")

    def test_suspended_delete_replaces_the_null_version_with_a_null_marker(self):
        self.make_bucket("susp-del", "Enabled")
        v1 = self.put("susp-del", "k", b"versioned")
        self.set_versioning("susp-del", "Suspended")
        self.put("susp-del", "k", b"null version")
        deleted = self.s3.delete_object(Bucket="susp-del", Key="k")
        self.assertEqual(deleted["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(headers_of(deleted).get("x-amz-delete-marker"), "true")
        self.assertEqual(headers_of(deleted).get("x-amz-version-id"), "null")
        listed = self.s3.list_object_versions(Bucket="susp-del")
        self.assertEqual([(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]],
                         [(v1, False)])
        self.assertEqual([(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]],
                         [("null", True)])
        error = self.assertS3Error(404, "NoSuchKey", NO_SUCH_KEY, self.s3.get_object,
                                   Bucket="susp-del", Key="k")
        self.assertEqual(headers_of(error).get("x-amz-delete-marker"), "true")
        self.assertEqual(headers_of(error).get("x-amz-version-id"), "null")
        # A later PUT replaces the null marker.
        self.put("susp-del", "k", b"back")
        listed = self.s3.list_object_versions(Bucket="susp-del")
        self.assertEqual([(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]],
                         [("null", True), (v1, False)])
        self.assertNotIn("DeleteMarkers", listed)
        self.assertEqual(self.body_of("susp-del", "k"), b"back")


# --- delete markers -------------------------------------------------------------------------------

class DeleteMarkerTest(VersioningTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="markers")
        cls.s3.put_bucket_versioning(Bucket="markers",
                                     VersioningConfiguration={"Status": "Enabled"})

    def delete(self, key, **kwargs):
        response = self.s3.delete_object(Bucket="markers", Key=key, **kwargs)
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 204)
        return response

    def test_delete_writes_a_marker_that_hides_the_key(self):
        v1 = self.put("markers", "hidden", b"still here")
        deleted = self.delete("hidden")
        marker = headers_of(deleted).get("x-amz-version-id")
        self.assertEqual(headers_of(deleted).get("x-amz-delete-marker"), "true")
        self.assertTrue(deleted.get("DeleteMarker"))
        self.assertVersionId(marker)
        self.assertNotEqual(marker, v1)
        error = self.assertS3Error(404, "NoSuchKey", NO_SUCH_KEY, self.s3.get_object,
                                   Bucket="markers", Key="hidden", s3_fields={"Key": "hidden"})
        self.assertEqual(headers_of(error).get("x-amz-delete-marker"), "true")
        self.assertEqual(headers_of(error).get("x-amz-version-id"), marker)
        error = self.assertS3Error(404, "404", None, self.s3.head_object, Bucket="markers",
                                   Key="hidden")
        self.assertEqual(headers_of(error).get("x-amz-delete-marker"), "true")
        self.assertEqual(headers_of(error).get("x-amz-version-id"), marker)
        # The version below the marker is still there by id.
        self.assertEqual(self.body_of("markers", "hidden", v1), b"still here")
        listed = self.s3.list_object_versions(Bucket="markers", Prefix="hidden")
        self.assertEqual([(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]],
                         [(v1, False)])
        self.assertEqual([(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]],
                         [(marker, True)])
        # The hidden key is not in the ordinary listing.
        plain = self.s3.list_objects_v2(Bucket="markers", Prefix="hidden")
        self.assertEqual(plain.get("KeyCount"), 0)

    def test_get_or_head_of_a_marker_by_version_id_is_method_not_allowed(self):
        self.put("markers", "m405", b"x")
        marker = headers_of(self.delete("m405"))["x-amz-version-id"]
        error = self.assertS3Error(405, "MethodNotAllowed", METHOD_NOT_ALLOWED, self.s3.get_object,
                                   Bucket="markers", Key="m405", VersionId=marker,
                                   s3_fields={"Method": "GET", "ResourceType": "DeleteMarker"})
        for response in (error, self.assertS3Error(405, "405", None, self.s3.head_object,
                                                   Bucket="markers", Key="m405",
                                                   VersionId=marker)):
            headers = headers_of(response)
            self.assertEqual(headers.get("x-amz-delete-marker"), "true", headers)
            self.assertEqual(headers.get("x-amz-version-id"), marker, headers)
            self.assertEqual(headers.get("allow"), "DELETE", headers)
            self.assertIn("last-modified", headers)

    def test_deleting_the_marker_restores_the_version_below(self):
        v1 = self.put("markers", "restore", b"one")
        v2 = self.put("markers", "restore", b"two")
        marker = headers_of(self.delete("restore"))["x-amz-version-id"]
        response = self.delete("restore", VersionId=marker)
        self.assertEqual(headers_of(response).get("x-amz-delete-marker"), "true")
        self.assertEqual(headers_of(response).get("x-amz-version-id"), marker)
        got = self.s3.get_object(Bucket="markers", Key="restore")
        self.assertEqual((got["VersionId"], got["Body"].read()), (v2, b"two"))
        listed = self.s3.list_object_versions(Bucket="markers", Prefix="restore")
        self.assertEqual([(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]],
                         [(v2, True), (v1, False)])
        self.assertNotIn("DeleteMarkers", listed)

    def test_deleting_a_missing_key_stacks_markers(self):
        first = headers_of(self.delete("never"))
        second = headers_of(self.delete("never"))
        self.assertEqual((first.get("x-amz-delete-marker"), second.get("x-amz-delete-marker")),
                         ("true", "true"))
        self.assertVersionId(first.get("x-amz-version-id"))
        self.assertVersionId(second.get("x-amz-version-id"))
        self.assertNotEqual(first["x-amz-version-id"], second["x-amz-version-id"])
        listed = self.s3.list_object_versions(Bucket="markers", Prefix="never")
        self.assertNotIn("Versions", listed)
        self.assertEqual([(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]],
                         [(second["x-amz-version-id"], True),
                          (first["x-amz-version-id"], False)])

    def test_copy_from_a_marker(self):
        self.put("markers", "copy-src", b"x")
        marker = headers_of(self.delete("copy-src"))["x-amz-version-id"]
        error = self.assertS3Error(404, "NoSuchKey", NO_SUCH_KEY, self.s3.copy_object,
                                   Bucket="markers", Key="copy-dst",
                                   CopySource="markers/copy-src")
        self.assertEqual(headers_of(error).get("x-amz-delete-marker"), "true")
        self.assertEqual(headers_of(error).get("x-amz-version-id"), marker)
        self.assertS3Error(400, "InvalidRequest", COPY_FROM_MARKER, self.s3.copy_object,
                           Bucket="markers", Key="copy-dst",
                           CopySource={"Bucket": "markers", "Key": "copy-src",
                                       "VersionId": marker})
        self.assertS3Error(404, "NoSuchKey", NO_SUCH_KEY, self.s3.get_object, Bucket="markers",
                           Key="copy-dst")

    def test_list_objects_skips_a_common_prefix_with_only_markers_under_it(self):
        self.put("markers", "only-markers/sub/a", b"a")
        self.put("markers", "only-markers/kept/b", b"b")
        self.delete("only-markers/sub/a")
        listed = self.s3.list_objects_v2(Bucket="markers", Prefix="only-markers/", Delimiter="/")
        self.assertEqual(listed.get("CommonPrefixes"), [{"Prefix": "only-markers/kept/"}])
        self.assertEqual(listed.get("KeyCount"), 1)
        versions = self.s3.list_object_versions(Bucket="markers", Prefix="only-markers/",
                                                Delimiter="/")
        self.assertEqual(versions.get("CommonPrefixes"), [{"Prefix": "only-markers/kept/"},
                                                          {"Prefix": "only-markers/sub/"}])

    def test_put_after_a_marker_makes_the_key_visible_again(self):
        self.put("markers", "again", b"one")
        marker = headers_of(self.delete("again"))["x-amz-version-id"]
        v2 = self.put("markers", "again", b"two")
        self.assertEqual(self.body_of("markers", "again"), b"two")
        listed = self.s3.list_object_versions(Bucket="markers", Prefix="again")
        self.assertEqual([(m["VersionId"], m["IsLatest"]) for m in listed["DeleteMarkers"]],
                         [(marker, False)])
        self.assertEqual(listed["Versions"][0]["VersionId"], v2)
        self.assertTrue(listed["Versions"][0]["IsLatest"])


# --- ListObjectVersions ---------------------------------------------------------------------------

class ListObjectVersionsTest(VersioningTestCase):
    """One Enabled bucket with a known history; `expected` is the listing in S3's order."""

    BUCKET = "listing"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket=cls.BUCKET)
        cls.s3.put_bucket_versioning(Bucket=cls.BUCKET,
                                     VersioningConfiguration={"Status": "Enabled"})
        history = {}  # key -> [(kind, version id)] oldest first

        def put(key):
            r = cls.s3.put_object(Bucket=cls.BUCKET, Key=key, Body=f"{key} {len(history)}".encode())
            history.setdefault(key, []).append(("Version", r["VersionId"]))

        def delete(key):
            r = cls.s3.delete_object(Bucket=cls.BUCKET, Key=key)
            history.setdefault(key, []).append(("DeleteMarker", r["VersionId"]))

        # Interleaved on purpose: the order is by key, then newest first, not by time.
        put("b")
        put("a")
        put("c")
        put("dir/x")
        put("a")
        delete("b")
        delete("c")
        put("dir/y")
        put("c")
        put("e")
        delete("e")
        put("a")
        put("dir/x")
        put("f")
        cls.expected = []
        for key in sorted(history):
            entries = history[key][::-1]
            for i, (kind, version_id) in enumerate(entries):
                cls.expected.append((kind, key, version_id, "true" if i == 0 else "false"))

    def test_full_listing_order_and_is_latest(self):
        fields, entries, prefixes = self.raw_versions(self.BUCKET)
        self.assertEntries(entries, self.expected)
        self.assertEqual(prefixes, [])
        self.assertEqual(fields.get("IsTruncated"), "false")
        self.assertEqual(fields.get("Name"), self.BUCKET)
        self.assertEqual(fields.get("KeyMarker"), "")
        self.assertEqual(fields.get("VersionIdMarker"), "")
        self.assertNotIn("NextKeyMarker", fields)
        self.assertNotIn("NextVersionIdMarker", fields)
        latest_per_key = {}
        for _, key, _, is_latest in entries:
            latest_per_key[key] = latest_per_key.get(key, 0) + (is_latest == "true")
        self.assertEqual(set(latest_per_key.values()), {1}, latest_per_key)
        # boto3 sees the same entries, split into Versions and DeleteMarkers.
        response = self.s3.list_object_versions(Bucket=self.BUCKET)
        self.assertEqual(sorted(self.boto_entries(response)),
                         sorted((kind, key, vid, latest == "true")
                                for kind, key, vid, latest in self.expected))
        for version in response["Versions"]:
            self.assertGreater(version["Size"], 0)
            self.assertIn("ETag", version)
            self.assertIn("LastModified", version)
            self.assertEqual(version.get("StorageClass"), "STANDARD")

    def test_pages_with_max_keys_and_both_markers(self):
        for max_keys in (1, 2, 3, 5):
            with self.subTest(max_keys=max_keys):
                collected, params, pages = [], {"max-keys": str(max_keys)}, 0
                while True:
                    fields, entries, _ = self.raw_versions(self.BUCKET, **params)
                    pages += 1
                    self.assertLessEqual(len(entries), max_keys)
                    self.assertEqual(fields.get("MaxKeys"), str(max_keys))
                    self.assertEqual(fields.get("KeyMarker"), params.get("key-marker", ""))
                    self.assertEqual(fields.get("VersionIdMarker"),
                                     params.get("version-id-marker", ""))
                    self.assertEntries(entries,
                                       self.expected[len(collected):len(collected) + len(entries)])
                    collected += entries
                    if fields.get("IsTruncated") != "true":
                        self.assertNotIn("NextKeyMarker", fields)
                        self.assertNotIn("NextVersionIdMarker", fields)
                        break
                    self.assertEqual(len(entries), max_keys)
                    self.assertEqual((fields.get("NextKeyMarker"),
                                      fields.get("NextVersionIdMarker")),
                                     self.expected[len(collected) - 1][1:3])
                    params = {"max-keys": str(max_keys), "key-marker": fields["NextKeyMarker"],
                              "version-id-marker": fields["NextVersionIdMarker"]}
                    self.assertLess(pages, 50, "pagination does not end")
                self.assertEqual(len(collected), len(self.expected))

    def test_key_marker_alone_skips_every_version_of_that_key(self):
        _, entries, _ = self.raw_versions(self.BUCKET, **{"key-marker": "a"})
        self.assertEntries(entries, [e for e in self.expected if e[1] > "a"])
        response = self.s3.list_object_versions(Bucket=self.BUCKET, KeyMarker="c")
        self.assertEqual(response.get("KeyMarker"), "c")
        self.assertEqual(sorted(self.boto_entries(response)),
                         sorted((kind, key, vid, latest == "true")
                                for kind, key, vid, latest in self.expected if key > "c"))

    def test_version_id_marker_resumes_after_that_version(self):
        a_entries = [e for e in self.expected if e[1] == "a"]
        self.assertEqual(len(a_entries), 3)
        _, entries, _ = self.raw_versions(self.BUCKET, **{"key-marker": "a",
                                                          "version-id-marker": a_entries[0][2]})
        self.assertEntries(entries, self.expected[1:])
        _, entries, _ = self.raw_versions(self.BUCKET, **{"key-marker": "a",
                                                          "version-id-marker": a_entries[1][2],
                                                          "max-keys": "2"})
        self.assertEntries(entries, self.expected[2:4])

    def test_version_id_marker_without_key_marker_is_invalid_argument(self):
        self.assertS3Error(400, "InvalidArgument", VERSION_MARKER_WITHOUT_KEY_MARKER,
                           self.s3.list_object_versions, Bucket=self.BUCKET,
                           VersionIdMarker=self.expected[0][2],
                           s3_fields={"ArgumentName": "version-id-marker"})

    def test_boto3_paginator_walks_every_version_and_marker(self):
        paginator = self.s3.get_paginator("list_object_versions")
        seen, pages = [], 0
        for page in paginator.paginate(Bucket=self.BUCKET, PaginationConfig={"PageSize": 2}):
            pages += 1
            entries = self.boto_entries(page)
            self.assertLessEqual(len(entries), 2)
            seen += entries
        self.assertEqual(pages, -(-len(self.expected) // 2))
        self.assertEqual(sorted(seen), sorted((kind, key, vid, latest == "true")
                                              for kind, key, vid, latest in self.expected))

    def test_prefix_and_delimiter(self):
        fields, entries, prefixes = self.raw_versions(self.BUCKET, delimiter="/")
        self.assertEqual(prefixes, ["dir/"])
        self.assertEntries(entries, [e for e in self.expected if not e[1].startswith("dir/")])
        self.assertEqual(fields.get("Delimiter"), "/")
        response = self.s3.list_object_versions(Bucket=self.BUCKET, Delimiter="/")
        self.assertEqual(response.get("CommonPrefixes"), [{"Prefix": "dir/"}])
        _, entries, prefixes = self.raw_versions(self.BUCKET, prefix="dir/", delimiter="/")
        self.assertEqual(prefixes, [])
        self.assertEntries(entries, [e for e in self.expected if e[1].startswith("dir/")])
        response = self.s3.list_object_versions(Bucket=self.BUCKET, Prefix="dir/x")
        self.assertEqual(response.get("Prefix"), "dir/x")
        self.assertEqual([v["VersionId"] for v in response["Versions"]],
                         [e[2] for e in self.expected if e[1] == "dir/x"])
        _, entries, prefixes = self.raw_versions(self.BUCKET, prefix="nothing-here")
        self.assertEqual((entries, prefixes), ([], []))

    def test_a_page_ending_on_a_common_prefix(self):
        before = [e for e in self.expected if e[1] < "dir/"]
        after = [e for e in self.expected if e[1] > "dir/" and not e[1].startswith("dir/")]
        self.assertTrue(after)
        fields, entries, prefixes = self.raw_versions(
            self.BUCKET, delimiter="/", **{"max-keys": str(len(before) + 1)})
        self.assertEntries(entries, before)
        self.assertEqual(prefixes, ["dir/"])
        self.assertEqual(fields.get("IsTruncated"), "true")
        self.assertEqual(fields.get("NextKeyMarker"), "dir/")
        self.assertNotIn("NextVersionIdMarker", fields)
        fields, entries, prefixes = self.raw_versions(self.BUCKET, delimiter="/",
                                                      **{"key-marker": "dir/"})
        self.assertEntries(entries, after)
        self.assertEqual(prefixes, [])
        self.assertEqual(fields.get("IsTruncated"), "false")

    def test_never_versioned_bucket_lists_null_versions(self):
        self.make_bucket("listing-plain")
        for key in ("z", "x", "y"):
            self.put("listing-plain", key, key.encode())
        self.put("listing-plain", "x", b"overwritten")
        _, entries, _ = self.raw_versions("listing-plain")
        self.assertEqual(entries, [("Version", key, "null", "true") for key in ("x", "y", "z")])
        response = self.s3.list_object_versions(Bucket="listing-plain")
        self.assertEqual([(v["Key"], v["VersionId"], v["IsLatest"], v["Size"])
                          for v in response["Versions"]],
                         [("x", "null", True, 11), ("y", "null", True, 1),
                          ("z", "null", True, 1)])
        self.assertNotIn("DeleteMarkers", response)
        paginator = self.s3.get_paginator("list_object_versions")
        keys = [v["Key"] for page in paginator.paginate(Bucket="listing-plain",
                                                        PaginationConfig={"PageSize": 1})
                for v in page.get("Versions", [])]
        self.assertEqual(keys, ["x", "y", "z"])

    def test_the_aws_cli_lists_versions(self):
        out = self.assertCliOk(self.server.aws("s3api", "list-object-versions",
                                               "--bucket", self.BUCKET, "--prefix", "a"))
        self.assertEqual([(v["VersionId"], v["IsLatest"]) for v in out["Versions"]],
                         [(e[2], e[3] == "true") for e in self.expected if e[1] == "a"])
        out = self.assertCliOk(self.server.aws("s3api", "list-object-versions",
                                               "--bucket", self.BUCKET, "--page-size", "1"))
        self.assertEqual(len(out.get("Versions", [])) + len(out.get("DeleteMarkers", [])),
                         len(self.expected))


# --- DeleteObjects, BucketNotEmpty, emptying a bucket ---------------------------------------------

class DeleteObjectsTest(VersioningTestCase):

    def test_delete_objects_with_and_without_version_ids(self):
        self.make_bucket("multi", "Enabled")
        k1v1 = self.put("multi", "k1", b"k1 one")
        k1v2 = self.put("multi", "k1", b"k1 two")
        self.put("multi", "k2", b"k2 one")
        response = self.s3.delete_objects(Bucket="multi", Delete={"Objects": [
            {"Key": "k1", "VersionId": k1v1},
            {"Key": "k2"},
        ]})
        self.assertNotIn("Errors", response)
        deleted = {d["Key"]: d for d in response["Deleted"]}
        self.assertEqual(deleted["k1"], {"Key": "k1", "VersionId": k1v1})
        self.assertEqual(deleted["k2"].get("DeleteMarker"), True)
        marker = deleted["k2"].get("DeleteMarkerVersionId")
        self.assertVersionId(marker)
        self.assertNotIn("VersionId", deleted["k2"])
        self.assertEqual(self.body_of("multi", "k1"), b"k1 two")
        self.assertS3Error(404, "NoSuchVersion", NO_SUCH_VERSION, self.s3.get_object,
                           Bucket="multi", Key="k1", VersionId=k1v1)
        self.assertS3Error(404, "NoSuchKey", NO_SUCH_KEY, self.s3.get_object, Bucket="multi",
                           Key="k2")
        # Naming the marker removes it. An unknown id, forged or once real, is a per-key
        # NoSuchVersion error (reference §1.5: "malformed or not"), for an existing key and a
        # missing one alike; unlike DELETE ?versionId=, which answers 204 for a gone id.
        response = self.s3.delete_objects(Bucket="multi", Delete={"Objects": [
            {"Key": "k2", "VersionId": marker},
            {"Key": "k1", "VersionId": forged(k1v2)},
            {"Key": "no-such-key", "VersionId": forged(k1v2)},
            {"Key": "k1", "VersionId": k1v1},
        ]})
        self.assertEqual(response["Deleted"], [{"Key": "k2", "VersionId": marker,
                                                "DeleteMarker": True,
                                                "DeleteMarkerVersionId": marker}])
        errors = sorted((e["Key"], e.get("VersionId"), e["Code"], e["Message"])
                        for e in response["Errors"])
        self.assertEqual(errors, sorted([
            ("k1", forged(k1v2), "NoSuchVersion", NO_SUCH_VERSION),
            ("k1", k1v1, "NoSuchVersion", NO_SUCH_VERSION),
            ("no-such-key", forged(k1v2), "NoSuchVersion", NO_SUCH_VERSION)]))
        self.assertEqual(self.body_of("multi", "k2"), b"k2 one")
        self.assertEqual(self.body_of("multi", "k1"), b"k1 two")
        listed = self.s3.list_object_versions(Bucket="multi")
        self.assertEqual(sorted((v["Key"], v["VersionId"]) for v in listed["Versions"]),
                         sorted([("k1", k1v2), ("k2", self.s3.head_object(
                             Bucket="multi", Key="k2")["VersionId"])]))
        self.assertNotIn("DeleteMarkers", listed)

    def test_quiet_delete_objects_of_versions(self):
        self.make_bucket("multi-quiet", "Enabled")
        ids = [self.put("multi-quiet", "k", b"%d" % i) for i in range(3)]
        response = self.s3.delete_objects(Bucket="multi-quiet", Delete={
            "Objects": [{"Key": "k", "VersionId": v} for v in ids[:2]], "Quiet": True})
        self.assertNotIn("Deleted", response)
        self.assertNotIn("Errors", response)
        listed = self.s3.list_object_versions(Bucket="multi-quiet")
        self.assertEqual([v["VersionId"] for v in listed["Versions"]], [ids[2]])

    def test_bucket_with_only_markers_or_old_versions_is_not_empty(self):
        self.make_bucket("not-empty", "Enabled")
        v1 = self.put("not-empty", "old", b"old")
        self.put("not-empty", "old", b"new")
        current = self.s3.get_object(Bucket="not-empty", Key="old")["VersionId"]
        self.s3.delete_object(Bucket="not-empty", Key="old", VersionId=current)
        # v1 is current again; hide it behind a marker, then leave only the marker.
        self.assertEqual(self.s3.head_object(Bucket="not-empty", Key="old")["VersionId"], v1)
        marker = self.s3.delete_object(Bucket="not-empty", Key="old")["VersionId"]
        self.assertS3Error(409, "BucketNotEmpty", NOT_EMPTY_VERSIONED, self.s3.delete_bucket,
                           Bucket="not-empty", s3_fields={"BucketName": "not-empty"})
        self.s3.delete_object(Bucket="not-empty", Key="old", VersionId=v1)
        listed = self.s3.list_object_versions(Bucket="not-empty")
        self.assertNotIn("Versions", listed)
        self.assertEqual([m["VersionId"] for m in listed["DeleteMarkers"]], [marker])
        self.assertS3Error(409, "BucketNotEmpty", NOT_EMPTY_VERSIONED, self.s3.delete_bucket,
                           Bucket="not-empty", s3_fields={"BucketName": "not-empty"})
        self.s3.delete_object(Bucket="not-empty", Key="old", VersionId=marker)
        self.assertEqual(self.s3.delete_bucket(Bucket="not-empty")["ResponseMetadata"]
                         ["HTTPStatusCode"], 204)

    def fill(self, bucket):
        """A history of 30 keys: versions, markers, a null version from before versioning."""
        self.put(bucket, "from-before", b"null")
        self.set_versioning(bucket, "Enabled")
        for i in range(30):
            key = f"dir{i % 3}/key{i:02d}"
            for n in range(1 + i % 3):
                self.put(bucket, key, b"%d" % n)
            if i % 4 == 0:
                self.s3.delete_object(Bucket=bucket, Key=key)
        self.s3.delete_object(Bucket=bucket, Key="only-a-marker")

    def test_emptying_a_bucket_with_list_object_versions_and_delete_objects(self):
        self.make_bucket("to-empty")
        self.fill("to-empty")
        total = 1 + sum(1 + i % 3 for i in range(30)) + 8 + 1
        # First every entry through the paginator, then DeleteObjects in batches.
        paginator = self.s3.get_paginator("list_object_versions")
        entries = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                   for page in paginator.paginate(Bucket="to-empty",
                                                  PaginationConfig={"PageSize": 7})
                   for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        self.assertEqual(len(entries), total)
        self.assertEqual(len({(e["Key"], e["VersionId"]) for e in entries}), total)
        for start in range(0, len(entries), 25):
            response = self.s3.delete_objects(Bucket="to-empty", Delete={
                "Objects": entries[start:start + 25], "Quiet": True})
            self.assertNotIn("Errors", response)
        listed = self.s3.list_object_versions(Bucket="to-empty")
        self.assertNotIn("Versions", listed)
        self.assertNotIn("DeleteMarkers", listed)
        self.assertEqual(self.s3.delete_bucket(Bucket="to-empty")["ResponseMetadata"]
                         ["HTTPStatusCode"], 204)
        self.assertS3Error(404, "404", None, self.s3.head_bucket, Bucket="to-empty")

    def test_emptying_a_bucket_one_listed_page_at_a_time(self):
        # The other common loop: list the first page, delete it, list again until empty.
        self.make_bucket("to-empty-loop")
        self.fill("to-empty-loop")
        removed = 0
        for _ in range(100):
            page = self.s3.list_object_versions(Bucket="to-empty-loop", MaxKeys=9)
            objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                       for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if not objects:
                break
            response = self.s3.delete_objects(Bucket="to-empty-loop",
                                              Delete={"Objects": objects})
            self.assertNotIn("Errors", response)
            self.assertEqual(len(response["Deleted"]), len(objects))
            removed += len(objects)
        self.assertEqual(removed, 1 + sum(1 + i % 3 for i in range(30)) + 8 + 1)
        self.s3.delete_bucket(Bucket="to-empty-loop")

    def test_emptying_a_bucket_with_the_boto3_resource(self):
        self.make_bucket("to-empty-resource")
        self.fill("to-empty-resource")
        session = boto3.session.Session(
            aws_access_key_id=self.server.access_key_id,
            aws_secret_access_key=self.server.secret_access_key, region_name="us-east-1",
            botocore_session=self.server.botocore_session())
        resource = session.resource("s3", endpoint_url=self.server.endpoint,
                                    config=botocore.config.Config(
                                        s3={"addressing_style": "path"},
                                        retries={"total_max_attempts": 1, "mode": "standard"}))
        bucket = resource.Bucket("to-empty-resource")
        bucket.object_versions.delete()
        bucket.delete()
        self.assertS3Error(404, "404", None, self.s3.head_bucket, Bucket="to-empty-resource")

    def test_aws_s3_rm_recursive_leaves_markers_and_versions_stay_reachable(self):
        self.make_bucket("cli-rm", "Enabled")
        ids = {key: self.put("cli-rm", key, key.encode()) for key in ("a.txt", "d/b.txt")}
        self.assertCliOk(self.server.aws("s3", "rm", "s3://cli-rm", "--recursive"))
        out = self.assertCliOk(self.server.aws("s3api", "list-object-versions",
                                               "--bucket", "cli-rm"))
        self.assertEqual(sorted((v["Key"], v["VersionId"], v["IsLatest"])
                                for v in out["Versions"]),
                         sorted((key, vid, False) for key, vid in ids.items()))
        self.assertEqual(sorted((m["Key"], m["IsLatest"]) for m in out["DeleteMarkers"]),
                         [("a.txt", True), ("d/b.txt", True)])
        self.assertEqual(self.server.aws("s3", "ls", "s3://cli-rm", "--recursive").out, "")
        target = os.path.join(self.server.tmp_dir, "a-old.txt")
        self.assertCliOk(self.server.aws("s3api", "get-object", "--bucket", "cli-rm",
                                         "--key", "a.txt", "--version-id", ids["a.txt"], target))
        with open(target, "rb") as f:
            self.assertEqual(f.read(), b"a.txt")
        for entry in out["Versions"] + out["DeleteMarkers"]:
            self.assertCliOk(self.server.aws("s3api", "delete-object", "--bucket", "cli-rm",
                                             "--key", entry["Key"],
                                             "--version-id", entry["VersionId"]))
        self.assertCliOk(self.server.aws("s3", "rb", "s3://cli-rm"))


class VersionDurabilityTest(VersioningTestCase):

    def test_versions_markers_and_bucket_state_survive_restarts(self):
        self.make_bucket("durable")
        self.put("durable", "k", b"null from before")
        self.set_versioning("durable", "Enabled")
        v1 = self.put("durable", "k", b"one")
        marker = self.s3.delete_object(Bucket="durable", Key="k")["VersionId"]
        v2 = self.put("durable", "other", b"two")
        self.set_versioning("durable", "Suspended")
        before = self.raw_versions("durable")[1]
        self.assertEqual([e[2] for e in before], [marker, v1, "null", v2])
        for restart in (self.server.restart, self.server.crash_restart):
            with self.subTest(restart=restart.__name__):
                restart()
                s3 = self.server.s3_client()
                self.assertEqual(s3.get_bucket_versioning(Bucket="durable").get("Status"),
                                 "Suspended")
                self.assertEqual(self.raw_versions("durable")[1], before)
                got = s3.get_object(Bucket="durable", Key="k", VersionId=v1)
                self.assertEqual(got["Body"].read(), b"one")
                got = s3.get_object(Bucket="durable", Key="k", VersionId="null")
                self.assertEqual(got["Body"].read(), b"null from before")
                error = self.assertS3Error(404, "NoSuchKey", NO_SUCH_KEY, s3.get_object,
                                           Bucket="durable", Key="k")
                self.assertEqual(headers_of(error).get("x-amz-version-id"), marker)
                # Ids issued before the restart still validate; forged ones still do not.
                self.assertS3Error(400, "InvalidArgument", INVALID_VERSION_ID, s3.get_object,
                                   Bucket="durable", Key="k", VersionId=forged(v1))


# --- garbage collection of deleted versions -------------------------------------------------------

class VersionGarbageTest(VersioningTestCase):
    """Blob files of versions: kept while any version needs them, gone after the grace time once
    the version is deleted for good (advance_clock runs the maintenance synchronously)."""

    def blob_files(self):
        return {os.path.basename(p) for p in
                glob.glob(os.path.join(self.server.data_dir, "blobs", "objects", "*", "*"))}

    def put_tracked(self, bucket, key, body, **kwargs):
        """PutObject; returns (version id, the one blob file the write added)."""
        before = self.blob_files()
        version_id = self.put(bucket, key, body, **kwargs)
        added = self.blob_files() - before
        self.assertEqual(len(added), 1, added)
        return version_id, added.pop()

    def after_grace(self):
        self.server.advance_clock(GRACE_CROSSING_SECONDS)
        return self.blob_files()

    def test_deleting_a_version_for_good_removes_its_blob(self):
        self.make_bucket("gc-versions", "Enabled")
        written = [self.put_tracked("gc-versions", "k", os.urandom(100 * KIB)) for _ in range(3)]
        (v1, b1), (v2, b2), (v3, b3) = written
        # A delete marker releases nothing: every version is still reachable by id.
        marker = self.s3.delete_object(Bucket="gc-versions", Key="k")["VersionId"]
        self.assertLessEqual({b1, b2, b3}, self.after_grace())
        self.s3.delete_object(Bucket="gc-versions", Key="k", VersionId=v1)
        files = self.after_grace()
        self.assertNotIn(b1, files)
        self.assertLessEqual({b2, b3}, files)
        self.s3.delete_objects(Bucket="gc-versions", Delete={"Objects": [
            {"Key": "k", "VersionId": v2}, {"Key": "k", "VersionId": marker}]})
        files = self.after_grace()
        self.assertNotIn(b2, files)
        self.assertIn(b3, files)
        self.assertEqual(len(self.body_of("gc-versions", "k", v3)), 100 * KIB)
        self.assertEqual(self.s3.head_object(Bucket="gc-versions", Key="k")["VersionId"], v3)
        self.assertEqual(self.server.documents("s3.garbage"), [])

    def test_a_suspended_overwrite_or_delete_releases_the_null_versions_blob(self):
        self.make_bucket("gc-null", "Enabled")
        v1, b1 = self.put_tracked("gc-null", "k", os.urandom(70 * KIB))
        self.set_versioning("gc-null", "Suspended")
        _, null1 = self.put_tracked("gc-null", "k", os.urandom(70 * KIB))
        _, null2 = self.put_tracked("gc-null", "k", os.urandom(70 * KIB))
        files = self.after_grace()
        self.assertNotIn(null1, files)
        self.assertLessEqual({b1, null2}, files)
        self.s3.delete_object(Bucket="gc-null", Key="k")  # the null marker replaces null2
        files = self.after_grace()
        self.assertNotIn(null2, files)
        self.assertIn(b1, files)
        self.assertEqual(len(self.body_of("gc-null", "k", v1)), 70 * KIB)

    def test_a_never_versioned_overwrite_releases_the_old_blob(self):
        self.make_bucket("gc-plain")
        _, old = self.put_tracked("gc-plain", "k", os.urandom(70 * KIB))
        _, new = self.put_tracked("gc-plain", "k", os.urandom(70 * KIB))
        files = self.after_grace()
        self.assertNotIn(old, files)
        self.assertIn(new, files)


# --- SSE: every version keeps its own mode and key; a key's state decides its versions' fate ------

class VersionEncryptionTest(VersioningTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kms = cls.server.client("kms")

    def set_default(self, bucket, algorithm, key_id=None):
        apply = {"SSEAlgorithm": algorithm}
        if key_id:
            apply["KMSMasterKeyID"] = key_id
        self.s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": apply}]})

    def test_every_version_reads_under_its_own_key_and_a_keys_deletion_takes_only_its_own(self):
        key_a = self.kms.create_key(Description="versions A")["KeyMetadata"]
        key_b = self.kms.create_key(Description="versions B")["KeyMetadata"]
        self.make_bucket("sse-versions", "Enabled")
        self.set_default("sse-versions", "aws:kms", key_a["KeyId"])
        sse_c = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": CUSTOMER_KEY}
        versions = []  # (version id, body, ServerSideEncryption, key ARN or None, get kwargs)

        def write(body, expect_sse, expect_key, **kwargs):
            version_id = self.put("sse-versions", "doc", body, **kwargs)
            self.assertVersionId(version_id)
            get_kwargs = sse_c if "SSECustomerKey" in kwargs else {}
            versions.append((version_id, body, expect_sse, expect_key, get_kwargs))

        write(b"A by default, one" * 5000, "aws:kms", key_a["Arn"])
        write(b"A by default, two" * 10, "aws:kms", key_a["Arn"])
        self.set_default("sse-versions", "aws:kms", key_b["KeyId"])
        write(b"B by default" * 3000, "aws:kms", key_b["Arn"])
        write(b"SSE-S3 asked for", "AES256", None, ServerSideEncryption="AES256")
        write(b"SSE-C", None, None, **sse_c)
        write(b"A asked for", "aws:kms", key_a["Arn"], ServerSideEncryption="aws:kms",
              SSEKMSKeyId=key_a["KeyId"])
        write(b"B, current", "aws:kms", key_b["Arn"])

        def check_readable(entries):
            for version_id, body, sse, key_arn, get_kwargs in entries:
                with self.subTest(version_id=version_id, sse=sse, key=key_arn):
                    got = self.s3.get_object(Bucket="sse-versions", Key="doc",
                                             VersionId=version_id, **get_kwargs)
                    self.assertEqual(got["Body"].read(), body)
                    self.assertEqual(got.get("ServerSideEncryption"), sse)
                    self.assertEqual(got.get("SSEKMSKeyId"), key_arn)
                    head = self.s3.head_object(Bucket="sse-versions", Key="doc",
                                               VersionId=version_id, **get_kwargs)
                    self.assertEqual((head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")),
                                     (sse, key_arn))

        check_readable(versions)
        sse_c_version = versions[4][0]
        self.assertS3Error(400, "InvalidRequest", SSE_C_MISSING, self.s3.get_object,
                           Bucket="sse-versions", Key="doc", VersionId=sse_c_version)

        under_a = [v for v in versions if v[3] == key_a["Arn"]]
        others = [v for v in versions if v[3] != key_a["Arn"]]
        self.assertEqual(len(under_a), 3)

        def check_unreadable(code, message):
            for version_id, *_ in under_a:
                with self.subTest(version_id=version_id, code=code):
                    self.assertS3Error(400, code, message, self.s3.get_object,
                                       Bucket="sse-versions", Key="doc", VersionId=version_id)
            self.assertS3Error(400, code, message, self.s3.copy_object, Bucket="sse-versions",
                               Key="copy", ServerSideEncryption="AES256",
                               CopySource={"Bucket": "sse-versions", "Key": "doc",
                                           "VersionId": under_a[0][0]})

        # Disabling B takes B's versions (including the current one) and nothing else.
        self.kms.disable_key(KeyId=key_b["KeyId"])
        try:
            for version_id in (versions[2][0], versions[6][0]):
                self.assertS3Error(400, "KMS.DisabledException", f"{key_b['Arn']} is disabled.",
                                   self.s3.get_object, Bucket="sse-versions", Key="doc",
                                   VersionId=version_id)
            self.assertS3Error(400, "KMS.DisabledException", f"{key_b['Arn']} is disabled.",
                               self.s3.get_object, Bucket="sse-versions", Key="doc")
            check_readable(under_a + [versions[3], versions[4]])
        finally:
            self.kms.enable_key(KeyId=key_b["KeyId"])

        self.kms.schedule_key_deletion(KeyId=key_a["KeyId"], PendingWindowInDays=7)
        check_unreadable("KMS.KMSInvalidStateException", f"{key_a['Arn']} is pending deletion.")
        check_readable(others)
        self.server.advance_clock(7 * DAY + 1)
        check_unreadable("KMS.NotFoundException", f"Key '{key_a['Arn']}' does not exist")
        check_readable(others)
        # The versions are still listed, and can still be deleted for good.
        listed = self.s3.list_object_versions(Bucket="sse-versions")
        self.assertEqual([v["VersionId"] for v in listed["Versions"]],
                         [v[0] for v in versions[::-1]])
        for version_id, *_ in under_a:
            self.s3.delete_object(Bucket="sse-versions", Key="doc", VersionId=version_id)
        listed = self.s3.list_object_versions(Bucket="sse-versions")
        self.assertEqual([v["VersionId"] for v in listed["Versions"]],
                         [v[0] for v in others[::-1]])
        check_readable(others)

    def test_each_version_has_its_own_data_key(self):
        key = self.kms.create_key(Description="per-version data keys")["KeyMetadata"]
        self.make_bucket("sse-data-keys", "Enabled")
        before = self.server.metrics().get("kms_calls", {}).get("GenerateDataKey", 0)
        ids = [self.put("sse-data-keys", "same", b"same bytes", ServerSideEncryption="aws:kms",
                        SSEKMSKeyId=key["KeyId"]) for _ in range(3)]
        after = self.server.metrics().get("kms_calls", {}).get("GenerateDataKey", 0)
        self.assertEqual(after - before, 3)
        # Deleting one version leaves the others readable under their own data keys.
        self.s3.delete_object(Bucket="sse-data-keys", Key="same", VersionId=ids[1])
        for version_id in (ids[0], ids[2]):
            self.assertEqual(self.body_of("sse-data-keys", "same", version_id), b"same bytes")


if __name__ == "__main__":
    unittest.main()
