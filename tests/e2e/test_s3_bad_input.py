"""S3 bad input over raw HTTP: requests signed with botocore's SigV4 signer (or deliberately not)
and sent as bytes, so that bodies, digests, aws-chunked framing and lengths can be anything a
broken or hostile client sends.

Every refusal must be AWS's S3 error XML (Code, Message, the error's extra elements, RequestId
equal to the x-amz-request-id header) with AWS's status, must leave no trace (no object, or the
old object unchanged), and the server must keep serving normal requests afterwards.
"""

import hashlib
import hmac
import os
import socket
import urllib.parse
import xml.etree.ElementTree as ElementTree
import zlib

from harness import REGION, HangarTestCase, b64

MALFORMED_XML = ("The XML you provided was not well-formed or did not validate against our "
                 "published schema")
SIGNATURE_MISMATCH = ("The request signature we calculated does not match the signature you "
                      "provided. Check your key and signing method.")
PART_NUMBER_RANGE = "Part number must be an integer between 1 and 10000, inclusive"
ALPHABET = b"0123456789abcdefghijklmnopqrstuvwxyz"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
SMALL_PUT_LIMIT = 64 * 1024  # bodies up to this size are buffered before dispatch, larger stream


def md5_b64(data: bytes) -> str:
    return b64(hashlib.md5(data).digest())


def crc32_b64(data: bytes) -> str:
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def hmac_sha256(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret: str, date: str, region=REGION, service="s3") -> bytes:
    key = hmac_sha256(("AWS4" + secret).encode("utf-8"), date)
    for part in (region, service, "aws4_request"):
        key = hmac_sha256(key, part)
    return key


def chunk_signature(key: bytes, amz_date: str, scope: str, previous: str, data: bytes) -> str:
    """s3.md §7.2: AWS4-HMAC-SHA256-PAYLOAD, date, scope, previous signature, hash of "", hash of
    the chunk's data."""
    string_to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous,
                                EMPTY_SHA256, hashlib.sha256(data).hexdigest()])
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def split(payload: bytes, size: int):
    return [payload[i:i + size] for i in range(0, len(payload), size)]


def signed_chunk_frames(payload: bytes, chunk_size: int, key: bytes, amz_date: str, scope: str,
                        seed: str, tamper=None):
    """The frames of a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body: every chunk, then the empty one,
    each signed over the previous signature. tamper(index, data, signature) may return a
    replacement (data, signature) for a chunk after it was signed."""
    out, previous = [], seed
    chunks = split(payload, chunk_size) + [b""]
    for index, data in enumerate(chunks):
        signature = chunk_signature(key, amz_date, scope, previous, data)
        previous = signature
        if tamper is not None:
            data, signature = tamper(index, data, signature)
        out.append(f"{len(data):x};chunk-signature={signature}\r\n".encode() + data + b"\r\n")
    return out


def signed_chunked_body(*args, **kwargs) -> bytes:
    return b"".join(signed_chunk_frames(*args, **kwargs))


def unsigned_chunked_body(payload: bytes, chunk_size: int, trailers) -> bytes:
    """The aws-chunked body of STREAMING-UNSIGNED-PAYLOAD-TRAILER (botocore's framing)."""
    out = [f"{len(data):x}\r\n".encode() + data + b"\r\n" for data in split(payload, chunk_size)]
    out.append(b"0\r\n")
    out += [f"{name}:{value}\r\n".encode() for name, value in trailers]
    out.append(b"\r\n")
    return b"".join(out)


