"""FULL_OBJECT multipart checksums, exactly as S3 (docs/reference/s3-data-protection.md §9), with
raw signed requests (Debian 12's boto3 predates ChecksumType) and boto3 for reads.

Covered: the parts' CRC32/CRC32C combined into the whole object's checksum on Complete, returned
on Complete and on GET/HEAD with checksum mode; the whole object's x-amz-checksum-<alg> on
Complete accepted when right (it used to be checked against the XML body) and 400 BadDigest when
wrong or sent without x-amz-checksum-type FULL_OBJECT; a Complete in another checksum mode refused
with InvalidRequest, for FULL_OBJECT and for uploads made without a checksum.
"""

import base64
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

from harness import HangarTestCase
from test_s3_api import checksum_b64

MiB = 1024 * 1024
NS = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}


class FullObjectChecksumTest(HangarTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.s3.create_bucket(Bucket="sums")

    def request(self, method, key, body=b"", query="", headers=None, expect=200):
        r = self.server.s3_request(method, f"/sums/{key}", body, query=query, headers=headers)
        self.assertEqual(r.status, expect, r.body)
        return r

    def upload(self, key, algorithm, parts, checksum_type="FULL_OBJECT"):
        headers = {}
        if algorithm:
            headers = {"x-amz-checksum-algorithm": algorithm, "x-amz-checksum-type": checksum_type}
        r = self.request("POST", key, query="uploads", headers=headers)
        upload_id = ET.fromstring(r.body).findtext("s3:UploadId", namespaces=NS)
        listed = []
        for number, data in enumerate(parts, start=1):
            part_headers = {}
            if algorithm:
                part_headers[f"x-amz-checksum-{algorithm.lower()}"] = checksum_b64(algorithm, data)
            query = f"partNumber={number}&uploadId={urllib.parse.quote(upload_id)}"
            r = self.request("PUT", key, data, query=query, headers=part_headers)
            listed.append((number, r.headers["etag"]))
        return upload_id, listed

    def complete(self, key, upload_id, listed, headers=None, expect=200):
        xml = "<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>" for n, etag in listed
        ) + "</CompleteMultipartUpload>"
        return self.request("POST", key, xml.encode(),
                            query=f"uploadId={urllib.parse.quote(upload_id)}",
                            headers=headers or {}, expect=expect)

    def test_parts_combine_into_the_whole_objects_checksum(self):
        parts = [b"a" * (5 * MiB), bytes(range(256)) * (5 * 4096) + b"tail", b"z" * 333]
        whole = b"".join(parts)
        for algorithm in ("CRC32", "CRC32C"):
            with self.subTest(algorithm=algorithm):
                key = f"full-{algorithm}"
                expected = checksum_b64(algorithm, whole)
                upload_id, listed = self.upload(key, algorithm, parts)
                # The whole object's checksum on Complete: accepted (not checked against the XML).
                r = self.complete(key, upload_id, listed, headers={
                    f"x-amz-checksum-{algorithm.lower()}": expected,
                    "x-amz-checksum-type": "FULL_OBJECT"})
                result = ET.fromstring(r.body)
                self.assertEqual(result.findtext(f"s3:Checksum{algorithm}", namespaces=NS),
                                 expected)
                self.assertEqual(result.findtext("s3:ChecksumType", namespaces=NS), "FULL_OBJECT")
                head = self.s3.head_object(Bucket="sums", Key=key, ChecksumMode="ENABLED")
                self.assertEqual(head[f"Checksum{algorithm}"], expected)
                self.assertEqual(head["ResponseMetadata"]["HTTPHeaders"]["x-amz-checksum-type"],
                                 "FULL_OBJECT")
                got = self.s3.get_object(Bucket="sums", Key=key)["Body"].read()
                self.assertEqual(got, whole)

    def test_a_wrong_whole_object_checksum_is_bad_digest(self):
        parts = [b"x" * (5 * MiB), b"y" * 10]
        upload_id, listed = self.upload("full-bad", "CRC32C", parts)
        wrong = checksum_b64("CRC32C", b"something else")
        for headers in ({"x-amz-checksum-crc32c": wrong, "x-amz-checksum-type": "FULL_OBJECT"},
                        # the right value, but without the type header
                        {"x-amz-checksum-crc32c": checksum_b64("CRC32C", b"".join(parts))}):
            r = self.complete("full-bad", upload_id, listed, headers=headers, expect=400)
            root = ET.fromstring(r.body)
            self.assertEqual(root.findtext("Code"), "BadDigest")
            self.assertEqual(root.findtext("Message"),
                             "The crc32c you specified did not match the calculated checksum.")
        # The upload survives and completes.
        self.complete("full-bad", upload_id, listed)
        self.assertEqual(self.s3.head_object(Bucket="sums", Key="full-bad")["ContentLength"],
                         5 * MiB + 10)

    def test_the_complete_must_use_the_uploads_mode(self):
        upload_id, listed = self.upload("mode-full", "CRC32", [b"m" * 100])
        r = self.complete("mode-full", upload_id, listed,
                          headers={"x-amz-checksum-type": "COMPOSITE"}, expect=400)
        self.assertEqual(ET.fromstring(r.body).findtext("Message"),
                         "The upload was created using the FULL_OBJECT checksum mode. The "
                         "complete request must use the same checksum mode.")
        upload_id, listed = self.upload("mode-null", None, [b"n" * 100])
        r = self.complete("mode-null", upload_id, listed,
                          headers={"x-amz-checksum-type": "FULL_OBJECT"}, expect=400)
        self.assertEqual(ET.fromstring(r.body).findtext("Message"),
                         "The upload was created using the null checksum mode. The complete "
                         "request must use the same checksum mode.")


