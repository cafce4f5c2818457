"""POST Object (browser-based uploads) against the real binary: forms signed by boto3's own
generate_presigned_post and uploaded by curl -F as a browser would (multipart/form-data, fields
before the file), plus raw multipart bodies for what curl cannot send. Covers the answers (204,
200, 201 with PostResponse, 303 to success_action_redirect), the object landing encrypted (bucket
default SSE-S3, an SSE-KMS field), metadata, tags and ${filename}, and the refusals: expired
policy, violated condition, extra unsigned field, content-length-range, wrong signature, a form
nobody signed, malformed bodies, and bucket and IAM policies applying to the form's signer.
docs/s3-post-object.md describes the behaviour.
"""

import base64
import glob
import http.client
import json
import os
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

from harness import HangarTestCase


def error_of(body: bytes):
    """(Code, Message, {other elements}) of an S3 error document."""
    root = ET.fromstring(body)
    fields = {child.tag: child.text or "" for child in root}
    return fields.get("Code"), fields.get("Message"), fields


class S3PostObjectTest(HangarTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        # generate_presigned_post signs with SigV4 only when told so (else Signature Version 2).
        cls.signer = cls.server.s3_client(signature_version="s3v4")
        cls.bucket = "post-object"
        cls.s3.create_bucket(Bucket=cls.bucket)
        cls.tmp = tempfile.mkdtemp(prefix="hangar-post-")

    # --- helpers ---------------------------------------------------------------------------------

    def presigned(self, key, fields=None, conditions=None, expires=300, client=None):
        """boto3's generate_presigned_post: {"url": ..., "fields": {...}}."""
        return (client or self.signer).generate_presigned_post(
            Bucket=self.bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires)

    def curl_post(self, url, fields, data: bytes, filename="upload.bin", extra_fields=None):
        """Uploads like a browser form: each field, then the file last. Returns
        (status, headers {lower-case name: value}, body)."""
        path = os.path.join(self.tmp, filename)
        with open(path, "wb") as f:
            f.write(data)
        header_file = os.path.join(self.tmp, "headers")
        body_file = os.path.join(self.tmp, "body")
        cmd = ["curl", "-sS", "-o", body_file, "-D", header_file, "-w", "%{http_code}"]
        for name, value in list(fields.items()) + list((extra_fields or {}).items()):
            cmd += ["--form-string", f"{name}={value}"]
        cmd += ["-F", f"file=@{path};filename={filename}", url]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
        headers = {}
        with open(header_file, encoding="latin-1") as f:
            for line in f:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
        with open(body_file, "rb") as f:
            body = f.read()
        return int(proc.stdout), headers, body

    def raw_post(self, body: bytes, content_type: str):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request("POST", f"/{self.bucket}", body=body,
                         headers={"Content-Type": content_type})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def assertPostError(self, result, status, code, message=None):
        got_status, _, body = result
        self.assertEqual(got_status, status, body)
        got_code, got_message, fields = error_of(body)
        self.assertEqual(got_code, code, body)
        if message is not None:
            self.assertEqual(got_message, message, body)
        return fields

    # --- success -------------------------------------------------------------------------------

    def test_presigned_post_lands_encrypted_with_the_bucket_default_and_answers_204(self):
        post = self.presigned("plain/hello.txt")
        data = os.urandom(3 * 1024 * 1024 + 17)  # larger than what is read before dispatch
        status, headers, body = self.curl_post(post["url"], post["fields"], data)
        self.assertEqual(status, 204, body)
        self.assertEqual(body, b"")
        self.assertTrue(headers["etag"].startswith('"'), headers)
        self.assertEqual(headers.get("x-amz-server-side-encryption"), "AES256")
        self.assertTrue(headers["location"].endswith(f"/{self.bucket}/plain/hello.txt"), headers)
        got = self.s3.get_object(Bucket=self.bucket, Key="plain/hello.txt")
        self.assertEqual(got["Body"].read(), data)
        self.assertEqual(got["ServerSideEncryption"], "AES256")
        self.assertEqual(got["ETag"], headers["etag"])
        # On disk, encrypted: no plaintext anywhere in the data directory.
        self.assertEqual(self.server.files_containing(data[1000:1064]), [])

    def test_sse_kms_metadata_tags_and_filename_come_from_the_form(self):
        fields = {"x-amz-server-side-encryption": "aws:kms", "x-amz-meta-origin": "browser",
                  "Content-Type": "text/plain",
                  "tagging": "<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag>"
                             "</TagSet></Tagging>"}
        conditions = [{"x-amz-server-side-encryption": "aws:kms"},
                      {"x-amz-meta-origin": "browser"}, ["starts-with", "$Content-Type", "text/"],
                      ["starts-with", "$tagging", ""]]
        post = self.presigned("kms/${filename}", fields=fields, conditions=conditions)
        status, headers, body = self.curl_post(post["url"], post["fields"], b"kms body",
                                               filename="note.txt")
        self.assertEqual(status, 204, body)
        self.assertEqual(headers.get("x-amz-server-side-encryption"), "aws:kms")
        head = self.s3.head_object(Bucket=self.bucket, Key="kms/note.txt")
        self.assertEqual(head["ServerSideEncryption"], "aws:kms")
        self.assertIn("SSEKMSKeyId", head)
        self.assertEqual(head["Metadata"], {"origin": "browser"})
        self.assertEqual(head["ContentType"], "text/plain")
        tags = self.s3.get_object_tagging(Bucket=self.bucket, Key="kms/note.txt")["TagSet"]
        self.assertEqual(tags, [{"Key": "k", "Value": "v"}])

    def test_success_action_status_201_answers_a_post_response(self):
        post = self.presigned("status/201 a+b.txt", fields={"success_action_status": "201"},
                              conditions=[{"success_action_status": "201"}])
        status, headers, body = self.curl_post(post["url"], post["fields"], b"x")
        self.assertEqual(status, 201, body)
        root = ET.fromstring(body)
        self.assertEqual(root.tag, "PostResponse")
        self.assertEqual(root.findtext("Bucket"), self.bucket)
        self.assertEqual(root.findtext("Key"), "status/201 a+b.txt")
        self.assertEqual(root.findtext("ETag"), headers["etag"])
        self.assertTrue(root.findtext("Location").endswith("/status/201%20a%2Bb.txt"), body)

        post = self.presigned("status/200", fields={"success_action_status": "200"},
                              conditions=[{"success_action_status": "200"}])
        status, _, body = self.curl_post(post["url"], post["fields"], b"x")
        self.assertEqual((status, body), (200, b""))

    def test_success_action_redirect_answers_303_with_the_object(self):
        target = "https://app.example/done?from=form"
        post = self.presigned("redirect/x.txt", fields={"success_action_redirect": target},
                              conditions=[{"success_action_redirect": target}])
        status, headers, _ = self.curl_post(post["url"], post["fields"], b"x")
        self.assertEqual(status, 303)
        location = urllib.parse.urlsplit(headers["location"])
        self.assertEqual(location.netloc, "app.example")
        query = urllib.parse.parse_qs(location.query)
        self.assertEqual(query["from"], ["form"])
        self.assertEqual(query["bucket"], [self.bucket])
        self.assertEqual(query["key"], ["redirect/x.txt"])
        self.assertEqual(query["etag"], [headers["etag"]])

    # --- refusals ------------------------------------------------------------------------------

    def test_expired_policy_is_refused(self):
        post = self.presigned("expired/x", expires=-60)
        self.assertPostError(self.curl_post(post["url"], post["fields"], b"x"), 403,
                             "AccessDenied", "Invalid according to Policy: Policy expired.")
        self.assertNoObject("expired/x")

    def test_violated_condition_is_quoted(self):
        post = self.presigned("user/${filename}", conditions=[["starts-with", "$key", "user/"]])
        fields = dict(post["fields"], key="admin/x")
        self.assertPostError(
            self.curl_post(post["url"], fields, b"x"), 403, "AccessDenied",
            'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/"]')
        self.assertNoObject("admin/x")

    def test_extra_unsigned_field_is_refused(self):
        post = self.presigned("extra/x")
        self.assertPostError(
            self.curl_post(post["url"], post["fields"], b"x",
                           extra_fields={"x-amz-meta-sneaky": "1"}),
            403, "AccessDenied", "Invalid according to Policy: Extra input fields: x-amz-meta-sneaky")
        # x-ignore-* fields are what forms may add freely.
        status, _, body = self.curl_post(post["url"], post["fields"], b"x",
                                         extra_fields={"x-ignore-anything": "1"})
        self.assertEqual(status, 204, body)

    def test_content_length_range_bounds_the_file(self):
        post = self.presigned("sized/x", conditions=[["content-length-range", 10, 100]])
        fields = self.assertPostError(self.curl_post(post["url"], post["fields"], b"y" * 101),
                                      400, "EntityTooLarge",
                                      "Your proposed upload exceeds the maximum allowed size")
        self.assertEqual(fields["MaxSizeAllowed"], "100")
        fields = self.assertPostError(self.curl_post(post["url"], post["fields"], b"y" * 9),
                                      400, "EntityTooSmall",
                                      "Your proposed upload is smaller than the minimum allowed size")
        self.assertEqual(fields["MinSizeAllowed"], "10")
        self.assertNoObject("sized/x")
        status, _, body = self.curl_post(post["url"], post["fields"], b"y" * 100)
        self.assertEqual(status, 204, body)

    def test_wrong_signature_is_refused(self):
        post = self.presigned("badsig/x")
        fields = dict(post["fields"])
        fields["x-amz-signature"] = "0" * 64
        got = self.assertPostError(self.curl_post(post["url"], fields, b"x"), 403,
                                   "SignatureDoesNotMatch")
        self.assertEqual(got["StringToSign"], fields["policy"])
        self.assertEqual(got["AWSAccessKeyId"], self.server.access_key_id)
        # A policy changed after signing is caught the same way.
        tampered = json.loads(base64.b64decode(post["fields"]["policy"]))
        tampered["expiration"] = "2099-01-01T00:00:00Z"
        fields = dict(post["fields"],
                      policy=base64.b64encode(json.dumps(tampered).encode()).decode())
        self.assertPostError(self.curl_post(post["url"], fields, b"x"), 403,
                             "SignatureDoesNotMatch")
        self.assertNoObject("badsig/x")

    def test_signature_version_2_forms_are_refused(self):
        post = self.s3.generate_presigned_post(Bucket=self.bucket, Key="v2/x")
        self.assertIn("AWSAccessKeyId", post["fields"])
        self.assertPostError(
            self.curl_post(post["url"], post["fields"], b"x"), 400, "InvalidRequest",
            "The authorization mechanism you have provided is not supported. Please use "
            "AWS4-HMAC-SHA256.")

    def test_missing_signature_field_names_it(self):
        post = self.presigned("nosig/x")
        fields = {k: v for k, v in post["fields"].items() if k != "x-amz-signature"}
        got = self.assertPostError(
            self.curl_post(post["url"], fields, b"x"), 400, "InvalidArgument",
            "Bucket POST must contain a field named 'X-Amz-Signature'.  If it is specified, "
            "please check the order of the fields.")
        self.assertEqual(got["ArgumentName"], "X-Amz-Signature")

    def test_a_form_nobody_signed_is_anonymous(self):
        self.assertPostError(self.curl_post(f"{self.server.endpoint}/{self.bucket}",
                                            {"key": "anon/x"}, b"x"),
                             403, "AccessDenied", "Access Denied")
        post = self.presigned("anon/y")
        self.assertPostError(self.curl_post(post["url"], {"key": "anon/y",
                                                          "policy": post["fields"]["policy"]}, b"x"),
                             403, "AccessDenied", "Access Denied")
        self.assertNoObject("anon/x")

    def test_the_bucket_policy_applies_to_the_signer(self):
        bucket = "post-object-deny"
        self.s3.create_bucket(Bucket=bucket)
        self.s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{bucket}/locked/*"}]}))
        denied = self.signer.generate_presigned_post(Bucket=bucket, Key="locked/x")
        self.assertPostError(self.curl_post(denied["url"], denied["fields"], b"x"), 403,
                             "AccessDenied")
        allowed = self.signer.generate_presigned_post(Bucket=bucket, Key="open/x")
        status, _, body = self.curl_post(allowed["url"], allowed["fields"], b"x")
        self.assertEqual(status, 204, body)

    def test_an_iam_users_form_carries_only_that_users_permissions(self):
        iam = self.server.client("iam")
        iam.create_user(UserName="uploader")
        iam.put_user_policy(UserName="uploader", PolicyName="uploads", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{self.bucket}/uploads/*"}]}))
        key = iam.create_access_key(UserName="uploader")["AccessKey"]
        user = self.server.s3_client(access_key_id=key["AccessKeyId"],
                                     secret_access_key=key["SecretAccessKey"],
                                     signature_version="s3v4")
        deadline = time.time() + 10
        while True:  # IAM changes reach the policy cache promptly; allow it a moment
            post = self.presigned("uploads/x", client=user)
            status, headers, body = self.curl_post(post["url"], post["fields"], b"x")
            if status == 204 or time.time() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(status, 204, body)
        # The audit record names the form's signer, not the anonymous request the router saw.
        record = self.trail_record(headers["x-amz-request-id"])
        self.assertEqual(record["eventName"], "PostObject")
        self.assertTrue(record["userIdentity"]["arn"].endswith(":user/uploader"), record)
        self.assertEqual(record["requestParameters"]["key"], "uploads/x")
        post = self.presigned("elsewhere/x", client=user)
        self.assertPostError(self.curl_post(post["url"], post["fields"], b"x"), 403,
                             "AccessDenied")

    def test_bodies_that_are_not_forms_are_refused(self):
        status, body = self.raw_post(b"key=x", "application/octet-stream")
        self.assertEqual(status, 412, body)
        self.assertEqual(error_of(body)[2].get("Condition"),
                         "Bucket POST must be of the enclosure-type multipart/form-data")
        status, body = self.raw_post(b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n--b--",
                                     "multipart/form-data; boundary=b")
        self.assertEqual(status, 400, body)
        self.assertEqual(error_of(body)[0], "MalformedPOSTRequest")
        status, body = self.raw_post(
            b"--b\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nx\r\n--b--\r\n",
            "multipart/form-data; boundary=b")
        self.assertEqual(status, 400, body)
        self.assertEqual(error_of(body)[:2],
                         ("InvalidArgument", "POST requires exactly one file upload per request."))

    def trail_record(self, request_id):
        deadline = time.time() + 10
        while True:
            for path in glob.glob(os.path.join(self.server.data_dir, "audit", "logs", "*.jsonl")):
                with open(path, "rb") as f:
                    for line in f.read().split(b"\n")[:-1]:
                        if line and json.loads(line).get("requestID") == request_id:
                            return json.loads(line)
            self.assertLess(time.time(), deadline, f"no audit record for {request_id}")
            time.sleep(0.1)

    def assertNoObject(self, key):
        listed = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=key).get("Contents", [])
        self.assertEqual([o["Key"] for o in listed], [])


if __name__ == "__main__":
    unittest.main()