class S3BadInputTestCase(HangarTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.bucket = "bad-input"
        cls.s3.create_bucket(Bucket=cls.bucket)
        cls.s3.put_object(Bucket=cls.bucket, Key="canary", Body=b"still here")

    def request(self, method, path, body=b"", **kwargs):
        return self.server.s3_request(method, path, body, **kwargs)

    def assertS3XmlError(self, response, status, code, message=None, fields=None):
        """`response` is AWS's S3 error XML with this status and code (and exactly `message` and
        `fields` if given); afterwards the server still serves. Returns the parsed fields."""
        context = f"{response.status} {response.headers} {response.body[:800]!r}"
        self.assertEqual(response.status, status, context)
        request_id = response.headers.get("x-amz-request-id", "")
        self.assertTrue(request_id, context)
        if response.body or status != 304:
            self.assertEqual(response.headers.get("content-type"), "application/xml", context)
            root = ElementTree.fromstring(response.body)
            self.assertEqual(root.tag, "Error", context)
            found = {child.tag: (child.text or "") for child in root}
            self.assertEqual(found.get("Code"), code, context)
            if message is not None:
                self.assertEqual(found.get("Message"), message, context)
            for name, value in (fields or {}).items():
                self.assertEqual(found.get(name), value, f"{name}: {context}")
            self.assertEqual(found.get("RequestId"), request_id, context)
        else:
            found = {}
        self.assertStillServes()
        return found

    def assertStillServes(self):
        response = self.request("GET", f"/{self.bucket}/canary")
        self.assertEqual((response.status, response.body), (200, b"still here"))

    def assertAbsent(self, key):
        response = self.request("GET", f"/{self.bucket}/{urllib.parse.quote(key)}")
        self.assertEqual(response.status, 404, f"{key} exists: {response.body[:200]!r}")
        self.assertIn(b"<Code>NoSuchKey</Code>", response.body)

    def assertContent(self, key, body):
        response = self.request("GET", f"/{self.bucket}/{urllib.parse.quote(key)}")
        self.assertEqual(response.status, 200, response.body[:300])
        self.assertEqual(hashlib.sha256(response.body).hexdigest(),
                         hashlib.sha256(body).hexdigest(), f"{key} changed")

    def put_old(self, key, body=b"the old object"):
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        return body


class MalformedXmlTest(S3BadInputTestCase):

    BROKEN = [b"not xml at all", b"<Unclosed>", b"<a><b></a></b>", b"\xff\xfe<x/>",
              b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
              b"<x>&e;</x>"]

    def xml_request(self, method, path, query, body, checksum=True):
        headers = {"Content-MD5": md5_b64(body)} if checksum else {}
        return self.request(method, path, body, query=query, headers=headers)

    def test_complete_multipart_upload(self):
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key="xml/mpu")["UploadId"]
        etag = self.s3.upload_part(Bucket=self.bucket, Key="xml/mpu", UploadId=upload,
                                   PartNumber=1, Body=b"part")["ETag"]
        bodies = self.BROKEN + [
            b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>",
            b"<CompleteMultipartUpload><Part><PartNumber>one</PartNumber><ETag>"
            + etag.encode() + b"</ETag></Part></CompleteMultipartUpload>",
            b"<WrongRoot><Part><PartNumber>1</PartNumber><ETag>" + etag.encode()
            + b"</ETag></Part></WrongRoot>",
        ]
        for body in bodies:
            with self.subTest(body=body[:60]):
                response = self.xml_request("POST", f"/{self.bucket}/xml/mpu",
                                            f"uploadId={upload}", body)
                self.assertS3XmlError(response, 400, "MalformedXML", MALFORMED_XML)
                self.assertAbsent("xml/mpu")
        # The upload is intact: a well-formed request completes it.
        good = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}</ETag>"
                "</Part></CompleteMultipartUpload>").encode()
        response = self.xml_request("POST", f"/{self.bucket}/xml/mpu", f"uploadId={upload}", good)
        self.assertEqual(response.status, 200, response.body)
        self.assertContent("xml/mpu", b"part")

    def test_complete_with_part_number_out_of_range_is_invalid_argument(self):
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key="xml/range")["UploadId"]
        etag = self.s3.upload_part(Bucket=self.bucket, Key="xml/range", UploadId=upload,
                                   PartNumber=1, Body=b"part")["ETag"]
        for number in (0, 10001):
            with self.subTest(number=number):
                body = (f"<CompleteMultipartUpload><Part><PartNumber>{number}</PartNumber>"
                        f"<ETag>{etag}</ETag></Part></CompleteMultipartUpload>").encode()
                response = self.xml_request("POST", f"/{self.bucket}/xml/range",
                                            f"uploadId={upload}", body)
                self.assertS3XmlError(response, 400, "InvalidArgument", PART_NUMBER_RANGE)
                self.assertAbsent("xml/range")

    def test_delete_objects(self):
        self.put_old("xml/delete-me")
        bodies = self.BROKEN + [
            b"<Delete><Object><Key>xml/delete-me</Key></Object>",
            b"<Delete></Delete>",
            b"<Delete><Quiet>true</Quiet></Delete>",
            b"<Remove><Object><Key>xml/delete-me</Key></Object></Remove>",
            b"<Delete>" + b"<Object><Key>k</Key></Object>" * 1001 + b"</Delete>",
        ]
        for body in bodies:
            with self.subTest(body=body[:60]):
                response = self.xml_request("POST", f"/{self.bucket}", "delete", body)
                self.assertS3XmlError(response, 400, "MalformedXML", MALFORMED_XML)
                self.assertContent("xml/delete-me", b"the old object")

    def test_delete_objects_without_content_md5_is_invalid_request(self):
        self.put_old("xml/keep-me")
        body = b"<Delete><Object><Key>xml/keep-me</Key></Object></Delete>"
        response = self.xml_request("POST", f"/{self.bucket}", "delete", body, checksum=False)
        self.assertS3XmlError(response, 400, "InvalidRequest",
                              "Missing required header for this request: Content-MD5")
        self.assertContent("xml/keep-me", b"the old object")

    def test_delete_objects_with_wrong_content_md5_is_bad_digest(self):
        self.put_old("xml/keep-me-too")
        body = b"<Delete><Object><Key>xml/keep-me-too</Key></Object></Delete>"
        response = self.request("POST", f"/{self.bucket}", body, query="delete",
                                headers={"Content-MD5": md5_b64(body + b" ")})
        self.assertS3XmlError(response, 400, "BadDigest",
                              "The Content-MD5 you specified did not match what we received.")
        self.assertContent("xml/keep-me-too", b"the old object")

    def test_bucket_tagging(self):
        self.s3.put_bucket_tagging(Bucket=self.bucket,
                                   Tagging={"TagSet": [{"Key": "keep", "Value": "me"}]})
        bodies = self.BROKEN + [
            b"<Tagging><TagSet><Tag><Key>a</Key>",
            b"<Tagging><TagSet><Tag><Value>no key</Value></Tag></TagSet></Tagging>",
        ]
        for body in bodies:
            with self.subTest(body=body[:60]):
                response = self.xml_request("PUT", f"/{self.bucket}", "tagging", body)
                self.assertS3XmlError(response, 400, "MalformedXML", MALFORMED_XML)
                self.assertEqual(self.s3.get_bucket_tagging(Bucket=self.bucket)["TagSet"],
                                 [{"Key": "keep", "Value": "me"}])

    def test_object_tagging(self):
        self.s3.put_object(Bucket=self.bucket, Key="xml/tagged", Body=b"t", Tagging="keep=me")
        bodies = self.BROKEN + [
            b"<Tagging><TagSet><Tag><Key>a</Key>",
            b"<Tagging><TagSet><Tag><Value>no key</Value></Tag></TagSet></Tagging>",
        ]
        for body in bodies:
            with self.subTest(body=body[:60]):
                response = self.xml_request("PUT", f"/{self.bucket}/xml/tagged", "tagging", body)
                self.assertS3XmlError(response, 400, "MalformedXML", MALFORMED_XML)
                self.assertEqual(
                    self.s3.get_object_tagging(Bucket=self.bucket, Key="xml/tagged")["TagSet"],
                    [{"Key": "keep", "Value": "me"}])

    def test_create_bucket_configuration(self):
        for body in self.BROKEN:
            with self.subTest(body=body[:60]):
                response = self.request("PUT", "/xml-bucket", body)
                self.assertS3XmlError(response, 400, "MalformedXML", MALFORMED_XML)
                self.assertEqual(self.request("HEAD", "/xml-bucket").status, 404)


