"""S3 CORS with boto3 and raw HTTP (docs/reference/s3-data-protection.md §7, docs/s3-cors.md).

Covered: PutBucketCors / GetBucketCors / DeleteBucketCors round trips (values and casing as sent,
an empty AllowedOrigin), their errors (unsupported method, no rule, no Content-MD5, no
configuration, another account); unsigned preflight OPTIONS, path-style and virtual-hosted, that
matches (headers of the first matching rule, `*` versus an echoed origin) or is refused (no Origin,
no Access-Control-Request-Method, unknown bucket, bucket without CORS, origin / method / header
not allowed); signed actual requests with an Origin header, which carry the matching rule's
headers on success and on errors, and none when nothing matches.
"""

import base64
import hashlib
import unittest
import xml.etree.ElementTree as ET

from harness import HangarTestCase

NO_MATCH = ("CORSResponse: This CORS request is not allowed. This is usually because the evalution "
            "of Origin, request method / Access-Control-Request-Method or "
            "Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.")
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"

RULES = [
    {"ID": "site", "AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET", "PUT"],
     "AllowedHeaders": ["X-Amz-*", "Content-Type"], "ExposeHeaders": ["ETag", "x-amz-request-id"],
     "MaxAgeSeconds": 3000},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]},
]


def error_fields(body: bytes) -> dict:
    return {child.tag: child.text for child in ET.fromstring(body)}


class CorsConfigurationTest(HangarTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()

    def bucket(self, name):
        self.s3.create_bucket(Bucket=name)
        return name

    def test_put_get_delete_round_trip_keeps_values_as_sent(self):
        b = self.bucket("cors-round-trip")
        rules = RULES + [{"AllowedOrigins": [""], "AllowedMethods": ["DELETE"]}]
        self.s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": rules})
        got = self.s3.get_bucket_cors(Bucket=b)["CORSRules"]
        self.assertEqual(got, rules)
        self.s3.delete_bucket_cors(Bucket=b)
        self.assertS3Error(404, "NoSuchCORSConfiguration", "The CORS configuration does not exist",
                           self.s3.get_bucket_cors, Bucket=b, s3_fields={"BucketName": b})

    def test_get_without_configuration_is_404_and_delete_is_204_anyway(self):
        b = self.bucket("cors-none")
        self.assertS3Error(404, "NoSuchCORSConfiguration", "The CORS configuration does not exist",
                           self.s3.get_bucket_cors, Bucket=b, s3_fields={"BucketName": b})
        r = self.s3.delete_bucket_cors(Bucket=b)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)

    def test_unsupported_method_is_refused(self):
        b = self.bucket("cors-bad-method")
        self.assertS3Error(
            400, "InvalidRequest",
            "Found unsupported HTTP method in CORS config. Unsupported method is MYMETHOD",
            self.s3.put_bucket_cors, Bucket=b, CORSConfiguration={"CORSRules": [
                {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "MYMETHOD"]}]})
        self.assertS3Error(404, "NoSuchCORSConfiguration", None, self.s3.get_bucket_cors, Bucket=b)

    def test_configuration_without_rules_is_malformed(self):
        b = self.bucket("cors-no-rules")
        body = b"<CORSConfiguration></CORSConfiguration>"
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        r = self.server.s3_request("PUT", f"/{b}", body, query="cors", headers={"Content-MD5": md5})
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(error_fields(r.body)["Code"], "MalformedXML")

    def test_put_needs_content_md5_or_a_checksum(self):
        b = self.bucket("cors-no-md5")
        body = (b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
                b"<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>")
        r = self.server.s3_request("PUT", f"/{b}", body, query="cors")
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(error_fields(r.body)["Message"],
                         "Missing required header for this request: Content-MD5")
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        r = self.server.s3_request("PUT", f"/{b}", body, query="cors", headers={"Content-MD5": md5})
        self.assertEqual(r.status, 200, r.body)

    def test_another_account_may_not_read_or_change_the_configuration(self):
        b = self.bucket("cors-other-account")
        self.s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": RULES})
        other = self.server.second_account()
        s3 = self.server.s3_client(access_key_id=other["AccessKeyId"],
                                   secret_access_key=other["SecretAccessKey"])
        self.assertS3Error(403, "AccessDenied", None, s3.get_bucket_cors, Bucket=b)
        self.assertS3Error(403, "AccessDenied", None, s3.delete_bucket_cors, Bucket=b)
        self.assertS3Error(403, "AccessDenied", None, s3.put_bucket_cors, Bucket=b,
                           CORSConfiguration={"CORSRules": RULES})
        self.assertEqual(self.s3.get_bucket_cors(Bucket=b)["CORSRules"], RULES)