if __name__ == "__main__":
    unittest.main()


def crc64nvme(data: bytes) -> int:
    """CRC-64/NVME (reflected 0x9A6C9329AC4BC9B5, init and xorout all ones), bit by bit: slow, but
    independent of the server's table-driven code."""
    crc = 0xFFFFFFFFFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x9A6C9329AC4BC9B5 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFFFFFFFFFF


def crc64nvme_b64(data: bytes) -> str:
    return base64.b64encode(crc64nvme(data).to_bytes(8, "big")).decode()


class DefaultChecksumTest(HangarTestCase):
    """Every new object gets a full-object CRC64NVME when it arrives without a checksum, as S3
    computes since 2024 (s3-data-protection.md §9)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.s3.create_bucket(Bucket="defaults")

    def raw(self, method, key, body=b"", query="", headers=None):
        r = self.server.s3_request(method, f"/defaults/{key}", body, query=query, headers=headers)
        self.assertLess(r.status, 300, r.body)
        return r

    def test_the_check_value_of_the_reference_crc(self):
        # CRC-64/NVME's published check value for "123456789", so the helper itself is right.
        self.assertEqual(crc64nvme(b"123456789"), 0xAE8B14860A799888)

    def test_a_put_without_checksum_stores_and_returns_crc64nvme(self):
        data = b"no checksum sent with this body " * 100
        r = self.raw("PUT", "plain", data)
        self.assertEqual(r.headers.get("x-amz-checksum-crc64nvme"), crc64nvme_b64(data))
        self.assertEqual(r.headers.get("x-amz-checksum-type"), "FULL_OBJECT")
        head = self.s3.head_object(Bucket="defaults", Key="plain", ChecksumMode="ENABLED")
        self.assertEqual(head["ResponseMetadata"]["HTTPHeaders"].get("x-amz-checksum-crc64nvme"),
                         crc64nvme_b64(data))
        got = self.s3.get_object(Bucket="defaults", Key="plain", ChecksumMode="ENABLED")
        self.assertEqual(got["Body"].read(), data)
        self.assertEqual(got["ResponseMetadata"]["HTTPHeaders"].get("x-amz-checksum-crc64nvme"),
                         crc64nvme_b64(data))
        listed = self.s3.list_objects_v2(Bucket="defaults", Prefix="plain")["Contents"][0]
        self.assertEqual(listed.get("ChecksumAlgorithm"), ["CRC64NVME"])

    def test_a_client_checksum_is_kept_instead(self):
        data = b"with my own sha256"
        self.raw("PUT", "own", data, headers={"x-amz-checksum-sha256": checksum_b64("SHA256", data)})
        head = self.raw("HEAD", "own", headers={"x-amz-checksum-mode": "ENABLED"})
        self.assertEqual(head.headers.get("x-amz-checksum-sha256"), checksum_b64("SHA256", data))
        self.assertNotIn("x-amz-checksum-crc64nvme", head.headers)

    def test_a_copy_of_an_object_without_checksum_gets_one(self):
        data = b"copied"
        self.raw("PUT", "copy-src", data)
        r = self.raw("PUT", "copy-dst", headers={"x-amz-copy-source": "/defaults/copy-src"})
        result = ET.fromstring(r.body)
        self.assertEqual(result.findtext("s3:ChecksumCRC64NVME", namespaces=NS), crc64nvme_b64(data))

    def test_a_multipart_upload_without_algorithm_ends_with_the_combined_crc64nvme(self):
        parts = [b"p" * (5 * MiB), bytes(range(256)) * 1000 + b"end"]
        r = self.raw("POST", "mpu", query="uploads")
        upload_id = ET.fromstring(r.body).findtext("s3:UploadId", namespaces=NS)
        listed = []
        for number, data in enumerate(parts, start=1):
            query = f"partNumber={number}&uploadId={urllib.parse.quote(upload_id)}"
            r = self.raw("PUT", "mpu", data, query=query)
            listed.append((number, r.headers["etag"]))
        xml = "<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>" for n, etag in listed
        ) + "</CompleteMultipartUpload>"
        r = self.raw("POST", "mpu", xml.encode(), query=f"uploadId={urllib.parse.quote(upload_id)}")
        whole = crc64nvme_b64(b"".join(parts))
        result = ET.fromstring(r.body)
        self.assertEqual(result.findtext("s3:ChecksumCRC64NVME", namespaces=NS), whole)
        self.assertEqual(result.findtext("s3:ChecksumType", namespaces=NS), "FULL_OBJECT")
        attrs = self.s3.get_object_attributes(Bucket="defaults", Key="mpu",
                                              ObjectAttributes=["Checksum", "ObjectParts"])
        self.assertEqual(attrs["Checksum"].get("ChecksumCRC64NVME"), whole)
        # A FULL_OBJECT object's parts carry no checksums of their own: only the count.
        self.assertEqual(attrs["ObjectParts"], {"TotalPartsCount": 2})