class DigestTest(S3BadInputTestCase):

    SIZES = {"small": 1000, "streamed": 3 * SMALL_PUT_LIMIT + 123}

    def test_wrong_content_md5_is_bad_digest_and_stores_nothing(self):
        for label, size in self.SIZES.items():
            with self.subTest(size=label):
                body = os.urandom(size)
                claimed = os.urandom(16)
                new_key, old_key = f"md5/new-{label}", f"md5/old-{label}"
                old = self.put_old(old_key)
                for key in (new_key, old_key):
                    response = self.request("PUT", f"/{self.bucket}/{key}", body,
                                            headers={"Content-MD5": b64(claimed)})
                    self.assertS3XmlError(
                        response, 400, "BadDigest",
                        "The Content-MD5 you specified did not match what we received.",
                        {"ExpectedDigest": claimed.hex(), "CalculatedDigest": md5_b64(body)})
                self.assertAbsent(new_key)
                self.assertContent(old_key, old)

    def test_invalid_content_md5_is_invalid_digest(self):
        body = b"some body"
        for value in ("not base64!", b64(b"fifteen bytes!!"), "", "AAAA"):
            with self.subTest(value=value):
                response = self.request("PUT", f"/{self.bucket}/md5/invalid", body,
                                        headers={"Content-MD5": value})
                self.assertS3XmlError(response, 400, "InvalidDigest",
                                      "The Content-MD5 you specified was invalid.",
                                      {"Content-MD5": value})
                self.assertAbsent("md5/invalid")

    def test_content_sha256_mismatch_stores_nothing(self):
        for label, size in self.SIZES.items():
            with self.subTest(size=label):
                body = os.urandom(size)
                claimed = hashlib.sha256(b"a different body").hexdigest()
                new_key, old_key = f"sha/new-{label}", f"sha/old-{label}"
                old = self.put_old(old_key)
                for key in (new_key, old_key):
                    response = self.request("PUT", f"/{self.bucket}/{key}", body,
                                            content_sha256=claimed)
                    self.assertS3XmlError(response, 400, "XAmzContentSHA256Mismatch", None,
                                          {"ClientComputedContentSHA256": claimed,
                                           "S3ComputedContentSHA256":
                                               hashlib.sha256(body).hexdigest()})
                self.assertAbsent(new_key)
                self.assertContent(old_key, old)

    def test_body_changed_after_signing_stores_nothing(self):
        body = b"signed body"
        response = self.request("PUT", f"/{self.bucket}/sha/swapped", body,
                                send_body=b"other body!")
        self.assertS3XmlError(response, 400, "XAmzContentSHA256Mismatch")
        self.assertAbsent("sha/swapped")

    def test_wrong_checksum_headers_are_bad_digest(self):
        body = b"checksummed"
        for header, value, name in (
                ("x-amz-checksum-crc32", crc32_b64(b"other"), "CRC32"),
                ("x-amz-checksum-sha256", b64(hashlib.sha256(b"other").digest()), "SHA256"),
                ("x-amz-checksum-sha1", b64(hashlib.sha1(b"other").digest()), "SHA1")):
            with self.subTest(header=header):
                response = self.request("PUT", f"/{self.bucket}/sum/bad", body,
                                        headers={header: value})
                self.assertS3XmlError(response, 400, "BadDigest",
                                      f"The {name} you specified did not match the calculated "
                                      "checksum.")
                self.assertAbsent("sum/bad")

    def test_two_checksum_headers_are_invalid_request(self):
        body = b"twice"
        response = self.request("PUT", f"/{self.bucket}/sum/two", body,
                                headers={"x-amz-checksum-crc32": crc32_b64(body),
                                         "x-amz-checksum-sha1": b64(hashlib.sha1(body).digest())})
        self.assertS3XmlError(response, 400, "InvalidRequest",
                              "Expecting a single x-amz-checksum- header. Multiple checksum Types "
                              "are not allowed.")
        self.assertAbsent("sum/two")

    def test_unsigned_amz_header_is_access_denied(self):
        # s3.md §2: x-amz-* headers that are not signed → 403 AccessDenied.
        response = self.request("PUT", f"/{self.bucket}/sum/unsigned-header", b"x",
                                after_signing={"x-amz-meta-smuggled": "yes"})
        self.assertS3XmlError(response, 403, "AccessDenied",
                              "There were headers present in the request which were not signed",
                              {"HeadersNotSigned": "x-amz-meta-smuggled"})
        self.assertAbsent("sum/unsigned-header")