class CorsRequestTest(HangarTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.s3.create_bucket(Bucket="cors-site")
        cls.s3.put_bucket_cors(Bucket="cors-site", CORSConfiguration={"CORSRules": RULES})
        cls.s3.put_object(Bucket="cors-site", Key="index.html", Body=b"<html/>")
        cls.s3.create_bucket(Bucket="cors-off")

    def preflight(self, path, headers, host=None):
        hdrs = dict(headers)
        if host is not None:
            hdrs["Host"] = host
        return self.server.raw_request(method="OPTIONS", path=path, headers=hdrs, sign=False,
                                       service="s3")

    def assertForbidden(self, r, message, method, resource_type):
        self.assertEqual(r.status, 403, r.body)
        fields = error_fields(r.body)
        self.assertEqual(fields["Code"], "AccessForbidden")
        self.assertEqual(fields["Message"], message)
        self.assertEqual(fields["Method"], method)
        self.assertEqual(fields["ResourceType"], resource_type)
        self.assertNotIn("access-control-allow-origin", r.headers)

    def test_preflight_match_answers_with_the_first_matching_rule(self):
        r = self.preflight("/cors-site/index.html", {
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "X-Amz-Date, content-type"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body, b"")
        self.assertEqual(r.headers["access-control-allow-origin"], "https://app.example.com")
        self.assertEqual(r.headers["access-control-allow-credentials"], "true")
        self.assertEqual(r.headers["access-control-allow-methods"], "GET, PUT")
        self.assertEqual(r.headers["access-control-allow-headers"], "x-amz-date, content-type")
        self.assertEqual(r.headers["access-control-expose-headers"], "ETag, x-amz-request-id")
        self.assertEqual(r.headers["access-control-max-age"], "3000")
        self.assertEqual(r.headers["vary"], VARY)

    def test_preflight_through_a_star_origin_answers_star(self):
        r = self.preflight("/cors-site/index.html", {
            "Origin": "http://elsewhere.test", "Access-Control-Request-Method": "HEAD"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers["access-control-allow-origin"], "*")
        self.assertNotIn("access-control-allow-credentials", r.headers)
        self.assertEqual(r.headers["access-control-allow-methods"], "GET, HEAD")

    def test_preflight_virtual_hosted(self):
        r = self.preflight("/index.html", {
            "Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
            host=f"cors-site.s3.localhost:{self.server.port}")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers["access-control-allow-origin"], "https://app.example.com")

    def test_preflight_not_allowed(self):
        for headers in (
                # The second rule matches any origin but not PUT; the first not this scheme.
                {"Origin": "http://app.example.com", "Access-Control-Request-Method": "PUT"},
                # A header the first rule does not list; the second lists none.
                {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "range"}):
            with self.subTest(headers=headers):
                r = self.preflight("/cors-site/index.html", headers)
                self.assertForbidden(r, NO_MATCH, headers["Access-Control-Request-Method"],
                                     "OBJECT")
        r = self.preflight("/cors-site", {"Origin": "http://x.test",
                                          "Access-Control-Request-Method": "DELETE"})
        self.assertForbidden(r, NO_MATCH, "DELETE", "BUCKET")

    def test_preflight_without_configuration_or_bucket(self):
        ask = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "PUT"}
        self.assertForbidden(self.preflight("/cors-off/k", ask),
                             "CORSResponse: CORS is not enabled for this bucket.", "PUT", "BUCKET")
        self.assertForbidden(self.preflight("/cors-missing/k", ask),
                             "CORSResponse: Bucket not found", "OPTIONS", "BUCKET")

    def test_preflight_needs_origin_and_a_method(self):
        r = self.preflight("/cors-site/index.html", {"Access-Control-Request-Method": "GET"})
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(error_fields(r.body)["Code"], "BadRequest")
        self.assertEqual(error_fields(r.body)["Message"],
                         "Insufficient information. Origin request header needed.")
        r = self.preflight("/cors-site/index.html", {"Origin": "https://app.example.com"})
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(error_fields(r.body)["Message"],
                         "Invalid Access-Control-Request-Method: null")

    def test_actual_get_with_matching_origin_carries_the_rule_headers(self):
        r = self.server.s3_request("GET", "/cors-site/index.html",
                                   headers={"Origin": "https://app.example.com"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body, b"<html/>")
        self.assertEqual(r.headers["access-control-allow-origin"], "https://app.example.com")
        self.assertEqual(r.headers["access-control-allow-methods"], "GET, PUT")
        self.assertEqual(r.headers["access-control-expose-headers"], "ETag, x-amz-request-id")
        self.assertEqual(r.headers["vary"], VARY)
        self.assertNotIn("access-control-allow-headers", r.headers)

    def test_actual_error_response_carries_the_rule_headers_too(self):
        r = self.server.s3_request("GET", "/cors-site/missing",
                                   headers={"Origin": "https://app.example.com"})
        self.assertEqual(r.status, 404, r.body)
        self.assertEqual(r.headers["access-control-allow-origin"], "https://app.example.com")

    def test_actual_request_without_a_match_is_served_without_cors_headers(self):
        for path, origin in (("/cors-site/other.txt", None),
                             ("/cors-site/other.txt", "http://app.example.com:8080")):
            headers = {"Origin": origin} if origin else {}
            r = self.server.s3_request("PUT", path, b"new", headers=headers)
            self.assertEqual(r.status, 200, r.body)
            self.assertFalse([h for h in r.headers if h.startswith("access-control-")], r.headers)
        r = self.server.s3_request("GET", "/cors-off/", headers={"Origin": "https://a.example.com"})
        self.assertEqual(r.status, 200, r.body)
        self.assertNotIn("access-control-allow-origin", r.headers)


if __name__ == "__main__":
    unittest.main()
