"""The foundation under every service: TLS, graceful shutdown, the data directory's root key and
credentials files, and HTTP limits — against the real binary."""

import base64
import os
import signal
import socket
import stat
import subprocess
import time
import unittest

from harness import HangarServer, HangarError, HangarTestCase, b64


def wait_until(predicate, timeout=20.0, what="condition"):
    """Polls an observable condition (not a sleep standing in for one)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def port_accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class TlsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = HangarServer()
        cls.cert = os.path.join(cls.server.tmp_dir, "cert.pem")
        cls.key = os.path.join(cls.server.tmp_dir, "key.pem")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", cls.key,
             "-out", cls.cert, "-days", "1", "-subj", "/CN=127.0.0.1",
             "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True)
        cls.server.extra_args = ["--tls-cert", cls.cert, "--tls-key", cls.key]
        cls.server.start()

    @classmethod
    def tearDownClass(cls):
        cls.server.close()

    def test_listening_line_announces_https(self):
        self.assertEqual(self.server.scheme, "https")
        self.assertTrue(self.server.endpoint.startswith("https://"))

    def test_boto3_works_over_tls_with_the_certificate_trusted(self):
        sts = self.server.client("sts", verify=self.cert)
        self.assertEqual(sts.get_caller_identity()["Account"], self.server.account_id)
        kms = self.server.client("kms", verify=self.cert)
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"over tls")["CiphertextBlob"]
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"over tls")

    def test_aws_cli_works_over_tls(self):
        result = self.server.aws("--ca-bundle", self.cert, "sts", "get-caller-identity")
        self.assertEqual(result.rc, 0, result.err)
        self.assertEqual(result.out["Account"], self.server.account_id)

    def test_plain_http_to_the_tls_port_gets_no_http_answer(self):
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        self.assertFalse(data.startswith(b"HTTP/1.1 200"))
        # ...and the server still serves TLS clients.
        self.assertEqual(self.server.client("sts", verify=self.cert)
                         .get_caller_identity()["Account"], self.server.account_id)


class GracefulShutdownTest(unittest.TestCase):
    def setUp(self):
        self.server = HangarServer().start()

    def tearDown(self):
        self.server.close()

    def test_a_request_in_flight_at_sigterm_completes_and_the_server_exits_cleanly(self):
        kms = self.server.client("kms")
        key_id = kms.create_key(Description="survives shutdown")["KeyMetadata"]["KeyId"]
        body = ('{"KeyId": "%s", "Description": "%s"}' % (key_id, "x" * 2000)).encode()
        path, headers = self.server.sign(body, target="TrentService.UpdateKeyDescription")
        head = f"POST {path} HTTP/1.1\r\n".encode()
        for name, value in headers.items():
            head += f"{name}: {value}\r\n".encode()
        head += f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n".encode()

        idle = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        busy = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        busy.sendall(head)
        # "100 Continue" says the server has read the header and waits for the body: the request
        # is in flight. Send half the body, then stop the server.
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            chunk = busy.recv(1)
            self.assertTrue(chunk, "connection closed before 100 Continue")
            interim += chunk
        self.assertTrue(interim.startswith(b"HTTP/1.1 100"), interim)
        busy.sendall(body[:100])
        self.server.proc.send_signal(signal.SIGTERM)
        # Once the listener is closed the server is shutting down; then finish the request.
        wait_until(lambda: not port_accepts(self.server.port), what="listener to close")
        busy.sendall(body[100:])
        response = b""
        while True:
            chunk = busy.recv(65536)
            if not chunk:
                break
            response += chunk
        busy.close()
        self.assertTrue(response.startswith(b"HTTP/1.1 200"), response[:200])
        self.assertIn(b"Connection: close", response)
        # The idle keep-alive connection is closed by the server, not left hanging.
        self.assertEqual(idle.recv(1), b"")
        idle.close()
        self.assertEqual(self.server.proc.wait(timeout=30), 0)
        self.server._reap()
        # What was acknowledged is there after the restart.
        self.server.start()
        described = self.server.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]
        self.assertEqual(described["Description"], "x" * 2000)

    def test_sigint_also_stops_the_server_cleanly(self):
        self.server.proc.send_signal(signal.SIGINT)
        self.assertEqual(self.server.proc.wait(timeout=30), 0)
        self.server._reap()


class CephOnlyInClusterModeTest(unittest.TestCase):
    """librados is opened when a node opens a Ceph pool (src/store/rados/rados_api.h): a server
    that keeps its blobs in its data directory never maps it, nor libceph-common (about 7 MiB
    resident at start, and their start-up work). Cluster mode's suites show the other side."""

    def setUp(self):
        self.server = HangarServer().start()

    def tearDown(self):
        self.server.close()

    def test_an_embedded_server_maps_no_ceph_library(self):
        # Serve something first: the libraries a request needs are mapped by then.
        self.server.client("kms").create_key(Description="maps")
        with open(f"/proc/{self.server.proc.pid}/maps") as f:
            mapped = {line.split()[-1].rsplit("/", 1)[-1] for line in f if "/" in line}
        # The check finds a library that is there (OpenSSL's), so an absence below means absence.
        self.assertTrue(any(name.startswith("libcrypto.so") for name in mapped), mapped)
        ceph = sorted(n for n in mapped if n.startswith(("librados", "libceph-common")))
        self.assertEqual(ceph, [])