class AwsChunkedTest(S3BadInputTestCase):
    """aws-chunked bodies built here from s3.md §7.2, signed from the seed signature that
    botocore's SigV4 signer puts in the Authorization header."""

    def send_streaming(self, key, payload, chunk_size, *, tamper=None, decoded_length=None,
                       cut=None, order=None):
        """PUTs `payload` with STREAMING-AWS4-HMAC-SHA256-PAYLOAD. `cut` drops that many bytes
        from the end of the framed body (Content-Length shrinks with it); `order` sends the
        signed frames in that order (indexes into the list of frames)."""
        length = len(payload) if decoded_length is None else decoded_length
        path, headers = self.server.sign(
            b"", method="PUT", path=f"/{self.bucket}/{key}", service="s3",
            headers={"X-Amz-Content-SHA256": STREAMING_SIGNED, "Content-Encoding": "aws-chunked",
                     "x-amz-decoded-content-length": str(length)})
        authorization = headers["Authorization"]
        seed = authorization.rsplit("Signature=", 1)[1]
        amz_date = headers["X-Amz-Date"]
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/", 1)[1]
        key_bytes = signing_key(self.server.secret_access_key, amz_date[:8])
        frames = signed_chunk_frames(payload, chunk_size, key_bytes, amz_date, scope, seed,
                                     tamper)
        body = b"".join(frames[i] for i in order) if order else b"".join(frames)
        if cut:
            body = body[:-cut]
        return self.exchange("PUT", path, headers, body)

    def send_unsigned_trailer(self, key, payload, chunk_size, trailers,
                              announced="x-amz-checksum-crc32", content_encoding="aws-chunked"):
        path, headers = self.server.sign(
            b"", method="PUT", path=f"/{self.bucket}/{key}", service="s3",
            headers={"X-Amz-Content-SHA256": STREAMING_UNSIGNED_TRAILER,
                     "Content-Encoding": content_encoding, "x-amz-trailer": announced,
                     "x-amz-decoded-content-length": str(len(payload))})
        return self.exchange("PUT", path, headers,
                             unsigned_chunked_body(payload, chunk_size, trailers))

    def send_signed_trailer(self, key, payload, chunk_size, checksum, bad_trailer_signature=False):
        """STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER: signed chunks, then the x-amz-checksum-crc32
        trailer signed over the final chunk's signature (s3.md §7.2)."""
        path, headers = self.server.sign(
            b"", method="PUT", path=f"/{self.bucket}/{key}", service="s3",
            headers={"X-Amz-Content-SHA256": STREAMING_SIGNED + "-TRAILER",
                     "Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32",
                     "x-amz-decoded-content-length": str(len(payload))})
        authorization = headers["Authorization"]
        seed = authorization.rsplit("Signature=", 1)[1]
        amz_date = headers["X-Amz-Date"]
        scope = authorization.split("Credential=", 1)[1].split(",", 1)[0].split("/", 1)[1]
        key_bytes = signing_key(self.server.secret_access_key, amz_date[:8])
        body = signed_chunked_body(payload, chunk_size, key_bytes, amz_date, scope, seed)
        # The final chunk's line ends the body so far ("0;chunk-signature=<sig>\r\n\r\n"): its
        # signature is the trailer's "previous signature"; the trailer replaces the last CRLF.
        final_signature = body[-68:-4].decode()
        body = body[:-2]
        trailer = f"x-amz-checksum-crc32:{checksum}\n"
        string_to_sign = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, final_signature,
                                    hashlib.sha256(trailer.encode()).hexdigest()])
        trailer_signature = hmac.new(key_bytes, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if bad_trailer_signature:
            trailer_signature = "0" * 64
        body += (f"x-amz-checksum-crc32:{checksum}\r\n"
                 f"x-amz-trailer-signature:{trailer_signature}\r\n\r\n").encode()
        return self.exchange("PUT", path, headers, body)

    def exchange(self, method, path, headers, body):
        head = f"{method} {path} HTTP/1.1\r\n".encode()
        for name, value in headers.items():
            head += f"{name}: {value}\r\n".encode("latin-1")
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        return self.server.raw_exchange(head, body, method=method)

    PAYLOADS = {"small": (os.urandom(20 * 1024), 8 * 1024),
                "streamed": (os.urandom(5 * SMALL_PUT_LIMIT + 77), SMALL_PUT_LIMIT)}

    def test_signed_chunks_are_stored(self):
        for label, (payload, chunk) in self.PAYLOADS.items():
            with self.subTest(size=label):
                response = self.send_streaming(f"chunked/good-{label}", payload, chunk)
                self.assertEqual(response.status, 200, response.body)
                self.assertEqual(response.headers["etag"],
                                 f'"{hashlib.md5(payload).hexdigest()}"')
                self.assertContent(f"chunked/good-{label}", payload)
                head = self.s3.head_object(Bucket=self.bucket, Key=f"chunked/good-{label}")
                self.assertEqual(head["ContentLength"], len(payload))
                self.assertNotIn("ContentEncoding", head)  # aws-chunked is not stored

    def test_bad_chunk_signature_is_signature_does_not_match_and_stores_nothing(self):
        def flip_second(index, data, signature):
            if index == 1:
                signature = ("0" if signature[0] != "0" else "1") + signature[1:]
            return data, signature

        def change_data(index, data, signature):
            return (data[:-1] + bytes([data[-1] ^ 1]), signature) if index == 1 else \
                (data, signature)

        def flip_final(index, data, signature):
            return (data, "f" * 64) if data == b"" else (data, signature)

        for label, (payload, chunk) in self.PAYLOADS.items():
            for tamper in (flip_second, change_data, flip_final):
                with self.subTest(size=label, tamper=tamper.__name__):
                    new_key, old_key = f"chunked/new-{label}", f"chunked/old-{label}"
                    old = self.put_old(old_key)
                    for key in (new_key, old_key):
                        response = self.send_streaming(key, payload, chunk, tamper=tamper)
                        self.assertS3XmlError(response, 403, "SignatureDoesNotMatch",
                                              SIGNATURE_MISMATCH)
                    self.assertAbsent(new_key)
                    self.assertContent(old_key, old)

    def test_chunks_reordered_or_dropped_stores_nothing(self):
        payload, chunk = self.PAYLOADS["small"]  # frames: 8 KiB, 8 KiB, 4 KiB, final
        for order in ([1, 0, 2, 3], [0, 2, 3], [0, 1, 1, 2, 3]):
            with self.subTest(order=order):
                response = self.send_streaming("chunked/reordered", payload, chunk, order=order,
                                               decoded_length=sum(
                                                   len(split(payload, chunk)[i])
                                                   for i in order if i < 3))
                self.assertS3XmlError(response, 403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)
                self.assertAbsent("chunked/reordered")

    def test_truncated_chunk_stream_stores_nothing(self):
        for label, (payload, chunk) in self.PAYLOADS.items():
            with self.subTest(size=label):
                # The final zero-length chunk is missing: the body ends after the data.
                final = len(f"0;chunk-signature={'0' * 64}\r\n\r\n")
                response = self.send_streaming(f"chunked/truncated-{label}", payload, chunk,
                                               cut=final)
                self.assertS3XmlError(response, 400, "IncompleteBody")
                self.assertAbsent(f"chunked/truncated-{label}")

    def test_wrong_decoded_content_length_stores_nothing(self):
        payload, chunk = self.PAYLOADS["small"]
        for claimed in (len(payload) - 1, len(payload) + 1):
            with self.subTest(claimed=claimed):
                response = self.send_streaming("chunked/wrong-length", payload, chunk,
                                               decoded_length=claimed)
                self.assertIn(response.status, (400, 403), response.body)
                self.assertIn(b"<Error>", response.body)
                self.assertStillServes()
                self.assertAbsent("chunked/wrong-length")

    def test_unsigned_payload_trailer_with_right_crc32_is_stored(self):
        for label, (payload, chunk) in self.PAYLOADS.items():
            with self.subTest(size=label):
                key = f"trailer/good-{label}"
                response = self.send_unsigned_trailer(
                    key, payload, chunk, [("x-amz-checksum-crc32", crc32_b64(payload))])
                self.assertEqual(response.status, 200, response.body)
                self.assertEqual(response.headers.get("x-amz-checksum-crc32"), crc32_b64(payload))
                self.assertContent(key, payload)
                head = self.s3.head_object(Bucket=self.bucket, Key=key, ChecksumMode="ENABLED")
                self.assertEqual(head["ChecksumCRC32"], crc32_b64(payload))

    def test_aws_chunked_is_not_stored_as_content_encoding(self):
        payload = b"gzip bytes, pretend"
        response = self.send_unsigned_trailer("trailer/gzip", payload, 8,
                                              [("x-amz-checksum-crc32", crc32_b64(payload))],
                                              content_encoding="aws-chunked,gzip")
        self.assertEqual(response.status, 200, response.body)
        head = self.s3.head_object(Bucket=self.bucket, Key="trailer/gzip")
        self.assertEqual(head["ContentEncoding"], "gzip")

    def test_signed_payload_trailer(self):
        payload, chunk = self.PAYLOADS["small"]
        response = self.send_signed_trailer("trailer/signed", payload, chunk, crc32_b64(payload))
        self.assertEqual(response.status, 200, response.body)
        self.assertContent("trailer/signed", payload)
        response = self.send_signed_trailer("trailer/signed-bad-sig", payload, chunk,
                                            crc32_b64(payload), bad_trailer_signature=True)
        self.assertS3XmlError(response, 403, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)
        self.assertAbsent("trailer/signed-bad-sig")
        response = self.send_signed_trailer("trailer/signed-bad-crc", payload, chunk,
                                            crc32_b64(b"other"))
        self.assertS3XmlError(response, 400, "BadDigest",
                              "The CRC32 you specified did not match the calculated checksum.")
        self.assertAbsent("trailer/signed-bad-crc")

    def test_unsigned_payload_trailer_with_wrong_crc32_is_bad_digest(self):
        for label, (payload, chunk) in self.PAYLOADS.items():
            with self.subTest(size=label):
                new_key, old_key = f"trailer/new-{label}", f"trailer/old-{label}"
                old = self.put_old(old_key)
                for key in (new_key, old_key):
                    response = self.send_unsigned_trailer(
                        key, payload, chunk, [("x-amz-checksum-crc32", crc32_b64(b"other"))])
                    self.assertS3XmlError(
                        response, 400, "BadDigest",
                        "The CRC32 you specified did not match the calculated checksum.")
                self.assertAbsent(new_key)
                self.assertContent(old_key, old)

    def test_unsigned_payload_trailer_without_the_announced_trailer_stores_nothing(self):
        payload, chunk = self.PAYLOADS["small"]
        response = self.send_unsigned_trailer("trailer/missing", payload, chunk, [])
        self.assertEqual(response.status, 400, response.body)
        self.assertIn(b"<Error>", response.body)
        self.assertStillServes()
        self.assertAbsent("trailer/missing")


class TruncatedBodyTest(S3BadInputTestCase):

    def send_truncated(self, key, sent: bytes, declared: int):
        """Declares Content-Length `declared`, sends only `sent`, then closes the write side.
        Returns whatever the server answered (or None if it just closed)."""
        path, headers = self.server.sign(
            b"", method="PUT", path=f"/{self.bucket}/{key}", service="s3",
            headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
        head = f"PUT {path} HTTP/1.1\r\n".encode()
        for name, value in headers.items():
            head += f"{name}: {value}\r\n".encode("latin-1")
        head += f"Content-Length: {declared}\r\n\r\n".encode()
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        try:
            sock.sendall(head + sent)
            sock.shutdown(socket.SHUT_WR)
            answer = b""
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
            return answer
        finally:
            sock.close()

    def test_truncated_body_creates_nothing(self):
        for label, declared in (("small", 1000), ("streamed", 5 * SMALL_PUT_LIMIT)):
            with self.subTest(size=label):
                new_key, old_key = f"cut/new-{label}", f"cut/old-{label}"
                old = self.put_old(old_key)
                for key in (new_key, old_key):
                    answer = self.send_truncated(key, os.urandom(declared // 2), declared)
                    self.assertFalse(answer.startswith(b"HTTP/1.1 200"), answer[:300])
                self.assertStillServes()
                self.assertAbsent(new_key)
                self.assertContent(old_key, old)


class NamesAndNumbersTest(S3BadInputTestCase):

    def test_invalid_bucket_names(self):
        names = ["ab", "a" * 64, "UPPER", "under_score", "has space", "bücket", "-dash", "dash-",
                 "a..b", "192.168.1.1", "xn--abc", "sthree-x", "amzn-s3-demo-x", "x-s3alias",
                 "x--ol-s3", "x.mrap", "x--x-s3", "dot.", "semi;colon", "a" * 200]
        for name in names:
            with self.subTest(name=name):
                response = self.request("PUT", "/" + urllib.parse.quote(name))
                self.assertS3XmlError(response, 400, "InvalidBucketName",
                                      "The specified bucket is not valid.", {"BucketName": name})
        listed = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertEqual(listed, [self.bucket])

    def test_key_longer_than_1024_bytes_is_key_too_long(self):
        too_long = "k" * 1025
        multibyte = "é" * 513  # 1026 bytes
        for key in (too_long, multibyte):
            with self.subTest(length=len(key.encode())):
                path = f"/{self.bucket}/{urllib.parse.quote(key)}"
                response = self.request("PUT", path, b"x")
                self.assertS3XmlError(response, 400, "KeyTooLongError", "Your key is too long")
                response = self.request("POST", path, query="uploads")
                self.assertS3XmlError(response, 400, "KeyTooLongError", "Your key is too long")
                response = self.request("PUT", path,
                                        headers={"x-amz-copy-source": f"/{self.bucket}/canary"})
                self.assertS3XmlError(response, 400, "KeyTooLongError", "Your key is too long")
        exactly = "k" * 1024
        response = self.request("PUT", f"/{self.bucket}/{exactly}", b"fits")
        self.assertEqual(response.status, 200, response.body)
        self.assertContent(exactly, b"fits")

    def test_part_number_out_of_range_is_invalid_argument(self):
        upload = self.s3.create_multipart_upload(Bucket=self.bucket, Key="parts/range")["UploadId"]
        for number in (0, 10001, -1):
            with self.subTest(number=number):
                response = self.request("PUT", f"/{self.bucket}/parts/range", b"part",
                                        query=f"partNumber={number}&uploadId={upload}")
                self.assertS3XmlError(response, 400, "InvalidArgument", PART_NUMBER_RANGE,
                                      {"ArgumentName": "partNumber",
                                       "ArgumentValue": str(number)})
                response = self.request(
                    "PUT", f"/{self.bucket}/parts/range",
                    query=f"partNumber={number}&uploadId={upload}",
                    headers={"x-amz-copy-source": f"/{self.bucket}/canary"})
                self.assertS3XmlError(response, 400, "InvalidArgument", PART_NUMBER_RANGE)
        self.assertNotIn("Parts", self.s3.list_parts(Bucket=self.bucket, Key="parts/range",
                                                     UploadId=upload))
        # 10000 is the last valid number.
        response = self.request("PUT", f"/{self.bucket}/parts/range", b"part",
                                query=f"partNumber=10000&uploadId={upload}")
        self.assertEqual(response.status, 200, response.body)

    def test_invalid_ranges(self):
        self.s3.put_object(Bucket=self.bucket, Key="ranges/abc", Body=ALPHABET)
        self.s3.put_object(Bucket=self.bucket, Key="ranges/empty", Body=b"")
        size = str(len(ALPHABET))
        for key, value, status, expected in (
                ("abc", "bytes=36-", 416, None),
                ("abc", "bytes=100-200", 416, None),
                ("abc", "bytes=-0", 416, None),
                ("empty", "bytes=0-", 416, None),
                ("abc", "bytes=5-2", 200, ALPHABET),         # not a valid range-spec: ignored
                ("abc", "bytes=abc", 200, ALPHABET),
                ("abc", "items=0-5", 200, ALPHABET),         # unknown unit: ignored
                ("abc", "bytes 0-5", 200, ALPHABET),
                ("abc", "bytes=0-1,3-4", 200, ALPHABET),     # multiple ranges: ignored
                ("abc", "bytes=--5", 200, ALPHABET),
                ("empty", "bytes=-5", 200, b""),
                ("abc", "bytes=35-", 206, ALPHABET[35:]),
                ("abc", "bytes=0-99999999999999999999999", 206, ALPHABET)):
            with self.subTest(key=key, range=value):
                response = self.request("GET", f"/{self.bucket}/ranges/{key}",
                                        headers={"Range": value})
                if status == 416:
                    actual = size if key == "abc" else "0"
                    self.assertS3XmlError(response, 416, "InvalidRange",
                                          "The requested range is not satisfiable",
                                          {"RangeRequested": value, "ActualObjectSize": actual})
                else:
                    self.assertEqual((response.status, response.body), (status, expected))
                    self.assertStillServes()


if __name__ == "__main__":
    import unittest
    unittest.main()
