"""The root key in a PKCS#11 token (`--root-key-pkcs11`, docs/root-key.md), with SoftHSM2 standing
in for the HSM: a throwaway token directory per test (SOFTHSM2_CONF), tokens made with
softhsm2-util.

  * TokenFromTheStartTest: a fresh data directory served with a token: KMS and SSE-S3 data
    survive a restart, no root.key is written, the admin, audit and findings commands open the
    directory through the token, and the directory refuses any other key (a key file, a value in
    HANGAR_ROOT_KEY, a label the token lacks, both a token and a file).
  * MigrationTest: a data directory made with root.key moves into a token with `hangar admin
    import-root-key` (which first checks the file against the directory and refuses a second
    import); with root.key deleted, the old KMS, S3, IAM and audit data open through the token.
  * WrongPinTest: a wrong PIN from a PIN file, HANGAR_ROOT_KEY_PIN or pin-value stops the server
    with CKR_PIN_INCORRECT and a non-zero exit; the PIN appears in no output.
"""

import base64
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import HANGAR_BIN, HangarError, HangarServer

PIN = "e2e-user-pin-3141"
SO_PIN = "e2e-so-pin-2718"
KEY_LABEL = "hangar-root"
MODULE_CANDIDATES = ["/usr/lib/softhsm/libsofthsm2.so",
                     "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
                     "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"]


def softhsm_module():
    """SoftHSM2's module: from CMake (HANGAR_SOFTHSM2_MODULE), else Debian's paths."""
    configured = os.environ.get("HANGAR_SOFTHSM2_MODULE", "")
    for path in ([configured] if configured else []) + MODULE_CANDIDATES:
        if os.path.exists(path):
            return path
    raise AssertionError("SoftHSM2's PKCS#11 module is missing: run scripts/install-deps.sh")


def softhsm_util():
    util = os.environ.get("HANGAR_SOFTHSM2_UTIL") or shutil.which("softhsm2-util")
    if not util or not os.path.exists(util):
        raise AssertionError("softhsm2-util is missing: run scripts/install-deps.sh")
    return util