class DataDirectoryTest(unittest.TestCase):
    def setUp(self):
        self.server = HangarServer(dev_clock=False)

    def tearDown(self):
        self.server.close()

    def test_first_start_prints_credentials_and_writes_owner_only_files(self):
        self.server.start()
        printed = "\n".join(self.server.stdout_lines)
        self.assertIn(f"AWS_ACCESS_KEY_ID={self.server.access_key_id}", printed)
        creds = os.path.join(self.server.data_dir, "root-credentials")
        for path in (creds, os.path.join(self.server.data_dir, "root.key")):
            mode = stat.S_IMODE(os.stat(path).st_mode)
            self.assertEqual(mode, 0o600, path)
        with open(creds) as f:
            text = f.read()
        self.assertIn(f"aws_access_key_id = {self.server.access_key_id}", text)
        self.assertIn(f"aws_secret_access_key = {self.server.secret_access_key}", text)
        self.assertEqual(os.path.getsize(os.path.join(self.server.data_dir, "root.key")), 32)
        # A second start reuses the account and does not print the secret again.
        first_run_lines = len(self.server.stdout_lines)
        self.server.restart()
        second_run = self.server.stdout_lines[first_run_lines:]
        self.assertTrue(second_run and second_run[0].startswith("Hangar listening"), second_run)
        self.assertFalse(any("AWS_SECRET_ACCESS_KEY" in line for line in second_run), second_run)

    def test_generated_credentials_work_when_none_are_given(self):
        server = HangarServer(account_id="", access_key_id="", secret_access_key="")
        try:
            server.extra_env = {"HANGAR_ACCOUNT_ID": "", "HANGAR_ROOT_ACCESS_KEY_ID": "",
                                "HANGAR_ROOT_SECRET_ACCESS_KEY": ""}
            server.start()
            printed = "\n".join(server.stdout_lines)
            akid = printed.split("AWS_ACCESS_KEY_ID=")[1].split()[0]
            # stdout is a pipe here: the generated secret goes only to the credentials file.
            self.assertNotIn("AWS_SECRET_ACCESS_KEY", printed)
            with open(os.path.join(server.data_dir, "root-credentials")) as f:
                secret = f.read().split("aws_secret_access_key = ")[1].split()[0]
            self.assertTrue(akid.startswith("AKIA") and len(akid) == 20, akid)
            self.assertEqual(len(secret), 40)
            sts = server.client("sts", access_key_id=akid, secret_access_key=secret)
            identity = sts.get_caller_identity()
            self.assertRegex(identity["Account"], r"^[1-9][0-9]{11}$")
            self.assertEqual(identity["Arn"], f"arn:aws:iam::{identity['Account']}:root")
        finally:
            server.close()

    def _key_and_ciphertext(self):
        kms = self.server.client("kms")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        return key_id, kms.encrypt(KeyId=key_id, Plaintext=b"guarded")["CiphertextBlob"]

    def test_a_wrong_root_key_refuses_to_start(self):
        self.server.start()
        _, blob = self._key_and_ciphertext()
        self.server.stop()
        key_path = os.path.join(self.server.data_dir, "root.key")
        with open(key_path, "rb") as f:
            original = f.read()
        with open(key_path, "wb") as f:
            f.write(os.urandom(32))
        with self.assertRaises(HangarError) as cm:
            self.server.start()
        self.assertIn("root key does not match", str(cm.exception))
        with open(key_path, "wb") as f:
            f.write(original)
        self.server.start()
        self.assertEqual(self.server.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"],
                         b"guarded")

    def test_a_missing_root_key_refuses_to_start(self):
        self.server.start()
        self._key_and_ciphertext()
        self.server.stop()
        key_path = os.path.join(self.server.data_dir, "root.key")
        os.rename(key_path, key_path + ".away")
        with self.assertRaises(HangarError) as cm:
            self.server.start()
        self.assertIn("root key", str(cm.exception))
        self.assertFalse(os.path.exists(key_path), "a fresh key must not be created silently")
        os.rename(key_path + ".away", key_path)
        self.server.start()

    def test_root_key_from_the_environment_is_used_and_not_written(self):
        root = base64.b64encode(os.urandom(32)).decode()
        self.server.extra_env = {"HANGAR_ROOT_KEY": root}
        self.server.start()
        _, blob = self._key_and_ciphertext()
        self.assertFalse(os.path.exists(os.path.join(self.server.data_dir, "root.key")))
        self.server.restart()
        self.assertEqual(self.server.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"],
                         b"guarded")
        self.server.stop()
        self.server.extra_env = {"HANGAR_ROOT_KEY": base64.b64encode(os.urandom(32)).decode()}
        with self.assertRaises(HangarError):
            self.server.start()
        self.server.extra_env = {"HANGAR_ROOT_KEY": "not base64 of 32 bytes"}
        with self.assertRaises(HangarError):
            self.server.start()


class HttpLimitsTest(HangarTestCase):
    def test_an_oversized_header_is_refused_and_the_server_keeps_serving(self):
        head = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " + b"a" * (80 * 1024) +
                b"\r\nContent-Length: 0\r\n\r\n")
        response = self.server.raw_exchange(head)
        self.assertEqual(response.status, 431)
        self.assertEqual(self.server.client("sts").get_caller_identity()["Account"],
                         self.server.account_id)

    def test_garbage_instead_of_http_gets_400(self):
        response = self.server.raw_exchange(b"THIS IS NOT HTTP\r\n\r\n")
        self.assertEqual(response.status, 400)

    def test_many_requests_share_one_keep_alive_connection(self):
        kms = self.server.client("kms")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        for i in range(50):
            blob = kms.encrypt(KeyId=key_id, Plaintext=bytes([i]) * 8)["CiphertextBlob"]
            self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], bytes([i]) * 8)


if __name__ == "__main__":
    unittest.main()
