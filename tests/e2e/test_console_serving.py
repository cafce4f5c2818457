"""The web console's static files at /console/, and CORS for the JSON and query APIs.

Covered: `hangar serve --console-dir DIR` serves a planted index.html and app.js with a strict
Content-Security-Policy (no 'unsafe-inline' / 'unsafe-eval'), X-Frame-Options DENY and nosniff,
ETag revalidation (304) and HEAD; a missing file and traversal attempts are 404; `/console`
redirects to `/console/`; neither the console's files nor preflights enter the audit trail. Signed requests (boto3) to a bucket named "console" still reach S3, and
so does a virtual-hosted request to it. A cross-origin KMS preflight (`OPTIONS /`) is allowed with
the headers the SDK asks for; signed KMS and STS calls carrying an Origin header (successes and
errors) answer with Access-Control-Allow-Origin. Security Hub's /findings stays S3's (a bucket of
that name), as docs/hardening.md says.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import HangarServer, HangarTestCase

INDEX = b"<!doctype html><html><head><script src=\"app.js\"></script></head><body>planted index</body></html>"
APP_JS = b"document.body.dataset.planted = 'yes';\n"
ORIGIN = "http://example.test"


class ConsoleServingTest(HangarTestCase):
    @classmethod
    def setUpClass(cls):
        # The console directory lives outside the server's temp dir, planted before it starts.
        cls.console_root = tempfile.mkdtemp(prefix="hangar-e2e-console-")
        cls.addClassCleanup(shutil.rmtree, cls.console_root, True)
        console_dir = os.path.join(cls.console_root, "console")
        os.makedirs(console_dir)
        with open(os.path.join(console_dir, "index.html"), "wb") as f:
            f.write(INDEX)
        with open(os.path.join(console_dir, "app.js"), "wb") as f:
            f.write(APP_JS)
        with open(os.path.join(cls.console_root, "secret.txt"), "wb") as f:
            f.write(b"outside the console")
        cls.server_options = {"extra_args": ["--console-dir", console_dir]}
        super().setUpClass()

    def unsigned(self, method, path, headers=None, host=None):
        """One unsigned request, sent exactly as given (the path is not normalised)."""
        head = f"{method} {path} HTTP/1.1\r\nHost: {host or f'127.0.0.1:{self.server.port}'}\r\n"
        for name, value in (headers or {}).items():
            head += f"{name}: {value}\r\n"
        head += "Content-Length: 0\r\nConnection: close\r\n\r\n"
        return self.server.raw_exchange(head.encode(), method=method)

    def assertSecurityHeaders(self, r):
        csp = r.headers.get("content-security-policy", "")
        self.assertIn("default-src 'self'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotIn("unsafe-eval", csp)
        self.assertEqual(r.headers.get("x-frame-options"), "DENY")
        self.assertEqual(r.headers.get("x-content-type-options"), "nosniff")
        self.assertEqual(r.headers.get("referrer-policy"), "no-referrer")

    # --- the console's files ----------------------------------------------------------------------

    def test_the_banner_names_the_consoles_address(self):
        banner = self.server.stdout_lines[self.server._banner_index:]
        self.assertIn(f"  console:      http://127.0.0.1:{self.server.port}/console/", banner)

    def test_index_is_served_with_a_strict_csp(self):
        r = self.unsigned("GET", "/console/")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body, INDEX)
        self.assertTrue(r.headers["content-type"].startswith("text/html"), r.headers)
        self.assertSecurityHeaders(r)
        self.assertEqual(self.unsigned("GET", "/console/index.html?x=1").body, INDEX)

    def test_app_js_has_a_javascript_content_type_and_revalidates(self):
        r = self.unsigned("GET", "/console/app.js")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.body, APP_JS)
        self.assertIn("javascript", r.headers["content-type"])
        self.assertSecurityHeaders(r)
        etag = r.headers["etag"]
        again = self.unsigned("GET", "/console/app.js", {"If-None-Match": etag})
        self.assertEqual(again.status, 304)
        self.assertEqual(again.body, b"")
        head = self.unsigned("HEAD", "/console/app.js")
        self.assertEqual(head.status, 200)
        self.assertEqual(head.headers["content-length"], str(len(APP_JS)))
        self.assertEqual(head.body, b"")

    def test_missing_files_and_traversal_are_404(self):
        for path in ("/console/missing.js", "/console/../secret.txt",
                     "/console/%2e%2e/secret.txt", "/console/%2E%2E%2Fsecret.txt"):
            r = self.unsigned("GET", path)
            self.assertEqual(r.status, 404, path)
            self.assertNotIn(b"outside the console", r.body, path)
            self.assertSecurityHeaders(r)

    def test_bare_console_redirects_to_the_directory(self):
        r = self.unsigned("GET", "/console")
        self.assertEqual(r.status, 302)
        self.assertEqual(r.headers["location"], "/console/")

    def test_a_bucket_named_console_is_still_s3s_when_signed_or_virtual_hosted(self):
        s3 = self.server.s3_client()
        s3.create_bucket(Bucket="console")
        s3.put_object(Bucket="console", Key="app.js", Body=b"an object, not the console")
        got = s3.get_object(Bucket="console", Key="app.js")
        self.assertEqual(got["Body"].read(), b"an object, not the console")
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="console")["Contents"]]
        self.assertEqual(keys, ["app.js"])
        # Anonymous, path-style: the console's file. Virtual-hosted: S3 (private bucket).
        self.assertEqual(self.unsigned("GET", "/console/app.js").body, APP_JS)
        hosted = self.unsigned("GET", "/app.js", host=f"console.s3.localhost:{self.server.port}")
        self.assertEqual(hosted.status, 403, hosted.body)
        self.assertIn(b"<Code>AccessDenied</Code>", hosted.body)
        hosted = self.unsigned("GET", "/console/", host=f"console.s3.localhost:{self.server.port}")
        self.assertIn(b"<Error>", hosted.body)
        s3.delete_object(Bucket="console", Key="app.js")
        s3.delete_bucket(Bucket="console")

    def test_console_files_and_preflights_are_not_audited(self):
        self.assertEqual(self.unsigned("GET", "/console/app.js?audit-probe").status, 200)
        self.assertEqual(self.unsigned("OPTIONS", "/", {
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST"}).status, 200)
        listed = self.server.kms_call("ListKeys", {})
        out = os.path.join(self.server.tmp_dir, "audit-export.jsonl")
        proc = subprocess.run([self.server.binary, "audit", "export", "--data-dir",
                               self.server.data_dir, "--out", out],
                              capture_output=True, text=True, timeout=60,
                              stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(out, "rb") as f:
            records = [json.loads(line) for line in f.read().splitlines() if line]
        request_ids = {r.get("requestID") for r in records}
        self.assertIn(listed.headers["x-amzn-requestid"], request_ids)  # the trail works
        sources = {r.get("eventSource", "") for r in records}
        self.assertFalse([s for s in sources if "console" in s or "cors" in s], sources)
        self.assertFalse([r for r in records if "audit-probe" in json.dumps(r)])

    # --- CORS for the JSON and query APIs ---------------------------------------------------------

    def test_cross_origin_kms_preflight_is_allowed(self):
        asked = "authorization,content-type,x-amz-date,x-amz-target"
        r = self.unsigned("OPTIONS", "/", {
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": asked})
        self.assertEqual(r.status, 200, r.body)
        self.assertIn(r.headers.get("access-control-allow-origin"), (ORIGIN, "*"))
        methods = [m.strip() for m in r.headers["access-control-allow-methods"].split(",")]
        self.assertIn("POST", methods)
        allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
        self.assertTrue(set(asked.split(",")) <= allowed, allowed)
        self.assertEqual(r.headers.get("access-control-max-age"), "86400")
        self.assertIn("Origin", r.headers.get("vary", ""))
        # Security Hub's REST path is also a bucket named "findings": its preflight is S3's.
        findings = self.unsigned("OPTIONS", "/findings", {
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST"})
        self.assertEqual(findings.status, 403, findings.body)
        self.assertNotIn("access-control-allow-origin", findings.headers)

    def test_signed_kms_and_sts_calls_with_an_origin_are_readable_cross_origin(self):
        r = self.server.kms_call("ListKeys", {}, headers={"Origin": ORIGIN})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers.get("access-control-allow-origin"), "*")
        exposed = r.headers.get("access-control-expose-headers", "").lower()
        self.assertIn("x-amzn-requestid", exposed)
        self.assertIn("x-amzn-errortype", exposed)
        error = self.server.kms_call("DescribeKey", {"KeyId": "alias/none"},
                                     headers={"Origin": ORIGIN})
        self.assertEqual(error.status, 400, error.body)
        self.assertEqual(error.headers.get("access-control-allow-origin"), "*")
        sts = self.server.raw_request(
            b"Action=GetCallerIdentity&Version=2011-06-15", service="sts",
            headers={"Origin": ORIGIN,
                     "Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        self.assertEqual(sts.status, 200, sts.body)
        self.assertEqual(sts.headers.get("access-control-allow-origin"), "*")
        # Without an Origin, no CORS headers.
        plain = self.server.kms_call("ListKeys", {})
        self.assertNotIn("access-control-allow-origin", plain.headers)


class ConsoleAbsentTest(unittest.TestCase):
    def test_a_missing_default_directory_answers_that_the_console_is_not_built(self):
        # A copy of the binary in a directory without "console" beside it.
        server = HangarServer()
        self.addCleanup(server.close)
        binary = os.path.join(server.tmp_dir, "bin", "hangar")
        os.makedirs(os.path.dirname(binary))
        try:
            os.link(server.binary, binary)  # /proc/self/exe names the link's directory
        except OSError:
            shutil.copy2(server.binary, binary)
        server.binary = binary
        server.start()
        r = server.raw_exchange(
            f"GET /console/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            "Connection: close\r\n\r\n".encode(), method="GET")
        self.assertEqual(r.status, 404)
        self.assertIn(b"not built", r.body)
        self.assertIn(b"make build", r.body)
        self.assertIn("frame-ancestors 'none'", r.headers.get("content-security-policy", ""))
        with open(server.log_path) as f:
            self.assertIn("console: absent", f.read())


if __name__ == "__main__":
    unittest.main()