class SoftHsm:
    """A SoftHSM2 token directory of its own; `env` points the module (and softhsm2-util) at it."""

    def __init__(self):
        self.module = softhsm_module()
        self.util = softhsm_util()
        self.dir = tempfile.mkdtemp(prefix="hangar-e2e-softhsm-")
        os.mkdir(os.path.join(self.dir, "tokens"))
        self.conf = os.path.join(self.dir, "softhsm2.conf")
        with open(self.conf, "w") as f:
            f.write(f"directories.tokendir = {self.dir}/tokens\nobjectstore.backend = file\n"
                    "log.level = ERROR\n")
        self.env = {"SOFTHSM2_CONF": self.conf}
        self.pin_file = os.path.join(self.dir, "pin")
        with open(self.pin_file, "w") as f:
            f.write(PIN + "\n")
        os.chmod(self.pin_file, 0o600)

    def init_token(self, label):
        subprocess.run([self.util, "--init-token", "--free", "--label", label, "--pin", PIN,
                        "--so-pin", SO_PIN], env={**os.environ, **self.env}, check=True,
                       capture_output=True, timeout=60)

    def uri(self, token, *, object_label=KEY_LABEL, pin_query=None):
        """The token's URI; the PIN from the PIN file unless `pin_query` says otherwise ("" for
        none, e.g. when HANGAR_ROOT_KEY_PIN gives it)."""
        query = f"module-path={self.module}"
        pin_query = f"pin-source=file:{self.pin_file}" if pin_query is None else pin_query
        if pin_query:
            query += "&" + pin_query
        return f"pkcs11:token={token};object={object_label}?{query}"

    def close(self):
        if os.environ.get("HANGAR_E2E_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)


def run_hangar(*args, env):
    proc = subprocess.run([HANGAR_BIN, *args], capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL, env={**os.environ, **env})
    return proc


def server_output(server):
    with open(server.log_path, errors="replace") as f:
        return f.read() + "\n".join(server.stdout_lines)


class Pkcs11TestCase(unittest.TestCase):
    def setUp(self):
        self.hsm = SoftHsm()
        self.addCleanup(self.hsm.close)

    def server_with_token(self, uri, **env):
        server = HangarServer(extra_env={**self.hsm.env, **env},
                              extra_args=["--root-key-pkcs11", uri])
        self.addCleanup(server.close)
        return server

    def write_data(self, server):
        """A KMS ciphertext and an SSE-S3 object; returns what reads them back."""
        kms = server.client("kms")
        key_id = kms.create_key(Description="pkcs11 e2e")["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"kms plaintext")["CiphertextBlob"]
        s3 = server.s3_client()
        s3.create_bucket(Bucket="vault")
        s3.put_object(Bucket="vault", Key="doc", Body=b"s3 plaintext", ServerSideEncryption="AES256")
        return blob

    def assert_data_reads(self, server, blob):
        self.assertEqual(server.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"],
                         b"kms plaintext")
        got = server.s3_client().get_object(Bucket="vault", Key="doc")
        self.assertEqual(got["ServerSideEncryption"], "AES256")
        self.assertEqual(got["Body"].read(), b"s3 plaintext")

    def assert_refuses_to_start(self, server, expected):
        with self.assertRaises(HangarError) as cm:
            server.start()
        text = str(cm.exception)
        self.assertIn("exited with 1 before listening", text)
        self.assertIn(expected, text)
        return text


class TokenFromTheStartTest(Pkcs11TestCase):
    def test_a_fresh_data_directory_keeps_its_root_key_in_the_token(self):
        self.hsm.init_token("fresh")
        uri = self.hsm.uri("fresh")
        server = self.server_with_token(uri)
        server.start()
        self.assertIn("generated a new root key in the PKCS#11 token", server_output(server))
        blob = self.write_data(server)
        self.assertFalse(os.path.exists(os.path.join(server.data_dir, "root.key")))
        server.restart()
        self.assert_data_reads(server, blob)
        self.assertFalse(os.path.exists(os.path.join(server.data_dir, "root.key")))
        self.assertEqual(server_output(server).count("generated a new root key"), 1)

        # The subcommands that open the data directory open it through the token too.
        accounts = run_hangar("admin", "list-accounts", "--data-dir", server.data_dir,
                              "--root-key-pkcs11", uri, env=self.hsm.env)
        self.assertEqual(accounts.returncode, 0, accounts.stderr)
        self.assertIn(server.account_id, json.loads(accounts.stdout)["Accounts"])
        server.stop()
        verify = run_hangar("audit", "verify", "--data-dir", server.data_dir, env={
            **self.hsm.env, "HANGAR_ROOT_KEY_PKCS11": uri})
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        self.assertIn("OK: the trail is intact", verify.stdout)
        self.assertNotIn("without the root key", verify.stderr)
        findings = run_hangar("findings", "list", "--data-dir", server.data_dir,
                              "--root-key-pkcs11", uri, env=self.hsm.env)
        self.assertEqual(findings.returncode, 0, findings.stderr)

    def test_the_data_directory_refuses_every_key_but_the_token_s(self):
        self.hsm.init_token("only")
        server = self.server_with_token(self.hsm.uri("only"))
        server.start()
        self.write_data(server)
        server.stop()

        # Without the token: a key file or a key value is not the directory's key.
        key_file = os.path.join(server.tmp_dir, "other.key")
        with open(key_file, "wb") as f:
            f.write(os.urandom(32))
        server.extra_args = ["--root-key-file", key_file]
        self.assert_refuses_to_start(server, "root key does not match")
        server.extra_args = []
        server.extra_env = {"HANGAR_ROOT_KEY": base64.b64encode(os.urandom(32)).decode()}
        self.assert_refuses_to_start(server, "root key does not match")
        # The default root.key is not silently created for a directory that has data.
        server.extra_env = {}
        self.assert_refuses_to_start(server, "root.key is missing")
        self.assertFalse(os.path.exists(os.path.join(server.data_dir, "root.key")))

        # A label the token lacks is an error, and no key is generated for an existing
        # directory: the second attempt fails the same way.
        server.extra_env = dict(self.hsm.env)
        server.extra_args = ["--root-key-pkcs11", self.hsm.uri("only", object_label="other")]
        for _ in range(2):
            text = self.assert_refuses_to_start(server, "holds no secret key labelled 'other'")
            self.assertIn("import-root-key", text)

        # A token and a key file at once are refused, whichever way they are named.
        server.extra_args = ["--root-key-pkcs11", self.hsm.uri("only"), "--root-key-file",
                             key_file]
        self.assert_refuses_to_start(server, "the root key is named twice")
        server.extra_args = ["--root-key-pkcs11", self.hsm.uri("only")]
        server.extra_env = {**self.hsm.env, "HANGAR_ROOT_KEY_FILE": key_file}
        self.assert_refuses_to_start(server, "the root key is named twice")

        # And with the token it starts again.
        server.extra_env = dict(self.hsm.env)
        server.start()
        self.assertEqual(server.client("sts").get_caller_identity()["Account"], server.account_id)


class MigrationTest(Pkcs11TestCase):
    def test_a_root_key_file_moves_into_a_token_and_the_old_data_opens(self):
        server = HangarServer()
        self.addCleanup(server.close)
        server.start()
        blob = self.write_data(server)
        other = server.second_account()
        server.stop()
        key_path = os.path.join(server.data_dir, "root.key")
        self.assertTrue(os.path.exists(key_path))

        self.hsm.init_token("migrate")
        uri = self.hsm.uri("migrate", pin_query="")  # the PIN from HANGAR_ROOT_KEY_PIN
        env = {**self.hsm.env, "HANGAR_ROOT_KEY_PIN": PIN}

        # A key file that does not open the directory is refused before anything is imported.
        wrong_key = os.path.join(server.tmp_dir, "wrong.key")
        with open(wrong_key, "wb") as f:
            f.write(os.urandom(32))
        refused = run_hangar("admin", "import-root-key", "--data-dir", server.data_dir,
                             "--root-key-file", wrong_key, "--root-key-pkcs11", uri, env=env)
        self.assertEqual(refused.returncode, 1, refused.stdout)
        self.assertIn("before the import", refused.stderr)
        self.assertIn("root key does not match", refused.stderr)

        # The directory's own root.key (the default with --data-dir): checked, imported, checked.
        imported = run_hangar("admin", "import-root-key", "--data-dir", server.data_dir,
                              "--root-key-pkcs11", uri, env=env)
        self.assertEqual(imported.returncode, 0, imported.stderr)
        self.assertEqual(json.loads(imported.stdout),
                         {"Imported": True, "VerifiedDataDir": server.data_dir})
        again = run_hangar("admin", "import-root-key", "--root-key-file", key_path,
                           "--root-key-pkcs11", uri, env=env)
        self.assertEqual(again.returncode, 1, again.stdout)
        self.assertIn(f"already holds a key labelled '{KEY_LABEL}'", again.stderr)

        # The file goes (an operator shreds it and its backups); the token alone opens the data.
        os.remove(key_path)
        server.extra_env = env
        server.extra_args = ["--root-key-pkcs11", uri]
        server.start()
        self.assertNotIn("generated a new root key", server_output(server))
        self.assert_data_reads(server, blob)
        sts = server.client("sts", access_key_id=other["AccessKeyId"],
                            secret_access_key=other["SecretAccessKey"])
        self.assertEqual(sts.get_caller_identity()["Account"], other["AccountId"])
        new_blob = self.write_data_after_migration(server)
        server.restart()
        self.assertEqual(server.client("kms").decrypt(CiphertextBlob=new_blob)["Plaintext"],
                         b"after the move")
        self.assertFalse(os.path.exists(key_path))
        server.stop()
        # The audit digest key was sealed under the file; the token opens it.
        verify = run_hangar("audit", "verify", "--data-dir", server.data_dir,
                            "--root-key-pkcs11", uri, env=env)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        self.assertIn("OK: the trail is intact", verify.stdout)

    def write_data_after_migration(self, server):
        kms = server.client("kms")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        return kms.encrypt(KeyId=key_id, Plaintext=b"after the move")["CiphertextBlob"]


class WrongPinTest(Pkcs11TestCase):
    def test_a_wrong_pin_stops_the_server_without_showing_the_pin(self):
        self.hsm.init_token("pin")
        server = self.server_with_token(self.hsm.uri("pin"))
        server.start()
        server.stop()

        wrong = "wrong-pin-918273"
        wrong_file = os.path.join(self.hsm.dir, "wrong-pin")
        with open(wrong_file, "w") as f:
            f.write(wrong + "\n")
        attempts = [
            (self.hsm.uri("pin", pin_query=f"pin-source=file:{wrong_file}"), {}),
            (self.hsm.uri("pin", pin_query=""), {"HANGAR_ROOT_KEY_PIN": wrong}),
            (self.hsm.uri("pin", pin_query=f"pin-value={wrong}"), {}),
        ]
        for uri, env in attempts:
            server.extra_args = ["--root-key-pkcs11", uri]
            server.extra_env = {**self.hsm.env, **env}
            text = self.assert_refuses_to_start(server, "CKR_PIN_INCORRECT")
            self.assertNotIn(wrong, text)
            self.assertNotIn(wrong, server_output(server))
        # No PIN at all is named as such.
        server.extra_args = ["--root-key-pkcs11", self.hsm.uri("pin", pin_query="")]
        server.extra_env = dict(self.hsm.env)
        self.assert_refuses_to_start(server, "needs a PIN")
        # The right PIN still works: the failures did not lock the token.
        server.extra_args = ["--root-key-pkcs11", self.hsm.uri("pin")]
        server.start()
        self.assertNotIn(PIN, server_output(server))


if __name__ == "__main__":
    unittest.main()
