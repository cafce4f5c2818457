"""The adversarial suite of issue 15 (docs/hardening.md): every hole found by trying the server as
an attacker, a slow client and an operator would, kept as an end-to-end reproduction against the
real binary — two accounts, narrow IAM users, presigned URLs and raw SigV4-signed requests built
byte by byte where a real client would not send what the attack needs.

Tests are named `test_itemNN_<what it pins>` after the numbered items of docs/hardening.md, and
grouped per area, one server per class (or per test where a measurement needs a fresh process:
peak RSS only grows). Add to this file whenever a hole is found: first the reproduction, then the
fix.

Measurements (peak RSS, CPU time, elapsed time) have generous bounds: they separate "bounded"
from "grows with the attack" (tens of MB, seconds of CPU), not one implementation from a slightly
faster one. Slow-client tests use the server's timeouts set small (`--header-timeout 2`, ...).
"""

import base64
import concurrent.futures
import datetime
import hashlib
import http.client
import json
import os
import pty
import re
import resource
import secrets
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

import botocore
import botocore.awsrequest
import botocore.credentials
import botocore.exceptions

from harness import (HANGAR_BIN, REGION, DatedS3SigV4Auth, DatedSigV4Auth, HangarError,
                     HangarServer, HangarTestCase, RawResponse, b64)

ACCESS_DENIED_UNSIGNED = "There were headers present in the request which were not signed"
SSE_C_REQUIRED = ("The object was stored using a form of Server Side Encryption. The correct "
                  "parameters must be provided to retrieve the object.")
SESSION_POLICY_TOO_LONG = ("1 validation error detected: Value at 'policy' failed to satisfy "
                           "constraint: Member must have length less than or equal to 2048")
REGION_SCOPE_TEXT = "Credential should be scoped to a valid region. "
FAKE_REGION = "xx-fake-1"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
KMS_JSON = "application/x-amz-json-1.1"
MiB = 1024 * 1024


# --- small helpers ------------------------------------------------------------------------------

def policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def xml_fields(body: bytes) -> dict:
    """Local element name -> text of the first such element, for S3 and query-protocol errors."""
    out = {}
    for element in ET.fromstring(body).iter():
        out.setdefault(element.tag.rsplit("}", 1)[-1], element.text)
    return out


def sign_only(server, *, service, body=b"", method="POST", path="/", query="", headers=(),
              region=REGION, creds=None):
    """SigV4 over exactly Host, X-Amz-Date and `headers` (botocore's signer): unlike
    HangarServer.sign() nothing is added, so a captured request can be replayed with more
    headers than it was signed for. Returns (target, [(name, value), ...])."""
    hdrs = {"Host": f"127.0.0.1:{server.port}"}
    hdrs.update(dict(headers))
    url = server.endpoint + path + (("?" + query) if query else "")
    request = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers=hdrs)
    akid, secret = creds or (server.access_key_id, server.secret_access_key)
    signer = DatedS3SigV4Auth if service == "s3" else DatedSigV4Auth
    signer(botocore.credentials.Credentials(akid, secret), service, region).add_auth(request)
    prepared = request.prepare()
    parsed = urllib.parse.urlsplit(prepared.url)
    target = parsed.path + (("?" + parsed.query) if parsed.query else "")
    return target, [(k, v) for k, v in prepared.headers.items()
                    if k.lower() not in ("content-length", "transfer-encoding")]


def build_head(method, target, headers, content_length, *, keep_alive=False) -> bytes:
    """An HTTP/1.1 request head with the headers in the given order."""
    head = f"{method} {target} HTTP/1.1\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"
    head += f"Content-Length: {content_length}\r\n"
    if not keep_alive:
        head += "Connection: close\r\n"
    return (head + "\r\n").encode("latin-1")


def exchange(server, method, target, headers, body=b"", timeout=30.0) -> RawResponse:
    return server.raw_exchange(build_head(method, target, headers, len(body)), body,
                               timeout=timeout, method=method)


def read_response(sock, method="GET") -> RawResponse:
    resp = http.client.HTTPResponse(sock, method=method)
    resp.begin()
    data = resp.read()
    return RawResponse(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)


def describe(response: RawResponse) -> str:
    return f"{response.status} {response.headers} {response.body[:600]!r}"


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def wait_until(condition, timeout, interval=0.02, what="condition"):
    """Polls `condition` until it returns something truthy (returned) or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def readable(socks, timeout):
    """The sockets among `socks` with something to read (or closed) within `timeout` seconds
    (poll(2): descriptors above 1023 are fine)."""
    poller = select.poll()
    by_fd = {sock.fileno(): sock for sock in socks}
    for fd in by_fd:
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return [by_fd[fd] for fd, _ in poller.poll(max(0.0, timeout) * 1000)]


def read_until_closed(sock, timeout):
    """Reads what the server sends until it closes the connection: (data, closed in time)."""
    data, deadline = b"", time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, False
        if not readable([sock], left):
            continue
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, BrokenPipeError):
            return data, True
        if not chunk:
            return data, True
        data += chunk


def closed_by_peer(sock, timeout) -> bool:
    """True once the server closed the connection (EOF or reset) within `timeout`; bytes the
    server sends first (an error response) are read and ignored."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if not readable([sock], left):
            continue
        try:
            if sock.recv(65536) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True


class User:
    """An IAM user (or account root) with its long-term key and clients (made once each: a
    boto3 client costs a few hundred milliseconds to build)."""

    def __init__(self, server, creds, arn=None):
        self.server = server
        self.creds = tuple(creds)
        self.arn = arn
        self._clients = {}

    def client(self, service, **kwargs):
        key = (service, tuple(sorted(kwargs.items())))
        if key not in self._clients:
            make = self.server.s3_client if service == "s3" else (
                lambda **kw: self.server.client(service, **kw))
            self._clients[key] = make(access_key_id=self.creds[0],
                                      secret_access_key=self.creds[1], **kwargs)
        return self._clients[key]

    def s3(self, **kwargs):
        return self.client("s3", **kwargs)


