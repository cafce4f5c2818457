"""The web console in a real browser: Debian's Chromium, driven by Playwright (npm playwright-core).

The console is built by the `console` CMake target (console/build.mjs, esbuild) into
build/console, beside the hangar binary, which serves it at /console/ by default; this test hands
the server that directory explicitly. Two scripts run against one server:

- console/tests/lab.mjs, the lab end to end (sign in as root, user Kzax01, bucket, key cloud_user
  in the wizard, SSE-KMS with a Bucket Key, upload, the object's encryption, schedule and cancel
  the key's deletion, Kzax01 refused), asserting on the page and, through boto3
  (console/tests/aws_state.py), on the server's state after each step;
- console/tests/a11y.mjs, axe-core over every page, wizard step and dialog, wide and narrow, with
  no serious or critical violation allowed, and a keyboard-only sign-in;
- console/tests/browse.mjs, the other pages (paging, folders, delete, Block Public Access, the
  policy editor's errors, event history, findings, access keys) and the console served from
  another origin (Python's http.server), calling Hangar through CORS.

Screenshots of each step go to build/console-screenshots (HANGAR_CONSOLE_SCREENSHOTS).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import unittest

from harness import HangarTestCase

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CONSOLE_SRC = os.path.join(ROOT, "console")
CHROMIUM = os.environ.get("HANGAR_CHROMIUM", "/usr/bin/chromium")


def built_console_dir():
    """The built console: beside the hangar binary the harness runs (HANGAR_BIN)."""
    hangar_bin = os.environ.get("HANGAR_BIN", os.path.join(ROOT, "build", "hangar"))
    return os.path.join(os.path.dirname(os.path.abspath(hangar_bin)), "console")


class ConsoleBrowserTest(HangarTestCase):
    @classmethod
    def setUpClass(cls):
        console_dir = built_console_dir()
        if not os.path.isfile(os.path.join(console_dir, "app.js")):
            raise AssertionError(f"the console is not built in {console_dir}: build the "
                                 "`console` target (cmake --build build --target console)")
        cls.server_options = {"extra_args": ["--console-dir", console_dir]}
        super().setUpClass()

    def run_script(self, script, extra_env=None):
        node = shutil.which("node") or shutil.which("nodejs")
        if node is None:
            raise AssertionError("node is not installed; run scripts/install-deps.sh")
        if not os.path.isdir(os.path.join(CONSOLE_SRC, "node_modules", "playwright-core")):
            raise AssertionError("npm packages missing in console/; run scripts/install-deps.sh")
        if not os.access(CHROMIUM, os.X_OK):
            raise AssertionError(f"{CHROMIUM} is missing; run scripts/install-deps.sh (chromium)")
        shots = os.environ.get("HANGAR_CONSOLE_SCREENSHOTS",
                               os.path.join(os.path.dirname(built_console_dir()), "console-screenshots"))
        env = dict(os.environ, HANGAR_ENDPOINT=self.server.endpoint,
                   AWS_ACCESS_KEY_ID=self.server.access_key_id,
                   AWS_SECRET_ACCESS_KEY=self.server.secret_access_key, AWS_REGION="us-east-1",
                   HANGAR_E2E_PYTHON=sys.executable, HANGAR_CONSOLE_SCREENSHOTS=shots,
                   HANGAR_CHROMIUM=CHROMIUM, **(extra_env or {}))
        env.pop("AWS_CA_BUNDLE", None)  # plain HTTP to 127.0.0.1
        done = subprocess.run([node, os.path.join("tests", script)], cwd=CONSOLE_SRC, env=env,
                              capture_output=True, text=True, timeout=600)
        sys.stderr.write(done.stdout)
        self.assertEqual(done.returncode, 0, done.stdout[-3000:] + done.stderr[-6000:])
        return done.stdout

    def test_lab_in_the_browser(self):
        out = self.run_script("lab.mjs")
        self.assertIn('{"lab": "passed"}'.replace(" ", ""), out.replace(" ", ""))

    def test_every_page_is_accessible(self):
        s3 = self.server.s3_client()
        s3.create_bucket(Bucket="a11y-bucket")
        s3.put_object(Bucket="a11y-bucket", Key="docs/readme.txt", Body=b"hello")
        s3.put_object(Bucket="a11y-bucket", Key="top.txt", Body=b"top")
        kms = self.server.client("kms")
        key_id = kms.create_key(Description="a11y")["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/a11y-key", TargetKeyId=key_id)
        self.server.client("iam").create_user(UserName="a11y-user")
        out = self.run_script("a11y.mjs", {
            "HANGAR_A11Y_BUCKET": "a11y-bucket", "HANGAR_A11Y_OBJECT": "top.txt",
            "HANGAR_A11Y_KEY_ID": key_id, "HANGAR_A11Y_USER": "a11y-user"})
        self.assertIn('"a11y":"passed"', out)

    def test_the_other_pages_and_another_origin(self):
        s3 = self.server.s3_client()
        s3.create_bucket(Bucket="browse-bucket")
        for i in range(120):
            s3.put_object(Bucket="browse-bucket", Key=f"logs/{i:04d}.txt", Body=b"log line")
        s3.put_object(Bucket="browse-bucket", Key="top.txt", Body=b"top")
        key_id = self.server.client("kms").create_key(Description="browse")["KeyMetadata"]["KeyId"]
        iam = self.server.client("iam")
        iam.create_user(UserName="browse-user")
        iam.create_access_key(UserName="browse-user")
        origin = self.start_static_console()
        s3.create_bucket(Bucket="cors-bucket")
        s3.put_object(Bucket="cors-bucket", Key="shared.txt", Body=b"shared")
        s3.put_bucket_cors(Bucket="cors-bucket", CORSConfiguration={"CORSRules": [{
            "AllowedOrigins": [origin], "AllowedMethods": ["GET", "HEAD", "PUT", "POST", "DELETE"],
            "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag", "x-amz-server-side-encryption",
            "x-amz-server-side-encryption-aws-kms-key-id",
            "x-amz-server-side-encryption-bucket-key-enabled", "x-amz-checksum-crc32"]}]})
        out = self.run_script("browse.mjs", {
            "HANGAR_BROWSE_BUCKET": "browse-bucket", "HANGAR_BROWSE_CORS_BUCKET": "cors-bucket",
            "HANGAR_BROWSE_KEY_ID": key_id, "HANGAR_BROWSE_USER": "browse-user",
            "HANGAR_CONSOLE_ORIGIN": origin})
        self.assertIn('"browse":"passed"', out)

    def start_static_console(self):
        """The built console served by another server (Python's http.server): another origin."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1",
                                 str(port), "--directory", built_console_dir()],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(proc.wait)
        self.addCleanup(proc.terminate)
        deadline = time.monotonic() + 30
        while True:  # until it accepts connections (or dies)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("the static server for the console did not start")
                time.sleep(0.05)
        return f"http://127.0.0.1:{port}"


if __name__ == "__main__":
    unittest.main()