def make_user(server, iam, name, *statements, path="/"):
    """Creates an IAM user with one inline policy of `statements` (none: no permissions)."""
    created = iam.create_user(UserName=name, Path=path)["User"]
    if statements:
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy",
                            PolicyDocument=policy(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return User(server, (key["AccessKeyId"], key["SecretAccessKey"]), created["Arn"])


def second_account(server):
    created = server.second_account()
    return created["AccountId"], User(server, (created["AccessKeyId"],
                                               created["SecretAccessKey"]),
                                      f"arn:aws:iam::{created['AccountId']}:root")


class HardeningTestCase(HangarTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = User(cls.server, (cls.server.access_key_id, cls.server.secret_access_key),
                        f"arn:aws:iam::{cls.server.account_id}:root")

    def assertAllowed(self, call, *args, **kwargs):
        """A boto3 call that must succeed: a refusal is this test's failure (the behaviour under
        test is missing), not an error of the test."""
        try:
            return call(*args, **kwargs)
        except botocore.exceptions.ClientError as e:
            self.fail(f"refused, but must be allowed: {e}")

    def assertS3RawError(self, response, status, code, message=None, **fields):
        """A raw S3 response is the XML error (status, Code, exactly `message` if given, and the
        extra elements `fields`). Returns the parsed fields."""
        self.assertEqual(response.status, status, describe(response))
        parsed = xml_fields(response.body)
        self.assertEqual(parsed.get("Code"), code, describe(response))
        if message is not None:
            self.assertEqual(parsed.get("Message"), message, describe(response))
        for name, value in fields.items():
            self.assertEqual(parsed.get(name), value, f"{name}: {describe(response)}")
        return parsed

    def assertKmsRawError(self, response, status, error_type, message=None):
        self.assertEqual(response.status, status, describe(response))
        body = response.json()
        self.assertEqual(body.get("__type"), error_type, describe(response))
        if message is not None:
            self.assertEqual(body.get("message", body.get("Message")), message, describe(response))
        return body


# --- item 1: unsigned x-amz-* headers -----------------------------------------------------------

SECRET_BYTES = b"launch codes: 0000 (the secret the attacker wants copied)"


class UnsignedAmzHeadersTest(HardeningTestCase):
    """A narrow uploader signs a presigned PUT for incoming/upload.bin and hands the URL out; the
    holder of the URL adds x-amz-* headers the signature never covered."""

    BUCKET = "presign-drop"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.s3.create_bucket(Bucket=cls.BUCKET)
        cls.s3.put_object(Bucket=cls.BUCKET, Key="secret.txt", Body=SECRET_BYTES)
        iam = cls.server.client("iam")
        # The uploader may write incoming/* and read the bucket (so a copy it "signed" would be
        # authorised as it): exactly the power a hijacked presigned PUT would borrow.
        cls.uploader = make_user(
            cls.server, iam, "uploader",
            {"Effect": "Allow", "Action": "s3:PutObject",
             "Resource": f"arn:aws:s3:::{cls.BUCKET}/incoming/*"},
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{cls.BUCKET}/*"})
        cls.presigner = cls.uploader.s3(signature_version="s3v4")

    def presigned(self, method, key):
        op = {"PUT": "put_object", "GET": "get_object"}[method]
        return self.presigner.generate_presigned_url(
            op, Params={"Bucket": self.BUCKET, "Key": key}, ExpiresIn=600)

    def send_presigned(self, url, method, body=b"", headers=()):
        parts = urllib.parse.urlsplit(url)
        hdrs = [("Host", parts.netloc)] + list(headers)
        return exchange(self.server, method, f"{parts.path}?{parts.query}", hdrs, body)

    def assertNotStored(self, key):
        self.assertS3Error(404, "NoSuchKey", None, self.s3.get_object, Bucket=self.BUCKET,
                           Key=key)

    def assertUnsignedRefused(self, response, names):
        self.assertS3RawError(response, 403, "AccessDenied", ACCESS_DENIED_UNSIGNED,
                              HeadersNotSigned=names)

    def test_item01_presigned_put_with_added_copy_source_is_refused(self):
        """The URL holder adds `x-amz-copy-source: /presign-drop/secret.txt`: the PUT must not
        turn into a CopyObject authorised as the uploader (today it copies the secret into
        incoming/upload.bin, where the URL holder's accomplice reads it)."""
        url = self.presigned("PUT", "incoming/upload.bin")
        response = self.send_presigned(url, "PUT", headers=[
            ("x-amz-copy-source", f"/{self.BUCKET}/secret.txt")])
        try:
            got = self.s3.get_object(Bucket=self.BUCKET, Key="incoming/upload.bin")["Body"].read()
        except botocore.exceptions.ClientError:
            got = b""
        self.assertNotIn(b"launch codes", got, "the secret was copied into incoming/upload.bin")
        self.assertUnsignedRefused(response, "x-amz-copy-source")
        self.assertNotStored("incoming/upload.bin")

    def test_item01_presigned_put_with_added_sse_c_headers_is_refused(self):
        """Unsigned SSE-C headers would lock the uploader out of its own object with the
        attacker's key."""
        key = os.urandom(32)
        url = self.presigned("PUT", "incoming/ssec.bin")
        response = self.send_presigned(url, "PUT", b"attacker-encrypted", headers=[
            ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
            ("x-amz-server-side-encryption-customer-key", b64(key)),
            ("x-amz-server-side-encryption-customer-key-MD5", b64(hashlib.md5(key).digest()))])
        self.assertUnsignedRefused(
            response, "x-amz-server-side-encryption-customer-algorithm, "
                      "x-amz-server-side-encryption-customer-key, "
                      "x-amz-server-side-encryption-customer-key-md5")
        self.assertNotStored("incoming/ssec.bin")

    def test_item01_presigned_put_with_added_metadata_tagging_or_checksum_is_refused(self):
        """x-amz-meta-*, x-amz-tagging and x-amz-checksum-* change what is stored: unsigned, they
        are refused, each named in HeadersNotSigned."""
        body = b"uploaded through a presigned URL"
        cases = [
            ("meta", [("x-amz-meta-x", "1")], "x-amz-meta-x"),
            ("tagging", [("x-amz-tagging", "classification=public")], "x-amz-tagging"),
            ("checksum", [("x-amz-checksum-sha256", b64(hashlib.sha256(body).digest()))],
             "x-amz-checksum-sha256"),
        ]
        for name, headers, listed in cases:
            with self.subTest(name):
                key = f"incoming/{name}.bin"
                response = self.send_presigned(self.presigned("PUT", key), "PUT", body, headers)
                self.assertUnsignedRefused(response, listed)
                self.assertNotStored(key)

    def test_item01_headers_not_signed_lists_names_lower_case_in_first_seen_order(self):
        """HeadersNotSigned names the headers in lower case, ", "-separated, in the order sent."""
        response = self.send_presigned(
            self.presigned("PUT", "incoming/order.bin"), "PUT", b"x",
            [("X-Amz-Meta-Zeta", "1"), ("X-Amz-Tagging", "a=b"), ("x-amz-meta-alpha", "2")])
        self.assertUnsignedRefused(response, "x-amz-meta-zeta, x-amz-tagging, x-amz-meta-alpha")
        self.assertNotStored("incoming/order.bin")

    def test_item01_header_signed_put_with_an_added_unsigned_meta_header_is_refused(self):
        """The same rule for header-signed requests: a proxy on the way adds x-amz-meta-x."""
        response = self.server.s3_request(
            "PUT", f"/{self.BUCKET}/incoming/header-signed.bin", b"signed body",
            access_key_id=self.uploader.creds[0], secret_access_key=self.uploader.creds[1],
            after_signing={"x-amz-meta-x": "added"})
        self.assertUnsignedRefused(response, "x-amz-meta-x")
        self.assertNotStored("incoming/header-signed.bin")

    def test_item01_headers_not_signed_names_every_header_even_prefixes_of_others(self):
        """x-amz-meta-ab then x-amz-meta-a: the second is a prefix of the first, and must still
        be listed (a substring search for "already listed" would drop it)."""
        response = self.server.s3_request(
            "PUT", f"/{self.BUCKET}/incoming/prefixes.bin", b"signed body",
            access_key_id=self.uploader.creds[0], secret_access_key=self.uploader.creds[1],
            after_signing={"x-amz-meta-ab": "1", "x-amz-meta-a": "2"})
        self.assertUnsignedRefused(response, "x-amz-meta-ab, x-amz-meta-a")
        self.assertNotStored("incoming/prefixes.bin")

    def test_item01_control_signed_requests_and_presigned_urls_still_work(self):
        """Control: the presigned GET plainly works; so does the presigned PUT without extra
        headers, and with `x-amz-content-sha256: UNSIGNED-PAYLOAD`, which is exempt as on AWS
        (its value is what the canonical request carries); and a header-signed PUT whose
        x-amz-meta-x is signed."""
        url = self.presigned("GET", "secret.txt")
        response = self.send_presigned(url, "GET")
        self.assertEqual((response.status, response.body), (200, SECRET_BYTES), describe(response))
        response = self.send_presigned(self.presigned("PUT", "incoming/plain.bin"), "PUT",
                                       b"plain upload")
        self.assertEqual(response.status, 200, describe(response))
        response = self.send_presigned(self.presigned("PUT", "incoming/sha.bin"), "PUT",
                                       b"exempt header",
                                       [("x-amz-content-sha256", "UNSIGNED-PAYLOAD")])
        self.assertEqual(response.status, 200, describe(response))
        response = self.server.s3_request(
            "PUT", f"/{self.BUCKET}/incoming/meta-signed.bin", b"signed meta",
            headers={"x-amz-meta-x": "signed"},
            access_key_id=self.uploader.creds[0], secret_access_key=self.uploader.creds[1])
        self.assertEqual(response.status, 200, describe(response))
        head = self.s3.head_object(Bucket=self.BUCKET, Key="incoming/meta-signed.bin")
        self.assertEqual(head["Metadata"], {"x": "signed"})
        self.assertEqual(self.s3.get_object(Bucket=self.BUCKET, Key="incoming/sha.bin")["Body"]
                         .read(), b"exempt header")


# --- item 2: operation-selecting headers must be signed -----------------------------------------

INCOMPLETE_TARGET = "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
INCOMPLETE_CONTENT_TYPE = "'Content-Type' must be a 'SignedHeader' in the AWS Authorization."


class OperationHeadersSignedTest(HardeningTestCase):
    """A DescribeKey captured on the way (signed over host;x-amz-date only, as a minimal client
    may sign) is replayed with another X-Amz-Target: the body {"KeyId": ...} fits DisableKey and
    ScheduleKeyDeletion just as well."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kms = cls.server.client("kms")

    def new_key(self):
        return self.kms.create_key(Description="replay target")["KeyMetadata"]["KeyId"]

    def captured_describe_key(self, key_id, signed=()):
        body = json.dumps({"KeyId": key_id}).encode()
        target, headers = sign_only(self.server, service="kms", body=body, headers=signed)
        return target, headers, body

    def replay(self, key_id, operation, *, signed=(), unsigned=()):
        target, headers, body = self.captured_describe_key(key_id, signed)
        added = [("X-Amz-Target", f"TrentService.{operation}"), ("Content-Type", KMS_JSON)]
        added = [h for h in added if h[0].lower() not in {n.lower() for n, _ in signed}]
        return exchange(self.server, "POST", target, headers + list(unsigned or added), body)

    def assertKeyEnabled(self, key_id):
        meta = self.kms.describe_key(KeyId=key_id)["KeyMetadata"]
        self.assertEqual((meta["KeyState"], meta["Enabled"]), ("Enabled", True), meta)

    def test_item02_describe_key_replayed_as_disable_key_is_refused(self):
        """A DescribeKey signed over host;x-amz-date only, replayed as DisableKey: refused, key
        still Enabled."""
        key_id = self.new_key()
        response = self.replay(key_id, "DisableKey")
        self.assertKmsRawError(response, 400, "IncompleteSignatureException", INCOMPLETE_TARGET)
        self.assertKeyEnabled(key_id)

    def test_item02_describe_key_replayed_as_schedule_key_deletion_is_refused(self):
        """The same capture replayed as ScheduleKeyDeletion: refused, no deletion scheduled."""
        key_id = self.new_key()
        response = self.replay(key_id, "ScheduleKeyDeletion")
        self.assertKmsRawError(response, 400, "IncompleteSignatureException", INCOMPLETE_TARGET)
        self.assertKeyEnabled(key_id)

    def test_item02_unsigned_content_type_is_refused(self):
        """X-Amz-Target signed, Content-Type added afterwards (it decides how the body is read)."""
        key_id = self.new_key()
        response = self.replay(key_id, "DescribeKey",
                               signed=[("X-Amz-Target", "TrentService.DescribeKey")],
                               unsigned=[("Content-Type", KMS_JSON)])
        self.assertKmsRawError(response, 400, "IncompleteSignatureException",
                               INCOMPLETE_CONTENT_TYPE)

    def test_item02_the_message_names_the_header_in_one_spelling(self):
        """The error names the unsigned header in AWS's spelling whatever case the client used
        (here lower case)."""
        key_id = self.new_key()
        response = self.replay(key_id, "DisableKey", unsigned=[
            ("x-amz-target", "TrentService.DisableKey"), ("content-type", KMS_JSON)])
        self.assertKmsRawError(response, 400, "IncompleteSignatureException",
                               "'X-Amz-Target' must be a 'SignedHeader' in the AWS "
                               "Authorization.")
        self.assertKeyEnabled(key_id)

    def test_item02_control_the_same_signer_with_every_header_signed_is_served(self):
        """Control: the raw signing used above produces requests the server accepts when the
        operation headers are among the signed ones (so the refusals are not signature bugs)."""
        key_id = self.new_key()
        response = self.replay(key_id, "DescribeKey", signed=[
            ("X-Amz-Target", "TrentService.DescribeKey"), ("Content-Type", KMS_JSON)])
        self.assertEqual(response.status, 200, describe(response))
        self.assertEqual(response.json()["KeyMetadata"]["KeyId"], key_id)

    def query_call(self, service, body, signed_content_type):
        signed = [("Content-Type", FORM)] if signed_content_type else []
        target, headers = sign_only(self.server, service=service, body=body, headers=signed)
        if not signed_content_type:
            headers.append(("Content-Type", FORM))
        return exchange(self.server, "POST", target, headers, body)

    def test_item02_sts_with_unsigned_content_type_is_refused(self):
        """STS: a form body whose Content-Type was not signed is refused (IncompleteSignature)."""
        body = b"Action=GetCallerIdentity&Version=2011-06-15"
        response = self.query_call("sts", body, signed_content_type=False)
        self.assertEqual(response.status, 400, describe(response))
        fields = xml_fields(response.body)
        self.assertEqual((fields.get("Code"), fields.get("Message")),
                         ("IncompleteSignature", INCOMPLETE_CONTENT_TYPE), describe(response))
        control = self.query_call("sts", body, signed_content_type=True)
        self.assertEqual(control.status, 200, describe(control))

    def test_item02_iam_with_unsigned_content_type_is_refused(self):
        """IAM: a CreateUser whose Content-Type was not signed is refused and creates no user."""
        body = b"Action=CreateUser&UserName=replayed-user&Version=2010-05-08"
        response = self.query_call("iam", body, signed_content_type=False)
        self.assertEqual(response.status, 400, describe(response))
        fields = xml_fields(response.body)
        self.assertEqual((fields.get("Code"), fields.get("Message")),
                         ("IncompleteSignature", INCOMPLETE_CONTENT_TYPE), describe(response))
        self.assertS3Error(404, "NoSuchEntity", None, self.server.client("iam").get_user,
                           UserName="replayed-user")


# --- item 3: object commits are bound to the bucket incarnation ---------------------------------

class BucketIncarnationTest(HardeningTestCase):
    """Account B starts a large PUT into its own empty bucket, deletes the bucket while the body
    is on its way, and the name is created again (by account A, or by B itself) before the body
    ends. The write was authorised against a bucket that no longer exists: 404 NoSuchBucket."""

    BODY = os.urandom(100 * 1024)  # above the buffered-PUT size: the body streams

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a_s3 = cls.server.s3_client()
        _, cls.b = second_account(cls.server)
        cls.b_s3 = cls.b.s3()
        # B's bucket encrypts with B's KMS key (no Bucket Key): the PUT's GenerateDataKey call,
        # counted in the metrics, shows that the server has authorised the PUT and is about to
        # read its body.
        cls.b_key = cls.b.client("kms").create_key()["KeyMetadata"]["Arn"]

    def b_bucket(self, name):
        self.b_s3.create_bucket(Bucket=name)
        self.b_s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                   "KMSMasterKeyID": self.b_key},
            "BucketKeyEnabled": False}]})

    def generate_data_key_calls(self):
        return self.server.metrics()["kms_calls"].get("GenerateDataKey", 0)

    def start_put(self, bucket, key):
        """Sends B's signed PUT header and the first 10 body bytes; returns the socket once the
        server has authorised the PUT (its data key was generated)."""
        before = self.generate_data_key_calls()
        target, headers = self.server.sign(
            self.BODY, method="PUT", path=f"/{bucket}/{key}", service="s3",
            headers={"X-Amz-Content-SHA256": hashlib.sha256(self.BODY).hexdigest()},
            access_key_id=self.b.creds[0], secret_access_key=self.b.creds[1])
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        sock.sendall(build_head("PUT", target, list(headers.items()), len(self.BODY)) +
                     self.BODY[:10])
        wait_until(lambda: self.generate_data_key_calls() > before, 10,
                   what="the PUT's GenerateDataKey call")
        return sock

    def finish_put(self, sock):
        try:
            sock.sendall(self.BODY[10:])
        except OSError:
            pass  # the server answered early and closed: read what it said
        try:
            return read_response(sock, "PUT")
        finally:
            sock.close()

    def test_item03_a_put_into_a_bucket_deleted_and_recreated_by_another_account_fails(self):
        """B's PUT, authorised against B's bucket, must not land in A's bucket of the same name:
        B gets 404 NoSuchBucket, A's bucket holds only A's config.json."""
        self.b_bucket("race-victim")
        sock = self.start_put("race-victim", "payload.bin")
        try:
            self.b_s3.delete_bucket(Bucket="race-victim")
            self.a_s3.create_bucket(Bucket="race-victim")
            self.a_s3.put_object(Bucket="race-victim", Key="config.json", Body=b'{"owner": "A"}')
        finally:
            response = self.finish_put(sock)
        self.assertS3RawError(response, 404, "NoSuchBucket")
        listed = self.a_s3.list_objects_v2(Bucket="race-victim").get("Contents", [])
        self.assertEqual([o["Key"] for o in listed], ["config.json"])
        self.assertEqual(self.a_s3.get_object(Bucket="race-victim", Key="config.json")["Body"]
                         .read(), b'{"owner": "A"}')

    def test_item03_a_put_into_a_bucket_recreated_by_the_same_account_fails(self):
        """Same owner, same name, new incarnation: still refused."""
        self.b_bucket("race-victim-same")
        sock = self.start_put("race-victim-same", "payload.bin")
        try:
            self.b_s3.delete_bucket(Bucket="race-victim-same")
            self.b_s3.create_bucket(Bucket="race-victim-same")
            self.b_s3.put_object(Bucket="race-victim-same", Key="config.json", Body=b"v2")
        finally:
            response = self.finish_put(sock)
        self.assertS3RawError(response, 404, "NoSuchBucket")
        listed = self.b_s3.list_objects_v2(Bucket="race-victim-same").get("Contents", [])
        self.assertEqual([o["Key"] for o in listed], ["config.json"])

    def test_item03_control_the_same_put_completes_when_the_bucket_stays(self):
        """Control: the same staged PUT (header, 10 bytes, wait, rest) succeeds when nothing
        happens to the bucket meanwhile."""
        self.b_bucket("race-control")
        response = self.finish_put(self.start_put("race-control", "payload.bin"))
        self.assertEqual(response.status, 200, describe(response))
        self.assertEqual(self.b_s3.get_object(Bucket="race-control", Key="payload.bin")["Body"]
                         .read(), self.BODY)


# --- item 4: tag condition keys -----------------------------------------------------------------

class TagConditionKeysTest(HardeningTestCase):
    BUCKET = "tag-conditions"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.iam = cls.server.client("iam")
        cls.kms = cls.server.client("kms")
        cls.s3 = cls.server.s3_client()
        cls.s3.create_bucket(Bucket=cls.BUCKET)
        cls.s3.put_object(Bucket=cls.BUCKET, Key="doc.txt", Body=b"for staff only")

    def tagger(self, name, with_null_check):
        tag_condition = {"ForAllValues:StringEquals": {"aws:TagKeys": ["Project"]}}
        if with_null_check:
            tag_condition["Null"] = {"aws:TagKeys": "false"}
        return make_user(
            self.server, self.iam, name,
            {"Effect": "Allow", "Action": "kms:TagResource", "Resource": "*",
             "Condition": tag_condition},
            {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceTag/Access": name}}})

    def key_and_ciphertext(self):
        key_id = self.kms.create_key(Description="tag conditions")["KeyMetadata"]["KeyId"]
        blob = self.kms.encrypt(KeyId=key_id, Plaintext=b"payroll")["CiphertextBlob"]
        return key_id, blob

    def tags_of(self, key_id):
        return {t["TagKey"]: t["TagValue"]
                for t in self.kms.list_resource_tags(KeyId=key_id)["Tags"]}

    def assertCannotTagItselfIn(self, user, name, key_id, blob):
        kms = user.client("kms")
        self.assertS3Error(400, "AccessDeniedException", None, kms.tag_resource, KeyId=key_id,
                           Tags=[{"TagKey": "Access", "TagValue": name}])
        self.assertNotIn("Access", self.tags_of(key_id))
        self.assertS3Error(400, "AccessDeniedException", None, kms.decrypt, CiphertextBlob=blob)

    def test_item04_tag_keys_limit_what_a_user_may_tag_with_the_null_check(self):
        """AWS's recommended form (ForAllValues plus Null): Project may be tagged, Access not —
        so the user cannot grant itself the ResourceTag-conditioned Decrypt."""
        user = self.tagger("tagger-null", with_null_check=True)
        key_id, blob = self.key_and_ciphertext()
        kms = user.client("kms")
        self.assertAllowed(kms.tag_resource, KeyId=key_id,
                           Tags=[{"TagKey": "Project", "TagValue": "apollo"}])
        self.assertEqual(self.tags_of(key_id), {"Project": "apollo"})
        self.assertCannotTagItselfIn(user, "tagger-null", key_id, blob)
        self.assertS3Error(400, "AccessDeniedException", None, kms.tag_resource, KeyId=key_id,
                           Tags=[{"TagKey": "Project", "TagValue": "x"},
                                 {"TagKey": "Access", "TagValue": "tagger-null"}])

    def test_item04_tag_keys_limit_what_a_user_may_tag_with_naked_for_all_values(self):
        """ForAllValues alone: with aws:TagKeys filled, Access is not among the allowed keys."""
        user = self.tagger("tagger-naked", with_null_check=False)
        key_id, blob = self.key_and_ciphertext()
        self.assertCannotTagItselfIn(user, "tagger-naked", key_id, blob)
        # Control: once the root tags the key, the ResourceTag condition lets the user decrypt.
        self.kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "Access",
                                                   "TagValue": "tagger-naked"}])
        self.assertEqual(self.assertAllowed(user.client("kms").decrypt,
                                            CiphertextBlob=blob)["Plaintext"], b"payroll")

    def test_item04_principal_tag_deny_applies_to_tagged_users_only(self):
        """A Deny on aws:PrincipalTag/contractor = true denies the user tagged so (TagUser) and
        not an untagged one with the same policy."""
        statements = (
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{self.BUCKET}/*"},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "*",
             "Condition": {"StringEquals": {"aws:PrincipalTag/contractor": "true"}}})
        contractor = make_user(self.server, self.iam, "contractor", *statements)
        self.iam.tag_user(UserName="contractor", Tags=[{"Key": "contractor", "Value": "true"}])
        staff = make_user(self.server, self.iam, "staff", *statements)
        got = self.assertAllowed(staff.s3().get_object, Bucket=self.BUCKET, Key="doc.txt")
        self.assertEqual(got["Body"].read(), b"for staff only")
        self.assertS3Error(403, "AccessDenied", None, contractor.s3().get_object,
                           Bucket=self.BUCKET, Key="doc.txt")

    def test_item04_principal_tag_of_an_assumed_role_is_the_roles_tag(self):
        """For an assumed role, aws:PrincipalTag is the role's tags: the Deny applies to its
        session."""
        account = self.server.account_id
        assumer = make_user(self.server, self.iam, "role-assumer",
                            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
        self.iam.create_role(
            RoleName="contract-role", Tags=[{"Key": "contractor", "Value": "true"}],
            AssumeRolePolicyDocument=policy({
                "Effect": "Allow", "Action": "sts:AssumeRole",
                "Principal": {"AWS": f"arn:aws:iam::{account}:user/role-assumer"}}))
        self.iam.put_role_policy(RoleName="contract-role", PolicyName="read",
                                 PolicyDocument=policy(
                                     {"Effect": "Allow", "Action": "s3:GetObject",
                                      "Resource": f"arn:aws:s3:::{self.BUCKET}/*"},
                                     {"Effect": "Deny", "Action": "s3:GetObject",
                                      "Resource": "*",
                                      "Condition": {"StringEquals": {
                                          "aws:PrincipalTag/contractor": "true"}}}))
        creds = assumer.client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/contract-role",
            RoleSessionName="contract-session")["Credentials"]
        session = self.server.s3_client(access_key_id=creds["AccessKeyId"],
                                        secret_access_key=creds["SecretAccessKey"],
                                        session_token=creds["SessionToken"])
        self.assertS3Error(403, "AccessDenied", None, session.get_object, Bucket=self.BUCKET,
                           Key="doc.txt")

    def test_item04_request_tags_of_s3_tagging_calls(self):
        """aws:RequestTag/<k> for PutObjectTagging and PutBucketTagging: team=blue only."""
        blue_only = {"StringEquals": {"aws:RequestTag/team": "blue"}}
        user = make_user(
            self.server, self.iam, "s3-tagger",
            {"Effect": "Allow", "Action": ["s3:PutObjectTagging", "s3:PutBucketTagging"],
             "Resource": [f"arn:aws:s3:::{self.BUCKET}", f"arn:aws:s3:::{self.BUCKET}/*"],
             "Condition": blue_only})
        s3 = user.s3()
        blue = {"TagSet": [{"Key": "team", "Value": "blue"}]}
        red = {"TagSet": [{"Key": "team", "Value": "red"}]}
        self.assertAllowed(s3.put_object_tagging, Bucket=self.BUCKET, Key="doc.txt",
                           Tagging=blue)
        self.assertS3Error(403, "AccessDenied", None, s3.put_object_tagging, Bucket=self.BUCKET,
                           Key="doc.txt", Tagging=red)
        self.assertEqual(self.s3.get_object_tagging(Bucket=self.BUCKET, Key="doc.txt")["TagSet"],
                         blue["TagSet"])
        self.assertAllowed(s3.put_bucket_tagging, Bucket=self.BUCKET, Tagging=blue)
        self.assertS3Error(403, "AccessDenied", None, s3.put_bucket_tagging, Bucket=self.BUCKET,
                           Tagging=red)
        self.assertEqual(self.s3.get_bucket_tagging(Bucket=self.BUCKET)["TagSet"],
                         blue["TagSet"])

    def test_item04_request_tags_of_kms_create_key(self):
        """aws:RequestTag/<k> for KMS CreateKey's Tags: a user may create keys tagged team=blue
        only."""
        user = make_user(
            self.server, self.iam, "key-creator",
            {"Effect": "Allow", "Action": "kms:CreateKey", "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"}}},
            # CreateKey's lockout check wants the caller able to PutKeyPolicy on the new key.
            {"Effect": "Allow", "Action": "kms:PutKeyPolicy", "Resource": "*"})
        kms = user.client("kms")
        self.assertAllowed(kms.create_key, Tags=[{"TagKey": "team", "TagValue": "blue"}])
        self.assertS3Error(400, "AccessDeniedException", None, kms.create_key,
                           Tags=[{"TagKey": "team", "TagValue": "red"}])

    def test_item04_request_and_resource_tags_of_iam_users(self):
        """aws:RequestTag/<k> for IAM TagUser and aws:ResourceTag/<k> for IAM users: a user may
        tag team=blue only, and read only users tagged team=blue."""
        user = make_user(
            self.server, self.iam, "team-tagger",
            {"Effect": "Allow", "Action": "iam:TagUser", "Resource": "*",
             "Condition": {"StringEquals": {"aws:RequestTag/team": "blue"}}},
            {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*",
             "Condition": {"StringEquals": {"aws:ResourceTag/team": "blue"}}})
        iam = user.client("iam")
        for name in ("blue-member", "untagged-member"):
            self.iam.create_user(UserName=name)
        self.assertAllowed(iam.tag_user, UserName="blue-member",
                           Tags=[{"Key": "team", "Value": "blue"}])
        self.assertS3Error(403, "AccessDenied", None, iam.tag_user, UserName="untagged-member",
                           Tags=[{"Key": "team", "Value": "red"}])
        self.assertEqual(self.iam.list_user_tags(UserName="untagged-member")["Tags"], [])
        got = self.assertAllowed(iam.get_user, UserName="blue-member")
        self.assertEqual(got["User"]["UserName"], "blue-member")
        self.assertS3Error(403, "AccessDenied", None, iam.get_user, UserName="untagged-member")

    def test_item04_resource_tags_of_buckets_decide_bucket_actions(self):
        """aws:ResourceTag/<k> for bucket actions is the bucket's tags: ListBucket allowed on the
        bucket tagged share=yes only."""
        for bucket, share in (("tag-shared", "yes"), ("tag-unshared", "no")):
            self.s3.create_bucket(Bucket=bucket)
            self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [
                {"Key": "share", "Value": share}]})
        user = make_user(self.server, self.iam, "bucket-lister",
                         {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
                          "Condition": {"StringEquals": {"aws:ResourceTag/share": "yes"}}})
        self.assertEqual(self.assertAllowed(user.s3().list_objects_v2,
                                            Bucket="tag-shared")["KeyCount"], 0)
        self.assertS3Error(403, "AccessDenied", None, user.s3().list_objects_v2,
                           Bucket="tag-unshared")

    def test_item04_resource_tags_of_objects_decide_object_actions(self):
        """aws:ResourceTag/<k> and s3:ExistingObjectTag/<k> for object actions are the object's
        tags: GetObject allowed on the object tagged share=yes only."""
        for key, share in (("shared.txt", "yes"), ("unshared.txt", "no")):
            self.s3.put_object(Bucket=self.BUCKET, Key=key, Body=key.encode(),
                               Tagging=f"share={share}")
        for name, condition_key in (("object-reader", "aws:ResourceTag/share"),
                                    ("object-reader2", "s3:ExistingObjectTag/share")):
            with self.subTest(condition_key):
                user = make_user(self.server, self.iam, name,
                                 {"Effect": "Allow", "Action": "s3:GetObject",
                                  "Resource": f"arn:aws:s3:::{self.BUCKET}/*",
                                  "Condition": {"StringEquals": {condition_key: "yes"}}})
                got = self.assertAllowed(user.s3().get_object, Bucket=self.BUCKET,
                                         Key="shared.txt")
                self.assertEqual(got["Body"].read(), b"shared.txt")
                self.assertS3Error(403, "AccessDenied", None, user.s3().get_object,
                                   Bucket=self.BUCKET, Key="unshared.txt")

    def test_item04_unknown_condition_keys_fail_closed(self):
        """aws:SomeFutureKey: in an Allow (even with a negated operator, which would match an
        absent key) it does not allow; in a Deny it denies. A known key that is absent
        (aws:SourceVpc: no VPC here) still follows AWS's absent-key rules."""
        b = f"arn:aws:s3:::{self.BUCKET}"
        for key in ("future-allow/o", "future-deny/o", "known-absent/o", "plain/o"):
            self.s3.put_object(Bucket=self.BUCKET, Key=key, Body=b"x")
        user = make_user(
            self.server, self.iam, "future",
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{b}/future-allow/*",
             "Condition": {"StringNotEquals": {"aws:SomeFutureKey": "x"}}},
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": [f"{b}/future-deny/*", f"{b}/plain/*"]},
            {"Effect": "Deny", "Action": "s3:GetObject", "Resource": f"{b}/future-deny/*",
             "Condition": {"StringEquals": {"aws:SomeFutureKey": "x"}}},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{b}/known-absent/*",
             "Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-12345678"}}})
        s3 = user.s3()
        for key in ("plain/o", "known-absent/o"):
            got = self.assertAllowed(s3.get_object, Bucket=self.BUCKET, Key=key)
            self.assertEqual(got["Body"].read(), b"x")
        for key in ("future-allow/o", "future-deny/o"):
            with self.subTest(key):
                self.assertS3Error(403, "AccessDenied", None, s3.get_object,
                                   Bucket=self.BUCKET, Key=key)


# --- item 5: Block Public Access judges the union of networks -----------------------------------

def source_ip_policy(bucket, networks):
    return policy({"Sid": "ReadFromNetworks", "Effect": "Allow", "Principal": "*",
                   "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
                   "Condition": {"IpAddress": {"aws:SourceIp": networks}}})


ALL_SLASH_8 = [f"{i}.0.0.0/8" for i in range(256)]


class PublicNetworksTest(HardeningTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()

    def bucket(self, name, *, block=True):
        self.s3.create_bucket(Bucket=name)
        self.s3.put_object(Bucket=name, Key="notice.txt", Body=b"internal notice")
        if not block:
            self.s3.delete_public_access_block(Bucket=name)
        return name

    def anonymous_get(self, bucket):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            conn.request("GET", f"/{bucket}/notice.txt")
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def is_public(self, bucket):
        return self.s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"]

    def test_item05_all_256_slash8_networks_are_public_and_blocked(self):
        """Allow "*" limited by aws:SourceIp to all 256 /8s is public: BlockPublicPolicy
        refuses it."""
        bucket = self.bucket("networks-blocked")
        self.assertS3Error(403, "AccessDenied", None, self.s3.put_bucket_policy, Bucket=bucket,
                           Policy=source_ip_policy(bucket, ALL_SLASH_8))
        self.assertS3Error(404, "NoSuchBucketPolicy", None, self.s3.get_bucket_policy,
                           Bucket=bucket)
        self.assertEqual(self.anonymous_get(bucket)[0], 403)

    def test_item05_restrict_public_buckets_takes_the_256_networks_grant_away(self):
        """With BlockPublicPolicy off the 256-network policy is stored and reported public;
        RestrictPublicBuckets then denies the anonymous GET it would allow."""
        bucket = self.bucket("networks-restricted", block=False)
        self.s3.put_bucket_policy(Bucket=bucket, Policy=source_ip_policy(bucket, ALL_SLASH_8))
        # Control: the condition does match this client (127.0.0.1 is in 127.0.0.0/8).
        self.assertEqual(self.anonymous_get(bucket), (200, b"internal notice"))
        self.assertTrue(self.is_public(bucket))
        self.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True})
        self.assertEqual(self.anonymous_get(bucket)[0], 403)

    def test_item05_two_networks_above_the_limit_are_public(self):
        """Two /8s (2^25 IPv4 addresses) or two IPv6 /32s (2^97) are public."""
        cases = [("networks-two-v4", ["127.0.0.0/8", "1.0.0.0/8"]),
                 ("networks-two-v6", ["2001:db8::/32", "2001:db9::/32"])]
        for bucket, networks in cases:
            with self.subTest(networks=networks):
                self.bucket(bucket, block=False)
                self.s3.put_bucket_policy(Bucket=bucket,
                                          Policy=source_ip_policy(bucket, networks))
                self.assertTrue(self.is_public(bucket))

    def test_item05_control_one_slash8_or_private_ranges_are_not_public(self):
        """Control: one /8, one IPv6 /32, or RFC 1918 ranges are not public (accepted under
        BlockPublicPolicy)."""
        cases = [("networks-one-v4", ["127.0.0.0/8"]),
                 ("networks-private", ["10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12"]),
                 ("networks-one-v6", ["2001:db8::/32"])]
        for bucket, networks in cases:
            with self.subTest(networks=networks):
                self.bucket(bucket)  # BlockPublicPolicy on: accepted only if not public
                self.s3.put_bucket_policy(Bucket=bucket,
                                          Policy=source_ip_policy(bucket, networks))
                self.assertFalse(self.is_public(bucket))


# --- item 6: SSE-C first ------------------------------------------------------------------------

class SseCFirstTest(HardeningTestCase):
    """Without the customer key nothing about an SSE-C object may leak: not its size (416 with
    ActualObjectSize), not its ETag (412/304), not its parts."""

    BUCKET = "ssec-first"
    KEY = os.urandom(32)
    BODY = os.urandom(1000)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.s3.create_bucket(Bucket=cls.BUCKET)
        cls.s3.put_object(Bucket=cls.BUCKET, Key="sealed.bin", Body=cls.BODY,
                          SSECustomerAlgorithm="AES256", SSECustomerKey=cls.KEY)
        cls.etag = cls.s3.head_object(Bucket=cls.BUCKET, Key="sealed.bin",
                                      SSECustomerAlgorithm="AES256",
                                      SSECustomerKey=cls.KEY)["ETag"]

    @staticmethod
    def key_headers(key):
        return {"x-amz-server-side-encryption-customer-algorithm": "AES256",
                "x-amz-server-side-encryption-customer-key": b64(key),
                "x-amz-server-side-encryption-customer-key-MD5": b64(hashlib.md5(key).digest())}

    def get(self, headers=None, query="", method="GET", key=None):
        hdrs = dict(headers or {})
        if key is not None:
            hdrs.update(self.key_headers(key))
        return self.server.s3_request(method, f"/{self.BUCKET}/sealed.bin", query=query,
                                      headers=hdrs)

    def assertSseCRequired(self, response):
        self.assertS3RawError(response, 400, "InvalidRequest", SSE_C_REQUIRED)
        self.assertNotIn(b"ActualObjectSize", response.body)

    def test_item06_range_without_the_key_is_the_sse_c_error_not_416(self):
        """GET of an SSE-C object without the key and with Range bytes=999999-: the SSE-C 400, not
        416 with ActualObjectSize (which leaks the size)."""
        self.assertSseCRequired(self.get({"Range": "bytes=999999-"}))

    def test_item06_part_number_and_conditions_without_the_key_are_the_sse_c_error(self):
        """partNumber, If-Match, If-None-Match, If-Modified-Since and If-Unmodified-Since without
        the key: all the SSE-C 400 (no 412/304/InvalidPartNumber that leak the ETag or parts)."""
        future = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=2))
        cases = [("partNumber", {}, "partNumber=5"),
                 ("If-Match wrong", {"If-Match": '"0123456789abcdef0123456789abcdef"'}, ""),
                 ("If-None-Match right", {"If-None-Match": self.etag}, ""),
                 ("If-Modified-Since future",
                  {"If-Modified-Since": future.strftime("%a, %d %b %Y %H:%M:%S GMT")}, ""),
                 ("If-Unmodified-Since past",
                  {"If-Unmodified-Since": "Mon, 01 Jan 1990 00:00:00 GMT"}, "")]
        for name, headers, query in cases:
            with self.subTest(name):
                self.assertSseCRequired(self.get(headers, query))

    def test_item06_head_without_the_key_is_a_bare_400(self):
        """HEAD without the key: a bare 400 whatever Range or conditions it carries."""
        for name, headers in (("plain", {}), ("range", {"Range": "bytes=999999-"}),
                              ("If-None-Match", {"If-None-Match": self.etag})):
            with self.subTest(name):
                response = self.get(headers, method="HEAD")
                self.assertEqual(response.status, 400, describe(response))
                self.assertEqual(response.body, b"")

    def test_item06_a_wrong_key_is_403_before_range_or_conditions(self):
        """A wrong customer key: 403 AccessDenied before Range or conditions are looked at."""
        for name, headers in (("range", {"Range": "bytes=999999-"}),
                              ("If-None-Match", {"If-None-Match": self.etag})):
            with self.subTest(name):
                response = self.get(headers, key=os.urandom(32))
                self.assertS3RawError(response, 403, "AccessDenied")
                self.assertNotIn(b"ActualObjectSize", response.body)

    def test_item06_control_with_the_right_key_the_usual_answers_come_back(self):
        """Control: with the right key, 416, 412, 304 and 206 come back as usual."""
        response = self.get({"Range": "bytes=999999-"}, key=self.KEY)
        self.assertS3RawError(response, 416, "InvalidRange")
        response = self.get({"If-Match": '"0123456789abcdef0123456789abcdef"'}, key=self.KEY)
        self.assertS3RawError(response, 412, "PreconditionFailed")
        response = self.get({"If-None-Match": self.etag}, key=self.KEY)
        self.assertEqual(response.status, 304, describe(response))
        response = self.get({"Range": "bytes=10-19"}, key=self.KEY)
        self.assertEqual((response.status, response.body), (206, self.BODY[10:20]))


# --- item 7: Bucket Keys follow aliases ---------------------------------------------------------

class BucketKeyAliasTest(HardeningTestCase):
    def test_item07_after_update_alias_the_next_object_uses_the_new_key(self):
        """Bucket default SSE-KMS alias/k3 with a Bucket Key; after UpdateAlias k3 -> k4 the next
        object is encrypted under k4 at once (no cached Bucket Key of k3 for five minutes)."""
        kms = self.server.client("kms")
        s3 = self.server.s3_client()
        k3 = kms.create_key(Description="k3")["KeyMetadata"]["Arn"]
        k4 = kms.create_key(Description="k4")["KeyMetadata"]["Arn"]
        kms.create_alias(AliasName="alias/k3", TargetKeyId=k3)
        s3.create_bucket(Bucket="bucket-key-alias")
        s3.put_bucket_encryption(Bucket="bucket-key-alias", ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                              "KMSMasterKeyID": "alias/k3"},
                       "BucketKeyEnabled": True}]})
        first = s3.put_object(Bucket="bucket-key-alias", Key="obj1", Body=b"one")
        self.assertEqual((first["SSEKMSKeyId"], first.get("BucketKeyEnabled")), (k3, True))
        kms.update_alias(AliasName="alias/k3", TargetKeyId=k4)
        second = s3.put_object(Bucket="bucket-key-alias", Key="obj2", Body=b"two")
        self.assertEqual(second["SSEKMSKeyId"], k4)
        self.assertEqual(s3.head_object(Bucket="bucket-key-alias", Key="obj2")["SSEKMSKeyId"], k4)
        self.assertEqual(s3.head_object(Bucket="bucket-key-alias", Key="obj1")["SSEKMSKeyId"], k3)
        for key, body in (("obj1", b"one"), ("obj2", b"two")):
            self.assertEqual(s3.get_object(Bucket="bucket-key-alias", Key=key)["Body"].read(),
                             body)


# --- item 8: regions and AWS managed keys -------------------------------------------------------

class RegionsTest(HardeningTestCase):
    """Credential scopes naming a region the server does not serve (default: AWS's commercial
    regions) are refused with AWS's texts, before anything is created for that region."""

    def kms_key_documents(self):
        return self.server.query_db(
            "SELECT COUNT(*) FROM documents WHERE collection = 'kms.key'")[0][0]

    def test_item08_s3_header_auth_for_an_unserved_region_is_malformed(self):
        """S3 header auth scoped to xx-fake-1: 400 AuthorizationHeaderMalformed (<Region>), and
        CreateBucket creates nothing."""
        response = self.server.s3_request("PUT", "/fake-region-bucket", region=FAKE_REGION)
        self.assertS3RawError(
            response, 400, "AuthorizationHeaderMalformed",
            f"The authorization header is malformed; the region '{FAKE_REGION}' is wrong; "
            f"expecting '{REGION}'", Region=REGION)
        response = self.server.s3_request("GET", "/", region=FAKE_REGION)
        self.assertS3RawError(response, 400, "AuthorizationHeaderMalformed", Region=REGION)
        self.assertS3Error(404, "404", None, self.root.s3().head_bucket,
                           Bucket="fake-region-bucket")

    def test_item08_presigned_url_for_an_unserved_region_is_refused(self):
        """A presigned URL scoped to xx-fake-1: 400 AuthorizationQueryParametersError (<Region>)."""
        s3 = self.server.s3_client()
        s3.create_bucket(Bucket="regions-presigned")
        s3.put_object(Bucket="regions-presigned", Key="k", Body=b"data")
        presigner = self.server.s3_client(region=FAKE_REGION, signature_version="s3v4")
        url = presigner.generate_presigned_url(
            "get_object", Params={"Bucket": "regions-presigned", "Key": "k"})
        self.assertIn(f"%2F{FAKE_REGION}%2F", url)
        parts = urllib.parse.urlsplit(url)
        response = exchange(self.server, "GET", f"{parts.path}?{parts.query}",
                            [("Host", parts.netloc)])
        self.assertS3RawError(
            response, 400, "AuthorizationQueryParametersError",
            f"Error parsing the X-Amz-Credential parameter; the region '{FAKE_REGION}' is "
            f"wrong; expecting '{REGION}'", Region=REGION)

    def test_item08_kms_for_an_unserved_region_creates_nothing(self):
        """KMS scoped to xx-fake-1: InvalidSignatureException; no key document is created (counted
        in the metadata store) and no served region lists one."""
        before = self.kms_key_documents()
        for operation in ("CreateKey", "ListKeys"):
            with self.subTest(operation):
                response = self.server.kms_call(operation, {}, region=FAKE_REGION)
                self.assertKmsRawError(response, 400, "InvalidSignatureException",
                                       REGION_SCOPE_TEXT)
        self.assertEqual(self.kms_key_documents(), before)
        for region in ("us-east-1", "us-west-2", "eu-west-1"):
            keys = self.root.client("kms", region=region).list_keys()["Keys"]
            self.assertFalse([k for k in keys if FAKE_REGION in k["KeyArn"]], keys)
        # The count does see a key created where the server serves.
        self.root.client("kms").create_key()
        self.assertEqual(self.kms_key_documents(), before + 1)

    def test_item08_sts_and_iam_for_an_unserved_region_are_refused(self):
        """STS and IAM scoped to xx-fake-1 (and IAM to any region but the default): 403
        SignatureDoesNotMatch with AWS's texts."""
        cases = [("sts", FAKE_REGION, b"Action=GetCallerIdentity&Version=2011-06-15",
                  REGION_SCOPE_TEXT),
                 ("iam", FAKE_REGION, b"Action=ListUsers&Version=2010-05-08",
                  f"Credential should be scoped to a valid region, not '{FAKE_REGION}'. "),
                 # IAM is global: served in the default region only.
                 ("iam", "us-west-2", b"Action=ListUsers&Version=2010-05-08",
                  "Credential should be scoped to a valid region, not 'us-west-2'. ")]
        for service, region, body, message in cases:
            with self.subTest(service=service, region=region):
                response = self.server.raw_request(body, service=service, region=region,
                                                   headers={"Content-Type": FORM})
                self.assertEqual(response.status, 403, describe(response))
                fields = xml_fields(response.body)
                self.assertEqual((fields.get("Code"), fields.get("Message")),
                                 ("SignatureDoesNotMatch", message), describe(response))

    def test_item08_control_a_served_region_works(self):
        """Control: us-west-2 and eu-west-1 are among the default served regions."""
        key = self.root.client("kms", region="us-west-2").create_key()["KeyMetadata"]
        self.assertTrue(key["Arn"].startswith("arn:aws:kms:us-west-2:"), key["Arn"])
        response = self.server.raw_request(b"Action=GetCallerIdentity&Version=2011-06-15",
                                           service="sts", region="eu-west-1",
                                           headers={"Content-Type": FORM})
        self.assertEqual(response.status, 200, describe(response))

    def test_item08_describe_key_of_a_managed_key_authorises_before_creating_it(self):
        """A user without kms:DescribeKey asks for alias/aws/s3: AccessDeniedException, and the
        managed key (with its alias) was not created on the way."""
        iam = self.server.client("iam")
        user = make_user(self.server, iam, "no-kms-rights",
                         {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"})
        kms = user.client("kms", region="eu-west-1")
        self.assertS3Error(400, "AccessDeniedException", None, kms.describe_key,
                           KeyId="alias/aws/s3")
        root_kms = self.root.client("kms", region="eu-west-1")
        # The predefined alias is listed, as AWS lists it, but without a key behind it.
        aliases = {a["AliasName"]: a for a in root_kms.list_aliases()["Aliases"]}
        self.assertNotIn("TargetKeyId", aliases["alias/aws/s3"])
        # Control: the root's own DescribeKey does create it.
        root_kms.describe_key(KeyId="alias/aws/s3")
        aliases = {a["AliasName"]: a for a in root_kms.list_aliases()["Aliases"]}
        self.assertIn("TargetKeyId", aliases["alias/aws/s3"])


class RegionsOptionTest(HardeningTestCase):
    """--regions narrows the served set."""
    server_options = {"extra_args": ["--regions", "us-east-1,eu-west-1"]}

    def test_item08_regions_option_limits_the_served_regions(self):
        """With --regions us-east-1,eu-west-1, us-west-2 is refused and the listed ones work."""
        response = self.server.kms_call("ListKeys", {}, region="us-west-2")
        self.assertKmsRawError(response, 400, "InvalidSignatureException", REGION_SCOPE_TEXT)
        self.root.client("kms", region="eu-west-1").list_keys()
        self.root.client("kms", region="us-east-1").list_keys()


# --- item 9: smaller holes ----------------------------------------------------------------------

class SmallerHolesTest(HardeningTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.iam = cls.server.client("iam")
        cls.s3 = cls.server.s3_client()

    def test_item09_user_and_role_names_are_unique_regardless_of_case(self):
        """CreateUser Alice after alice (and CreateRole DEPLOYER after deployer): 409
        EntityAlreadyExists naming the requested name."""
        self.iam.create_user(UserName="alice")
        self.assertS3Error(409, "EntityAlreadyExists", "User with name Alice already exists.",
                           self.iam.create_user, UserName="Alice")
        trust = policy({"Effect": "Allow", "Action": "sts:AssumeRole",
                        "Principal": {"AWS": f"arn:aws:iam::{self.server.account_id}:root"}})
        self.iam.create_role(RoleName="deployer", AssumeRolePolicyDocument=trust)
        self.assertS3Error(409, "EntityAlreadyExists", "Role with name DEPLOYER already exists.",
                           self.iam.create_role, RoleName="DEPLOYER",
                           AssumeRolePolicyDocument=trust)
        self.assertEqual([u["UserName"] for u in self.iam.list_users()["Users"]
                          if u["UserName"].lower() == "alice"], ["alice"])

    def test_item09_access_denied_texts_reveal_neither_path_nor_existence(self):
        """A user with no permissions asking for a user, role or group with a secret path, or for
        one that does not exist, gets the same AccessDenied text: `user <name>`, no path."""
        spy = make_user(self.server, self.iam, "spy")
        self.iam.create_user(UserName="agent", Path="/secret/division/")
        self.iam.create_role(RoleName="covert", Path="/secret/division/",
                             AssumeRolePolicyDocument=policy({
                                 "Effect": "Allow", "Action": "sts:AssumeRole",
                                 "Principal": {"AWS": f"arn:aws:iam::{self.server.account_id}"
                                                      ":root"}}))
        iam = spy.client("iam")

        def denied(action, resource):
            return (f"User: {spy.arn} is not authorized to perform: {action} on resource: "
                    f"{resource} because no identity-based policy allows the {action} action")

        for name in ("agent", "ghost"):  # exists (with a path) / does not exist
            with self.subTest(user=name):
                self.assertS3Error(403, "AccessDenied", denied("iam:GetUser", f"user {name}"),
                                   iam.get_user, UserName=name)
        for name in ("covert", "phantom"):
            with self.subTest(role=name):
                self.assertS3Error(403, "AccessDenied", denied("iam:GetRole", f"role {name}"),
                                   iam.get_role, RoleName=name)
        self.iam.create_group(GroupName="cell", Path="/secret/division/")
        for name in ("cell", "nocell"):
            with self.subTest(group=name):
                self.assertS3Error(403, "AccessDenied", denied("iam:GetGroup", f"group {name}"),
                                   iam.get_group, GroupName=name)

    def test_item09_put_object_with_tagging_needs_put_object_tagging(self):
        """PutObject with x-amz-tagging needs s3:PutObjectTagging as well as s3:PutObject."""
        self.s3.create_bucket(Bucket="tagging-needs-permission")
        resource_arn = "arn:aws:s3:::tagging-needs-permission/*"
        writer = make_user(self.server, self.iam, "writer",
                           {"Effect": "Allow", "Action": "s3:PutObject", "Resource": resource_arn})
        s3 = writer.s3()
        s3.put_object(Bucket="tagging-needs-permission", Key="untagged", Body=b"x")
        self.assertS3Error(403, "AccessDenied", None, s3.put_object,
                           Bucket="tagging-needs-permission", Key="tagged", Body=b"x",
                           Tagging="classification=public")
        self.assertS3Error(404, "404", None, self.s3.head_object,
                           Bucket="tagging-needs-permission", Key="tagged")
        self.iam.put_user_policy(UserName="writer", PolicyName="writer-policy",
                                 PolicyDocument=policy({
                                     "Effect": "Allow",
                                     "Action": ["s3:PutObject", "s3:PutObjectTagging"],
                                     "Resource": resource_arn}))
        self.assertAllowed(s3.put_object, Bucket="tagging-needs-permission", Key="tagged",
                           Body=b"x", Tagging="classification=public")
        self.assertEqual(self.s3.get_object_tagging(Bucket="tagging-needs-permission",
                                                    Key="tagged")["TagSet"],
                         [{"Key": "classification", "Value": "public"}])

    def test_item09_acls_and_listings_name_the_bucket_owner(self):
        """Account B, reading A's bucket through its bucket policy, sees A (the bucket owner) as
        owner in GetObjectAcl, GetBucketAcl and both listings."""
        bucket = "owned-by-a"
        self.s3.create_bucket(Bucket=bucket)
        self.s3.put_object(Bucket=bucket, Key="report.txt", Body=b"A's report")
        a_owner = self.s3.list_buckets()["Owner"]["ID"]
        b_id, b = second_account(self.server)
        b_s3 = b.s3()
        b_owner = b_s3.list_buckets()["Owner"]["ID"]
        self.assertNotEqual(a_owner, b_owner)
        self.s3.put_bucket_policy(Bucket=bucket, Policy=policy({
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{b_id}:root"},
            "Action": ["s3:GetObject", "s3:GetObjectAcl", "s3:ListBucket", "s3:GetBucketAcl"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}))
        self.assertEqual(b_s3.get_object(Bucket=bucket, Key="report.txt")["Body"].read(),
                         b"A's report")
        self.assertEqual(b_s3.get_object_acl(Bucket=bucket, Key="report.txt")["Owner"]["ID"],
                         a_owner)
        self.assertEqual(b_s3.get_bucket_acl(Bucket=bucket)["Owner"]["ID"], a_owner)
        listed = b_s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"]
        self.assertEqual([o["Owner"]["ID"] for o in listed], [a_owner])
        listed = b_s3.list_objects(Bucket=bucket)["Contents"]
        self.assertEqual([o["Owner"]["ID"] for o in listed], [a_owner])


# --- item 10: slow clients ----------------------------------------------------------------------

# No --max-connections here: 300 trickles must be let in for the starvation test (the limit has
# its own server below).
SLOW_OPTIONS = ["--header-timeout", "2", "--body-timeout", "2", "--min-rate", "1024"]


class SlowClientsTest(HardeningTestCase):
    """Small deadlines (--header-timeout 2 --body-timeout 2 --min-rate 1024) so that the slow
    clients' fate shows within seconds."""
    server_options = {"extra_args": SLOW_OPTIONS}
    BUCKET = "slow-target"

    @classmethod
    def setUpClass(cls):
        raise_fd_limit()  # before the server starts: it inherits the limit
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.s3.create_bucket(Bucket=cls.BUCKET)

    def put_head(self, key, length):
        target, headers = self.server.sign(
            b"", method="PUT", path=f"/{self.BUCKET}/{key}", service="s3",
            headers={"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"})
        return build_head("PUT", target, list(headers.items()), length)

    def test_item10_trickling_uploads_do_not_starve_other_clients(self):
        """300 (or as many as the descriptor limit allows) signed 1 MB PUTs send their header
        and then one byte per second each; meanwhile a normal client's PUT and GET complete
        promptly. Today every trickle holds a worker thread, and the normal PUT waits for one."""
        count = min(300, raise_fd_limit() - 100)
        socks = []
        stop = threading.Event()
        try:
            for i in range(count):
                sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
                sock.sendall(self.put_head(f"trickle/{i}", MiB) + b"x")
                socks.append(sock)
            alive = list(socks)

            def trickle():
                while not stop.wait(1.0):
                    for sock in list(alive):
                        try:
                            sock.send(b"x", socket.MSG_DONTWAIT)
                        except OSError:
                            alive.remove(sock)

            trickler = threading.Thread(target=trickle, daemon=True)
            trickler.start()
            client = self.server.s3_client(read_timeout=15, connect_timeout=5)
            started = time.monotonic()
            try:
                client.put_object(Bucket=self.BUCKET, Key="normal.txt", Body=b"n" * 1024)
                put_done = time.monotonic()
                got = client.get_object(Bucket=self.BUCKET, Key="normal.txt")["Body"].read()
            except botocore.exceptions.ReadTimeoutError as e:
                self.fail(f"a normal client starved behind {count} trickling uploads: {e}")
            elapsed = time.monotonic() - started
            self.assertEqual(got, b"n" * 1024)
            self.assertLess(put_done - started, 10.0)
            self.assertLess(elapsed, 10.0)
            # The experiment was real: the trickles were still connected meanwhile.
            self.assertGreater(len(alive), count * 0.9)
        finally:
            stop.set()
            for sock in socks:
                sock.close()

    def test_item10_slowloris_header_is_cut_after_the_header_timeout(self):
        """A header sent one byte per second is cut after about --header-timeout (2 s)."""
        head = (f"GET /{self.BUCKET}/normal.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"X-Padding: {'p' * 200}\r\n\r\n").encode()
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        started = time.monotonic()
        closed_after = None
        try:
            for i in range(len(head)):
                try:
                    sock.send(head[i:i + 1])
                except OSError:
                    closed_after = time.monotonic() - started
                    break
                if closed_by_peer(sock, 1.0):
                    closed_after = time.monotonic() - started
                    break
                if time.monotonic() - started > 12:
                    break
        finally:
            sock.close()
        self.assertIsNotNone(closed_after, "the server kept a one-byte-per-second header open")
        self.assertLess(closed_after, 10.0)
        self.assertGreater(closed_after, 1.0)  # about the header timeout, not at once

    def test_item10_a_stalled_body_gets_request_timeout_or_a_closed_connection(self):
        """A body that stops after 100 bytes: 400 RequestTimeout and close (or a close) within
        seconds of --body-timeout 2; nothing is stored."""
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=12)
        try:
            sock.sendall(self.put_head("stalled", MiB) + b"y" * 100)
            data, closed = read_until_closed(sock, 10.0)
        finally:
            sock.close()
        self.assertTrue(closed, f"a stalled body kept its connection for 10 s (got {data!r})")
        if data:
            self.assertTrue(data.startswith(b"HTTP/1.1 400"), data[:200])
            self.assertIn(b"<Code>RequestTimeout</Code>", data)
        self.assertS3Error(404, "NoSuchKey", None, self.s3.get_object, Bucket=self.BUCKET,
                           Key="stalled")


class MaxConnectionsTest(HardeningTestCase):
    server_options = {"extra_args": ["--max-connections", "8"]}
    LIMIT = 8

    def list_buckets_head(self):
        target, headers = self.server.sign(b"", method="GET", path="/", service="s3",
                                           headers={"X-Amz-Content-SHA256":
                                                    hashlib.sha256(b"").hexdigest()})
        return build_head("GET", target, list(headers.items()), 0, keep_alive=True)

    def served(self, sock):
        sock.sendall(self.list_buckets_head())
        return read_response(sock, "GET")

    def test_item10_connections_beyond_the_limit_get_503_and_later_ones_are_served(self):
        """With --max-connections 8 and 8 held: the 9th gets 503 SlowDown (or is closed); once
        they close, new connections are served again."""
        held = []
        try:
            for _ in range(self.LIMIT):
                sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
                held.append(sock)
                self.assertEqual(self.served(sock).status, 200)  # served, and kept open
            extra = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            try:
                try:
                    response = self.served(extra)
                except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                    response = None  # closed without an answer: also refused
                if response is not None:
                    self.assertEqual(response.status, 503, describe(response))
                    self.assertIn(b"<Code>SlowDown</Code>", response.body)
                    self.assertIn(b"Please reduce your request rate.", response.body)
            finally:
                extra.close()
        finally:
            for sock in held:
                sock.close()

        def fresh_connection_served():
            sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            try:
                return self.served(sock).status == 200
            except (http.client.HTTPException, OSError):
                return False
            finally:
                sock.close()

        wait_until(fresh_connection_served, 15, interval=0.1,
                   what="a new connection to be served after the others closed")


def _low_fd_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))


class DescriptorExhaustionTest(HardeningTestCase):
    """The server runs with RLIMIT_NOFILE 128 and clients hold far more connections: accept()
    fails with EMFILE. It must back off (no busy loop, no log flood) and serve again once the
    clients go."""
    server_options = {"preexec_fn": _low_fd_limit}

    def signed_list_buckets(self, timeout):
        target, headers = self.server.sign(b"", method="GET", path="/", service="s3",
                                           headers={"X-Amz-Content-SHA256":
                                                    hashlib.sha256(b"").hexdigest()})
        return exchange(self.server, "GET", target, list(headers.items()), timeout=timeout)

    def log_lines(self):
        with open(self.server.log_path, "rb") as f:
            return f.read().count(b"\n")

    def test_item10_accept_backs_off_when_descriptors_run_out(self):
        """Under EMFILE the server neither spins (CPU over 3 s) nor floods its log, and serves
        again once the clients close."""
        raise_fd_limit()
        self.assertEqual(self.signed_list_buckets(10).status, 200)
        with open(f"/proc/{self.server.pid}/limits") as f:
            self.assertRegex(f.read(), r"Max open files\s+128\s+128")
        clients = []
        try:
            for _ in range(300):
                clients.append(socket.create_connection(("127.0.0.1", self.server.port),
                                                        timeout=10))
            # Saturated: a fresh request is not served (refused, dropped or left waiting).
            try:
                status = self.signed_list_buckets(2).status
            except (OSError, http.client.HTTPException):
                status = None
            self.assertNotEqual(status, 200, "the server was not out of descriptors")
            cpu_before, lines_before = self.server.cpu_seconds(), self.log_lines()
            time.sleep(3.0)  # the measurement window, not a synchronisation
            cpu = self.server.cpu_seconds() - cpu_before
            logged = self.log_lines() - lines_before
            self.assertLess(cpu, 0.3, f"{cpu:.2f} s of CPU in 3 s while out of descriptors")
            self.assertLess(logged, 20, f"{logged} log lines in 3 s while out of descriptors")
        finally:
            for sock in clients:
                sock.close()

        def served():
            try:
                return self.signed_list_buckets(5).status == 200
            except (OSError, http.client.HTTPException):
                return False

        wait_until(served, 20, interval=0.2, what="the server to serve again")
        self.assertTrue(self.server.running)


# --- item 11: nothing big before the caller is known --------------------------------------------

RSS_GROWTH_LIMIT_KB = 50 * 1024


def delete_objects_body(size):
    """<Delete> with as many empty <Object/> elements as fit in `size` bytes (~0.9 M in 8 MB)."""
    head, tail, element = b"<Delete>", b"</Delete>", b"<Object/>"
    return head + element * ((size - len(head) - len(tail)) // len(element)) + tail


class MemoryBoundsTest(HardeningTestCase):
    """A fresh server per test: the peak RSS (VmHWM) only grows, so each attack is measured from
    its own baseline."""

    @classmethod
    def setUpClass(cls):
        unittest.TestCase.setUpClass()

    def setUp(self):
        self.server = HangarServer()
        self.addCleanup(self.server.close)
        self.server.start()
        self.s3 = self.server.s3_client()
        self.s3.create_bucket(Bucket="memory-target")
        self.baseline_kb = self.server.peak_rss_kb()

    def assertPeakBounded(self, what):
        growth = self.server.peak_rss_kb() - self.baseline_kb
        self.assertLess(growth, RSS_GROWTH_LIMIT_KB,
                        f"{what}: peak RSS grew by {growth // 1024} MiB")

    def parallel(self, count, send):
        """Runs `send()` in `count` threads at once; returns the results (or exceptions)."""
        barrier = threading.Barrier(count)

        def one():
            barrier.wait()
            try:
                return send()
            except (OSError, http.client.HTTPException) as e:
                return e

        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            return list(pool.map(lambda _: one(), range(count)))

    def assertStillServes(self):
        self.assertTrue(self.server.running, self.server.log_tail())
        self.assertEqual(self.s3.list_objects_v2(Bucket="memory-target")["KeyCount"], 0)

    def test_item11_unsigned_delete_objects_to_a_missing_bucket_is_not_buffered(self):
        """12 unsigned 8 MB DeleteObjects (~0.9 M <Object/> each) to a missing bucket at once:
        answered (NoSuchBucket/AccessDenied) without the server buffering the bodies."""
        body = delete_objects_body(8_000_000)
        head = (b"POST /no-such-bucket?delete HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/xml\r\n" +
                f"Content-MD5: {b64(hashlib.md5(body).digest())}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode())
        results = self.parallel(12, lambda: self.server.raw_exchange(head, body, timeout=60))
        self.assertPeakBounded("12 unsigned 8 MB DeleteObjects")
        for result in results:
            if isinstance(result, RawResponse):
                self.assertIn(result.status, (403, 404), describe(result))
                self.assertIn(xml_fields(result.body).get("Code"),
                              ("NoSuchBucket", "AccessDenied"))
            else:  # refused before the body: the reset may beat the answer to us
                self.assertIsInstance(result, (ConnectionResetError, BrokenPipeError), result)
        self.assertStillServes()

    def signed_delete_objects(self, body):
        return self.server.s3_request(
            "POST", "/memory-target", body, query="delete",
            headers={"Content-MD5": b64(hashlib.md5(body).digest()),
                     "Content-Type": "application/xml"}, timeout=60)

    def test_item11_signed_delete_objects_beyond_the_size_limit_is_refused(self):
        """6 signed 8 MB DeleteObjects to an existing bucket at once: refused by the 4 MiB size
        limit (400/413) before being buffered or parsed."""
        body = delete_objects_body(8_000_000)
        results = self.parallel(6, lambda: self.signed_delete_objects(body))
        self.assertPeakBounded("6 signed 8 MB DeleteObjects")
        for result in results:
            if isinstance(result, RawResponse):
                self.assertIn(result.status, (400, 413), describe(result))
            else:
                self.assertIsInstance(result, (ConnectionResetError, BrokenPipeError), result)
        self.assertStillServes()

    def test_item11_signed_delete_objects_beyond_the_element_limit_is_malformed(self):
        """4 signed 3.9 MB DeleteObjects (under the size limit, ~430 k elements): MalformedXML
        by the 20,000-element limit, without building the whole tree (the bodies themselves
        are read: ~16 MB)."""
        body = delete_objects_body(3_900_000)  # under the 4 MiB size limit, ~430k elements
        results = self.parallel(4, lambda: self.signed_delete_objects(body))
        self.assertPeakBounded("4 signed DeleteObjects with 430k elements")
        for result in results:
            self.assertIsInstance(result, RawResponse, result)
            self.assertS3RawError(result, 400, "MalformedXML")
        self.assertStillServes()

    def test_item11_a_deeply_nested_bucket_policy_is_refused_quickly(self):
        """A 7 MB bucket policy nested 3.5 M deep: 400 within seconds, bounded memory, nothing
        stored."""
        depth = 3_500_000  # 7 MB
        body = (b'{"Version":"2012-10-17","Statement":' + b"[" * depth + b"]" * depth + b"}")
        started = time.monotonic()
        response = self.server.s3_request("PUT", "/memory-target", body, query="policy",
                                          timeout=60)
        elapsed = time.monotonic() - started
        self.assertPeakBounded("a 7 MB nested bucket policy")
        self.assertEqual(response.status, 400, describe(response))
        self.assertLess(elapsed, 5.0)
        self.assertStillServes()
        self.assertS3Error(404, "NoSuchBucketPolicy", None, self.s3.get_bucket_policy,
                           Bucket="memory-target")

    def test_item11_a_deeply_nested_kms_body_is_a_serialization_exception(self):
        """Six at once: each 1 MB body is read (KMS bodies are authenticated over their bytes),
        but none may be parsed into half a million nested arrays."""
        depth = 500_000
        body = b'{"KeyId":' + b"[" * depth + b"]" * depth + b"}"
        self.assertLess(len(body), MiB)
        results = self.parallel(6, lambda: self.server.kms_call("DescribeKey", body,
                                                                 timeout=60))
        self.assertPeakBounded("six KMS bodies nested 500,000 deep")
        for response in results:
            self.assertIsInstance(response, RawResponse, response)
            self.assertKmsRawError(response, 400, "SerializationException")
        self.assertStillServes()

    def test_item11_an_unsigned_large_kms_body_is_refused_before_it_is_read(self):
        """No credentials, 1 MB declared: the answer comes without the body being sent."""
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        try:
            sock.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"X-Amz-Target: TrentService.Encrypt\r\n"
                         b"Content-Type: application/x-amz-json-1.1\r\n"
                         b"Content-Length: 1000000\r\nConnection: close\r\n\r\n")
            self.assertTrue(readable([sock], 5.0),
                            "the server waited for the body of an unsigned request")
            response = read_response(sock, "POST")
        finally:
            sock.close()
        self.assertEqual(response.status // 100, 4, describe(response))

    def test_item11_an_anonymous_put_to_a_private_bucket_is_refused_before_its_body(self):
        """An unsigned PUT into a bucket without a public policy is refused after its header,
        whatever its declared size (small bodies are otherwise read before dispatch)."""
        for length in (60_000, 5_000_000):
            with self.subTest(length=length):
                sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
                try:
                    sock.sendall(f"PUT /memory-target/anonymous.bin HTTP/1.1\r\n"
                                 f"Host: 127.0.0.1\r\nContent-Length: {length}\r\n"
                                 "Connection: close\r\n\r\n".encode())
                    self.assertTrue(readable([sock], 5.0),
                                    "the server waited for the body of an anonymous PUT")
                    response = read_response(sock, "PUT")
                finally:
                    sock.close()
                self.assertS3RawError(response, 403, "AccessDenied")
        self.assertStillServes()

    def test_item11_unauthenticated_bodies_share_a_bounded_budget(self):
        """100 requests with valid signed headers and 1 MB bodies (100 MB > the 64 MiB budget for
        bodies not yet verified) are sent but for their last byte: those beyond the budget get
        503 instead of being buffered; the others complete normally."""
        raise_fd_limit()
        count, size = 100, 1_000_000
        prefix = b'{"NumberOfBytes": 32'
        body = prefix + b" " * (size - len(prefix) - 1) + b"}"
        target, headers = self.server.sign(body, target="TrentService.GenerateRandom")
        head = build_head("POST", target, list(headers.items()), len(body))
        socks = []
        try:
            for _ in range(count):
                sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
                socks.append(sock)

            def send_all_but_last(sock):
                try:
                    sock.sendall(head + body[:-1])
                except OSError:
                    pass  # refused and closed early

            with concurrent.futures.ThreadPoolExecutor(16) as pool:
                list(pool.map(send_all_but_last, socks))
            refused, other = set(), {}

            def enough_refused():
                waiting = [s for s in socks if s not in refused and s not in other]
                for sock in readable(waiting, 0):
                    try:
                        first = sock.recv(12, socket.MSG_PEEK)
                    except OSError:
                        first = b""  # reset after the 503: refused all the same
                    if first and len(first) < 12 and b"HTTP/1.1 503".startswith(first):
                        continue  # the status line is still on its way
                    if first == b"" or first.startswith(b"HTTP/1.1 503"):
                        refused.add(sock)
                    else:
                        other[sock] = first
                return len(refused) >= 25

            wait_until(enough_refused, 10, interval=0.05,
                       what="503 answers for bodies beyond the budget")
            self.assertEqual(list(other.values()), [])
            accepted = [s for s in socks if s not in refused][:5]
            for sock in accepted:
                sock.sendall(body[-1:])
            for sock in accepted:
                response = read_response(sock, "POST")
                self.assertIn(response.status, (200, 503), describe(response))
        finally:
            for sock in socks:
                sock.close()
        self.assertTrue(self.server.running)


# --- item 12: sessions --------------------------------------------------------------------------

MINIMAL_POLICY = ('{"Version":"2012-10-17","Statement":'
                  '[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}')


def padded(policy_text, length):
    """policy_text with spaces after its first '{', `length` characters in all."""
    return policy_text[0] + " " * (length - len(policy_text)) + policy_text[1:]


class SessionsTest(HardeningTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        account = cls.server.account_id
        iam = cls.server.client("iam")
        cls.assumer = make_user(cls.server, iam, "assumer",
                                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
        iam.create_role(RoleName="session-role", AssumeRolePolicyDocument=policy({
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": f"arn:aws:iam::{account}:user/assumer"}}))
        iam.put_role_policy(RoleName="session-role", PolicyName="s3",
                            PolicyDocument=MINIMAL_POLICY)
        cls.role_arn = f"arn:aws:iam::{account}:role/session-role"
        cls.sts = cls.assumer.client("sts", validate=False)

    def assume(self, session_policy=None, name="policy-session"):
        kwargs = {"RoleArn": self.role_arn, "RoleSessionName": name}
        if session_policy is not None:
            kwargs["Policy"] = session_policy
        return self.sts.assume_role(**kwargs)

    def test_item12_a_megabyte_of_whitespace_around_a_session_policy_is_refused(self):
        """A valid session policy padded with 1 MB of spaces: 400 ValidationError (the limit counts
        the raw text)."""
        huge = " " * 500_000 + MINIMAL_POLICY + " " * 500_000
        self.assertS3Error(400, "ValidationError", SESSION_POLICY_TOO_LONG, self.assume, huge)

    def test_item12_the_session_policy_limit_counts_whitespace(self):
        """Boundary: 2,048 characters including whitespace are accepted, 2,049 are not."""
        self.assertEqual(len(padded(MINIMAL_POLICY, 2048)), 2048)
        creds = self.assertAllowed(self.assume, padded(MINIMAL_POLICY, 2048))["Credentials"]
        self.assertTrue(creds["AccessKeyId"].startswith("ASIA"))
        self.assertS3Error(400, "ValidationError", SESSION_POLICY_TOO_LONG, self.assume,
                           padded(MINIMAL_POLICY, 2049))


class SessionPurgeTest(HardeningTestCase):
    """Expired AssumeRole and GetSessionToken records are purged by the lifecycle runner (the
    dev clock's advance runs it)."""

    def session_records(self):
        return [body for _, _, body in self.server.documents("iam.access-key")
                if body.get("type") == "session"]

    def test_item12_expired_session_records_are_purged(self):
        """20 sessions (AssumeRole and GetSessionToken) are stored; once expired (dev clock + 2 h),
        the lifecycle runner has purged every record."""
        account = self.server.account_id
        iam = self.server.client("iam")
        user = make_user(self.server, iam, "session-user",
                         {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
        iam.create_role(RoleName="purge-role", AssumeRolePolicyDocument=policy({
            "Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"AWS": f"arn:aws:iam::{account}:user/session-user"}}))
        sts = user.client("sts")
        before = len(self.session_records())
        issued = []
        for i in range(10):
            issued.append(sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/purge-role",
                                          RoleSessionName=f"session-{i}",
                                          DurationSeconds=900)["Credentials"])
            issued.append(sts.get_session_token(DurationSeconds=900)["Credentials"])
        records = self.session_records()
        self.assertGreaterEqual(len(records) - before, 20)  # the count does see them
        self.assertTrue({c["AccessKeyId"] for c in issued} <=
                        {d for _, d, b in self.server.documents("iam.access-key")
                         if b.get("type") == "session"})
        self.server.advance_clock(2 * 3600)
        left = self.session_records()
        self.assertEqual(len(left), 0, f"{len(left)} expired session records remain")
        # The long-term keys stay.
        self.assertEqual(user.client("sts").get_caller_identity()["Arn"], user.arn)


# --- item 13: policy matching -------------------------------------------------------------------

class GlobMatchingTest(HardeningTestCase):
    """A bucket policy with an 18,000-character wildcard Resource in a Deny for "*" is evaluated
    for every request; a backtracking matcher spends (key - segment) x segment steps on it. The
    anonymous GETs name a 26,000-character key (a request line can be that long): today each
    costs about 0.4 s of an I/O thread."""

    BUCKET = "glob-bomb"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        s3 = cls.s3 = cls.server.s3_client()
        s3.create_bucket(Bucket=cls.BUCKET)
        s3.delete_public_access_block(Bucket=cls.BUCKET)
        s3.put_object(Bucket=cls.BUCKET, Key="public/readme.txt", Body=b"hello")
        cls.policy_text = policy(
            {"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{cls.BUCKET}/public/*"},
            {"Sid": "Bomb", "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
             "Resource": f"arn:aws:s3:::{cls.BUCKET}/*" + "a" * 18000 + "b"})
        s3.put_bucket_policy(Bucket=cls.BUCKET, Policy=cls.policy_text)
        s3.create_bucket(Bucket="glob-unrelated")
        s3.put_object(Bucket="glob-unrelated", Key="k", Body=b"unrelated")

    def anonymous_get(self, key, sent):
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=60)
        try:
            sock.sendall(f"GET /{self.BUCKET}/{key} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Connection: close\r\n\r\n".encode())
            sent.release()
            return read_response(sock).status
        finally:
            sock.close()

    def test_item13_wildcard_resources_cost_linear_time(self):
        """20 concurrent anonymous GETs against the 18,000-character pattern finish within 2 s,
        and an unrelated signed GET meanwhile is not stalled behind them."""
        self.assertLess(len(self.policy_text), 20 * 1024)
        # Control: the policy is in force (public/ readable anonymously).
        sent = threading.Semaphore(0)
        self.assertEqual(self.anonymous_get("public/readme.txt", sent), 200)
        key = "public/" + "a" * 26000
        count = 20
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(count) as pool:
            futures = [pool.submit(self.anonymous_get, key, sent) for _ in range(count)]
            for _ in range(count):
                sent.acquire(timeout=30)
            unrelated_started = time.monotonic()
            got = self.s3.get_object(Bucket="glob-unrelated", Key="k")["Body"].read()
            unrelated = time.monotonic() - unrelated_started
            statuses = [f.result() for f in futures]
        total = time.monotonic() - started
        self.assertEqual(got, b"unrelated")
        for status in statuses:
            self.assertIn(status, (400, 403, 404))
        self.assertLess(total, 2.0, f"20 anonymous GETs took {total:.1f} s")
        self.assertLess(unrelated, 1.0, "an unrelated signed GET stalled behind policy matching")


# --- item 14: control endpoints -----------------------------------------------------------------

class ControlEndpointsTest(HardeningTestCase):
    def clock_request(self, query, *, sign=True, creds=None):
        if sign:
            akid, secret = creds or (self.server.access_key_id, self.server.secret_access_key)
            target, headers = sign_only(self.server, service="hangar", path="/_hangar/dev/clock",
                                        query=query, creds=(akid, secret))
        else:
            target, headers = f"/_hangar/dev/clock?{query}", [("Host", "127.0.0.1")]
        return exchange(self.server, "POST", target, headers)

    def test_item14_an_unsigned_clock_advance_is_refused(self):
        """An unsigned POST /_hangar/dev/clock?advance=600: 403, the clock did not move."""
        before = self.server.clock_now()
        response = self.clock_request("advance=600", sign=False)
        self.assertEqual(response.status, 403, describe(response))
        self.assertLess(self.server.clock_now() - before, 300)

    def test_item14_a_clock_advance_signed_by_an_iam_user_is_refused(self):
        """Signed (service hangar) by an IAM user, even one allowed everything: 403."""
        user = make_user(self.server, self.server.client("iam"), "clock-user",
                         {"Effect": "Allow", "Action": "*", "Resource": "*"})
        before = self.server.clock_now()
        response = self.clock_request("advance=600", creds=user.creds)
        self.assertEqual(response.status, 403, describe(response))
        self.assertLess(self.server.clock_now() - before, 300)

    def test_item14_a_clock_advance_signed_by_the_root_moves_the_clock(self):
        """Signed by the account root: 200 and the clock moved."""
        before = self.server.clock_now()
        response = self.clock_request("advance=600")
        self.assertEqual(response.status, 200, describe(response))
        self.assertGreaterEqual(response.json()["epoch_ms"] / 1000.0 - before, 600)

    def test_item14_advance_must_be_an_integer_within_100_years(self):
        """advance outside 0..3,155,760,000 or not an integer: 400, clock unchanged."""
        for value in (str(10 ** 30), "-5", "abc", "", "1.5", "3155760001"):
            with self.subTest(advance=value):
                before = self.server.clock_now()
                response = self.clock_request(f"advance={value}")
                self.assertEqual(response.status, 400, describe(response))
                self.assertLess(self.server.clock_now() - before, 300)

    def test_item14_metrics_are_not_on_the_main_port(self):
        """GET /_hangar/metrics on the main (public) port: 404."""
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        try:
            conn.request("GET", "/_hangar/metrics")
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        self.assertEqual(resp.status, 404, body)
        self.assertNotIn(b"kms_calls", body)

    def test_item14_metrics_and_health_are_on_the_admin_listener(self):
        """The banner names the admin listener; metrics and health answer 200 there."""
        port = self.server.admin_port
        self.assertIsNotNone(port, f"no admin line in the banner: {self.server.stdout_lines}")
        self.assertNotEqual(port, self.server.port)
        for path in ("/_hangar/metrics", "/_hangar/health"):
            with self.subTest(path):
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                try:
                    conn.request("GET", path)
                    resp = conn.getresponse()
                    body = resp.read()
                finally:
                    conn.close()
                self.assertEqual(resp.status, 200, body)
        self.assertIn("kms_calls", self.server.metrics())


class ClockBoundTest(HardeningTestCase):
    def test_item14_advance_accepts_exactly_100_years(self):
        """Boundary: advance=3155760000 (100 years) is accepted."""
        before = self.server.clock_now()
        after = self.server.advance_clock(3_155_760_000)
        self.assertGreaterEqual(after - before, 3_155_760_000)


class ClockCapTest(HardeningTestCase):
    def test_item14_advance_past_the_total_cap_is_the_callers_error(self):
        """Two centuries in all exceed the clock's 150-year cap: the second move answers 400
        naming the cap (not 500), and the clock stays where the first move left it."""
        self.server.advance_clock(3_155_760_000)
        before = self.server.clock_now()
        with self.assertRaises(HangarError) as refused:
            self.server.advance_clock(3_155_760_000)
        self.assertIn("-> 400 ", str(refused.exception))
        self.assertIn("150 years", str(refused.exception))
        self.assertLess(self.server.clock_now() - before, 3_155_760_000)


# --- item 15: secrets in the process ------------------------------------------------------------

def server_env(**overrides):
    """The environment for a hand-started server: the caller's, without HANGAR_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HANGAR_")}
    env.update(overrides)
    return env


def memory_regions(pid):
    """[(start, end, perms, vmflags)] from /proc/<pid>/smaps."""
    regions, current = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) ", line)
            if m:
                current = [int(m.group(1), 16), int(m.group(2), 16), m.group(3), set()]
                regions.append(current)
            elif line.startswith("VmFlags:") and current is not None:
                current[3] = set(line.split()[1:])
    return [tuple(r) for r in regions]


class SecretsInProcessTest(unittest.TestCase):
    """What another process of the same machine could read of the server's secrets."""

    def start(self, env_extra, args=()):
        server = HangarServer(extra_env=env_extra, extra_args=list(args))
        self.addCleanup(server.close)
        server.start()
        return server

    def test_item15_secrets_from_the_environment_are_wiped(self):
        """HANGAR_ROOT_KEY and HANGAR_ROOT_SECRET_ACCESS_KEY are gone from /proc/<pid>/environ,
        while a planted marker variable is found there (the check can find things)."""
        root_key = base64.b64encode(os.urandom(32)).decode()
        marker = secrets.token_hex(16)
        # Non-root readers cannot open a non-dumpable process's environ; the wipe does not
        # depend on dumpability, so such a run keeps the process dumpable.
        args = [] if os.geteuid() == 0 else ["--allow-core-dumps"]
        server = self.start({"HANGAR_ROOT_KEY": root_key, "HANGAR_TEST_MARKER": marker}, args)
        self.assertEqual(server.client("sts").get_caller_identity()["Account"],
                         server.account_id)  # it did read both secrets
        with open(f"/proc/{server.pid}/environ", "rb") as f:
            environ = f.read()
        self.assertIn(f"HANGAR_TEST_MARKER={marker}".encode(), environ)  # the check finds things
        self.assertNotIn(root_key.encode(), environ)
        self.assertNotIn(server.secret_access_key.encode(), environ)

    def run_banner(self, *, tty, env_secret):
        """Starts a server on a fresh data dir with stdout on a pty or a pipe, stops it once it
        listens, and returns (everything it wrote to stdout, the secret in root-credentials)."""
        tmp = tempfile.mkdtemp(prefix="hangar-e2e-banner-")
        self.addCleanup(shutil.rmtree, tmp, True)
        data_dir = os.path.join(tmp, "data")
        env = server_env()
        if env_secret:
            env.update(HANGAR_ROOT_ACCESS_KEY_ID="AKIAHANGARE2EBANNER1",
                       HANGAR_ROOT_SECRET_ACCESS_KEY="bannerSecret0123456789abcdefghijklmnopqr")
        command = [HANGAR_BIN, "serve", "--data-dir", data_dir,
                   "--listen", "127.0.0.1:0"]
        with open(os.path.join(tmp, "stderr"), "wb") as log:
            if tty:
                master, slave = pty.openpty()
                proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=slave,
                                        stderr=log, env=env)
                os.close(slave)
            else:
                proc = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=log, env=env)
                master = proc.stdout.fileno()
        out = b""
        try:
            deadline = time.monotonic() + 20
            while b"Hangar listening" not in out or not out.endswith(b"\n"):
                self.assertLess(time.monotonic(), deadline, f"no banner: {out!r}")
                ready, _, _ = select.select([master], [], [], 0.5)
                if ready:
                    try:
                        chunk = os.read(master, 65536)
                    except OSError:
                        chunk = b""
                    self.assertTrue(chunk, f"server exited: {out!r}")
                    out += chunk
            proc.send_signal(signal.SIGTERM)
            while True:  # the rest of stdout, up to EOF at exit
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the pty's other side is closed
                    break
                if not chunk:
                    break
                out += chunk
            self.assertEqual(proc.wait(timeout=20), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if tty:
                os.close(master)
            else:
                proc.stdout.close()
        with open(os.path.join(data_dir, "root-credentials")) as f:
            secret = f.read().split("aws_secret_access_key = ")[1].split()[0]
        return out.decode("utf-8", "replace"), secret

    def test_item15_a_generated_secret_is_printed_only_on_a_terminal(self):
        """A generated root secret is printed when stdout is a terminal (pty), not into a pipe."""
        out, secret = self.run_banner(tty=True, env_secret=False)
        self.assertIn(f"AWS_SECRET_ACCESS_KEY={secret}", out)
        out, secret = self.run_banner(tty=False, env_secret=False)
        self.assertIn("AWS_ACCESS_KEY_ID=AKIA", out)  # the banner was read
        self.assertNotIn(secret, out)
        self.assertNotIn("AWS_SECRET_ACCESS_KEY", out)

    def test_item15_a_secret_from_the_environment_is_never_printed(self):
        """A root secret given in the environment is not printed, even on a terminal."""
        out, secret = self.run_banner(tty=True, env_secret=True)
        self.assertEqual(secret, "bannerSecret0123456789abcdefghijklmnopqr")
        self.assertIn("Hangar listening on", out)
        self.assertNotIn(secret, out)
        self.assertNotIn("AWS_SECRET_ACCESS_KEY", out)

    def test_item15_key_material_lives_only_in_memory_kept_out_of_core_dumps(self):
        """There is MADV_DONTDUMP memory (the secure heap); as root: the root key's bytes are found
        in the process (presence first) and only inside such memory."""
        raw_key = os.urandom(32)
        args = [] if os.geteuid() == 0 else ["--allow-core-dumps"]
        server = self.start({"HANGAR_ROOT_KEY": base64.b64encode(raw_key).decode()}, args)
        kms = server.client("kms")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.decrypt(CiphertextBlob=kms.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"])
        regions = memory_regions(server.pid)
        dont_dump = [r for r in regions if "dd" in r[3]]
        self.assertTrue(dont_dump, "no MADV_DONTDUMP region: the secure heap is missing")
        if os.geteuid() != 0:
            return  # reading another process's memory needs root
        found = []
        with open(f"/proc/{server.pid}/mem", "rb", buffering=0) as mem:
            for start, end, perms, flags in regions:
                if not perms.startswith("r"):
                    continue
                try:
                    mem.seek(start)
                    content = mem.read(end - start)
                except (OSError, ValueError, OverflowError):
                    continue  # e.g. [vvar]
                at = content.find(raw_key)
                while at != -1:
                    found.append((start + at, "dd" in flags))
                    at = content.find(raw_key, at + 1)
        self.assertTrue(found, "the root key is nowhere in memory: the search is broken")
        outside = [hex(address) for address, in_dd in found if not in_dd]
        self.assertEqual(outside, [], f"root key copies outside MADV_DONTDUMP memory "
                                      f"({len(found)} found in all)")


# --- item 16: the data directory lock -----------------------------------------------------------

class DataDirLockTest(HardeningTestCase):
    def test_item16_a_second_server_on_the_same_data_dir_exits(self):
        """A second `hangar serve` on the same data dir exits 1 ("in use by another Hangar
        server"); the first keeps serving intact data; `hangar admin` works beside it."""
        s3 = self.server.s3_client()
        s3.create_bucket(Bucket="locked-dir")
        body = os.urandom(300 * 1024)
        s3.put_object(Bucket="locked-dir", Key="before.bin", Body=body)
        second = subprocess.Popen(
            [self.server.binary, "serve", "--data-dir", self.server.data_dir,
             "--listen", "127.0.0.1:0"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=server_env(HANGAR_ROOT_ACCESS_KEY_ID=self.server.access_key_id,
                           HANGAR_ROOT_SECRET_ACCESS_KEY=self.server.secret_access_key,
                           HANGAR_ACCOUNT_ID=self.server.account_id))
        try:
            out, err = second.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            second.kill()
            second.communicate()
            self.fail("a second server kept running on the same data directory")
        self.assertEqual(second.returncode, 1, err)
        self.assertIn(b"is in use by another Hangar server", err)
        self.assertNotIn(b"Hangar listening", out)
        self.assertTrue(self.server.running)
        self.assertEqual(s3.get_object(Bucket="locked-dir", Key="before.bin")["Body"].read(), body)
        listed = subprocess.run([self.server.binary, "admin", "list-accounts", "--data-dir",
                                 self.server.data_dir], capture_output=True, text=True,
                                timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn(self.server.account_id, json.loads(listed.stdout)["Accounts"])


# --- item 17: garbage collection ----------------------------------------------------------------

class GarbageCollectionTest(HardeningTestCase):
    GRACE_CROSSING = 2 * 86400  # well past the garbage grace time (60 s) and any sweep interval

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.s3.create_bucket(Bucket="gc-bucket")

    def blob_ids(self, key):
        return [segment["blob"] for segment in self.server.object_record("gc-bucket", key)
                ["segments"]]

    def test_item17_unreferenced_blob_files_are_swept(self):
        """A blob file nobody refers to, older than the grace time, is swept by maintenance; a
        referenced one stays."""
        referenced = b"referenced" * 4096  # beyond --inline-max-size: its bytes are a blob file
        self.s3.put_object(Bucket="gc-bucket", Key="kept.txt", Body=referenced)
        (kept,) = self.blob_ids("kept.txt")
        orphan = secrets.token_hex(len(kept) // 2)
        path = self.server.blob_path(orphan)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(os.urandom(4096))
        old = time.time() - 3 * 86400
        os.utime(path, (old, old))
        self.assertTrue(os.path.exists(path))
        self.server.advance_clock(self.GRACE_CROSSING)
        self.assertFalse(os.path.exists(path), "an unreferenced old blob file survived")
        self.assertTrue(os.path.exists(self.server.blob_path(kept)))
        self.assertEqual(self.s3.get_object(Bucket="gc-bucket", Key="kept.txt")["Body"].read(),
                         referenced)

    def test_item17_a_blob_being_streamed_is_not_collected_until_the_reader_is_done(self):
        """A GET of a 5-part object, paused after 1 MiB while the object is overwritten and the
        garbage grace passes, still delivers every byte; afterwards the old blobs go."""
        part_size, parts = 8 * MiB, 5
        body = os.urandom(part_size * parts)
        upload = self.s3.create_multipart_upload(Bucket="gc-bucket", Key="large.bin")["UploadId"]
        etags = []
        for i in range(parts):
            etags.append(self.s3.upload_part(
                Bucket="gc-bucket", Key="large.bin", UploadId=upload, PartNumber=i + 1,
                Body=body[i * part_size:(i + 1) * part_size])["ETag"])
        self.s3.complete_multipart_upload(
            Bucket="gc-bucket", Key="large.bin", UploadId=upload,
            MultipartUpload={"Parts": [{"ETag": e, "PartNumber": i + 1}
                                       for i, e in enumerate(etags)]})
        old_blobs = self.blob_ids("large.bin")
        self.assertEqual(len(old_blobs), parts)  # segments the reader opens one after another

        target, headers = self.server.sign(
            b"", method="GET", path="/gc-bucket/large.bin", service="s3",
            headers={"X-Amz-Content-SHA256": hashlib.sha256(b"").hexdigest()})
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.settimeout(60)
        sock.connect(("127.0.0.1", self.server.port))
        try:
            sock.sendall(build_head("GET", target, list(headers.items()), 0))
            resp = http.client.HTTPResponse(sock, method="GET")
            resp.begin()
            self.assertEqual(resp.status, 200)
            first = resp.read(MiB)
            self.s3.put_object(Bucket="gc-bucket", Key="large.bin", Body=b"overwritten")
            self.server.advance_clock(self.GRACE_CROSSING)
            try:
                rest = resp.read()
            except http.client.IncompleteRead as e:
                self.fail(f"the response was cut after {len(first) + len(e.partial)} of "
                          f"{len(body)} bytes: its blobs were collected while it streamed")
        finally:
            sock.close()
        got = first + rest
        self.assertEqual(len(got), len(body))
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(body).hexdigest())
        # Once the reader is done (the server may take a moment to let go of it), the old
        # blobs do go.

        def old_blobs_gone():
            self.server.advance_clock(60)
            return not [b for b in old_blobs if os.path.exists(self.server.blob_path(b))]

        wait_until(old_blobs_gone, 10, interval=0.2, what="the old blobs to be collected")


# --- item 18: key bytes and XML escaping --------------------------------------------------------

class KeyBytesTest(HardeningTestCase):
    BUCKET = "key-bytes"

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.s3.create_bucket(Bucket=cls.BUCKET)

    def test_item18_delete_objects_deletes_a_whitespace_key(self):
        """DeleteObjects with Key " " deletes the object named " " (whitespace-only XML text is
        kept)."""
        self.s3.put_object(Bucket=self.BUCKET, Key=" ", Body=b"a single space")
        self.s3.put_object(Bucket=self.BUCKET, Key="x", Body=b"bystander")
        self.assertEqual(self.s3.get_object(Bucket=self.BUCKET, Key=" ")["Body"].read(),
                         b"a single space")
        out = self.s3.delete_objects(Bucket=self.BUCKET, Delete={"Objects": [{"Key": " "}]})
        self.assertEqual(out.get("Errors", []), [])
        self.assertS3Error(404, "NoSuchKey", None, self.s3.get_object, Bucket=self.BUCKET,
                           Key=" ")
        self.assertEqual(self.s3.get_object(Bucket=self.BUCKET, Key="x")["Body"].read(),
                         b"bystander")

    def test_item18_listings_escape_control_characters(self):
        """A key with \x01 and \r is listed as &#x1; and &#xD; (so XML parsers give back the exact
        key), and with encoding-type=url as %01 and %0D."""
        key = "ctl/a\x01b\rc"
        self.s3.put_object(Bucket=self.BUCKET, Key=key, Body=b"control characters")
        response = self.server.s3_request("GET", f"/{self.BUCKET}",
                                          query="list-type=2&prefix=ctl%2F")
        self.assertEqual(response.status, 200, describe(response))
        self.assertIn(b"<Key>ctl/a&#x1;b&#xD;c</Key>", response.body)
        self.assertNotIn(b"\x01", response.body)
        self.assertNotIn(b"\r", response.body)
        # No XML 1.0 parser can give back \x01 (that is what encoding-type=url is for), but a CR
        # must come back as a CR, not as the LF end-of-line handling would make of a raw one.
        cr_key = "ctl-cr/a\rb"
        self.s3.put_object(Bucket=self.BUCKET, Key=cr_key, Body=b"carriage return")
        response = self.server.s3_request("GET", f"/{self.BUCKET}",
                                          query="list-type=2&prefix=ctl-cr%2F")
        self.assertEqual(xml_fields(response.body).get("Key"), cr_key)
        response = self.server.s3_request("GET", f"/{self.BUCKET}",
                                          query="encoding-type=url&list-type=2&prefix=ctl%2F")
        self.assertEqual(response.status, 200, describe(response))
        self.assertIn(b"<Key>ctl/a%01b%0Dc</Key>", response.body)

    def test_item18_xml_special_characters_round_trip(self):
        """Control: & < > " ' in a key are escaped in listings and round-trip through boto3."""
        key = "special/&<>\"'"
        self.s3.put_object(Bucket=self.BUCKET, Key=key, Body=b"markup")
        listed = self.s3.list_objects_v2(Bucket=self.BUCKET, Prefix="special/")["Contents"]
        self.assertEqual([o["Key"] for o in listed], [key])
        self.assertEqual(self.s3.get_object(Bucket=self.BUCKET, Key=key)["Body"].read(),
                         b"markup")
        response = self.server.s3_request("GET", f"/{self.BUCKET}",
                                          query="list-type=2&prefix=special%2F")
        self.assertIn(b"<Key>special/&amp;&lt;&gt;&quot;&apos;</Key>", response.body)


if __name__ == "__main__":
    unittest.main()
