"""The lab's path through KMS with the aws CLI (v1) only: a symmetric single-Region key with the
alias alias/cloud_user, encrypt/decrypt through the alias, scheduled deletion with a 7-day window,
cancel, schedule again, cross the window on the dev clock, and confirm the key and its ciphertexts
are gone for good, also after a restart and in the data directory itself.

Blobs go through fileb:// because aws CLI v1 does not base64-decode plain string arguments.
"""

import base64
import json
import os
import unittest

from harness import HangarTestCase, parse_timestamp

DAY = 86400
ALIAS = "alias/cloud_user"
PLAINTEXT = b"lab secret: the quick brown fox\n"


class KmsLabPathTest(HangarTestCase):

    def setUp(self):
        self.files = os.path.join(self.server.tmp_dir, self.id().rsplit(".", 1)[-1])
        os.makedirs(self.files, exist_ok=True)
        self.plaintext_file = self.write("plain.txt", PLAINTEXT)

    def write(self, name, data: bytes) -> str:
        path = os.path.join(self.files, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def cli(self, *args):
        return self.assertCliOk(self.server.aws(*args))

    def encrypt(self, key_id):
        """Encrypts PLAINTEXT under key_id; returns the CLI output and the path of a file with
        the raw ciphertext."""
        out = self.cli("kms", "encrypt", "--key-id", key_id,
                       "--plaintext", "fileb://" + self.plaintext_file)
        self.assertEqual(out["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        name = f"cipher-{len(os.listdir(self.files))}.bin"
        return out, self.write(name, base64.b64decode(out["CiphertextBlob"]))

    def decrypt(self, cipher_file, *extra):
        return self.server.aws("kms", "decrypt", "--ciphertext-blob", "fileb://" + cipher_file,
                               *extra)

    def assertDecrypts(self, cipher_file, key_arn, *extra):
        out = self.assertCliOk(self.decrypt(cipher_file, *extra))
        self.assertEqual(base64.b64decode(out["Plaintext"]), PLAINTEXT)
        self.assertEqual(out["KeyId"], key_arn)
        self.assertEqual(out["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT")

    def assertKeyGone(self, key_id, key_arn, cipher_files):
        """Every way of reaching a deleted key answers NotFoundException."""
        gone = f"Key '{key_arn}' does not exist"
        alias_gone = (f"Alias arn:aws:kms:us-east-1:{self.server.account_id}:{ALIAS} "
                      "is not found.")
        self.assertCliError(self.server.aws("kms", "describe-key", "--key-id", key_id),
                            "NotFoundException", gone)
        self.assertCliError(self.server.aws("kms", "describe-key", "--key-id", key_arn),
                            "NotFoundException", gone)
        self.assertCliError(self.server.aws("kms", "describe-key", "--key-id", ALIAS),
                            "NotFoundException", alias_gone)
        for cipher_file in cipher_files:
            self.assertCliError(self.decrypt(cipher_file), "NotFoundException", gone)
        self.assertCliError(self.decrypt(cipher_files[0], "--key-id", key_id),
                            "NotFoundException", gone)
        self.assertCliError(
            self.server.aws("kms", "encrypt", "--key-id", key_id,
                            "--plaintext", "fileb://" + self.plaintext_file),
            "NotFoundException", gone)
        self.assertCliError(
            self.server.aws("kms", "encrypt", "--key-id", ALIAS,
                            "--plaintext", "fileb://" + self.plaintext_file),
            "NotFoundException", alias_gone)
        aliases = self.cli("kms", "list-aliases")["Aliases"]
        self.assertNotIn(ALIAS, [a["AliasName"] for a in aliases])
        self.assertNotIn(key_id, [a.get("TargetKeyId") for a in aliases])
        self.assertCliError(self.server.aws("kms", "list-aliases", "--key-id", key_id),
                            "NotFoundException", gone)
        keys = self.cli("kms", "list-keys")["Keys"]
        self.assertNotIn(key_id, [k["KeyId"] for k in keys])
        # A deleted key cannot be brought back or touched.
        self.assertCliError(self.server.aws("kms", "cancel-key-deletion", "--key-id", key_id),
                            "NotFoundException", gone)
        self.assertCliError(self.server.aws("kms", "enable-key", "--key-id", key_id),
                            "NotFoundException", gone)
        self.assertCliError(
            self.server.aws("kms", "create-alias", "--alias-name", ALIAS,
                            "--target-key-id", key_id),
            "NotFoundException", gone)

    def assertMaterialDestroyed(self, key_id):
        """The metadata store keeps only a tombstone: no material rows, no alias, no key data."""
        self.assertEqual(self.wrapped_materials(key_id), [],
                         "key material rows remain after deletion")
        docs = self.server.query_db(
            "SELECT body FROM documents WHERE collection = 'kms.key' AND CAST(id AS TEXT) = ?",
            (key_id,))
        self.assertEqual(len(docs), 1, "the key's tombstone document is missing")
        body = docs[0][0]
        tombstone = json.loads(body if isinstance(body, str) else body.decode())
        self.assertIs(tombstone["destroyed"], True)
        self.assertEqual(tombstone.get("versions", []), [], tombstone)
        aliases = self.server.query_db(
            "SELECT id FROM documents WHERE collection = 'kms.alias' AND CAST(id AS TEXT) = ?",
            (ALIAS,))
        self.assertEqual(aliases, [])

    def wrapped_materials(self, key_id):
        """The stored (root-key-wrapped) material blobs of key_id."""
        rows = self.server.query_db(
            "SELECT body FROM documents WHERE collection = 'kms.material' "
            "AND CAST(partition AS TEXT) = ?", (key_id,))
        return [bytes(r[0]) if not isinstance(r[0], str) else r[0].encode() for r in rows]

    def test_lab_path_with_the_aws_cli(self):
        server = self.server

        # 1. A symmetric, single-Region customer managed key.
        meta = self.cli("kms", "create-key", "--description", "cloud_user lab key")["KeyMetadata"]
        key_id, key_arn = meta["KeyId"], meta["Arn"]
        self.assertRegex(key_id, r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
        self.assertEqual(key_arn, f"arn:aws:kms:us-east-1:{server.account_id}:key/{key_id}")
        self.assertEqual(meta["KeySpec"], "SYMMETRIC_DEFAULT")
        self.assertEqual(meta["KeyUsage"], "ENCRYPT_DECRYPT")
        self.assertEqual(meta["KeyState"], "Enabled")
        self.assertIs(meta["Enabled"], True)
        self.assertIs(meta["MultiRegion"], False)
        self.assertNotIn("MultiRegionConfiguration", meta)
        self.assertEqual(meta["KeyManager"], "CUSTOMER")
        self.assertEqual(meta["Origin"], "AWS_KMS")

        # 2. The alias, and encrypt/decrypt through it.
        self.cli("kms", "create-alias", "--alias-name", ALIAS, "--target-key-id", key_id)
        aliases = self.cli("kms", "list-aliases", "--key-id", key_id)["Aliases"]
        self.assertEqual([a["AliasName"] for a in aliases], [ALIAS])
        self.assertEqual(aliases[0]["TargetKeyId"], key_id)
        self.assertEqual(aliases[0]["AliasArn"],
                         f"arn:aws:kms:us-east-1:{server.account_id}:{ALIAS}")
        described = self.cli("kms", "describe-key", "--key-id", ALIAS)["KeyMetadata"]
        self.assertEqual(described["KeyId"], key_id)

        out, first_cipher = self.encrypt(ALIAS)
        self.assertEqual(out["KeyId"], key_arn)
        self.assertDecrypts(first_cipher, key_arn)
        self.assertDecrypts(first_cipher, key_arn, "--key-id", ALIAS)
        wrapped = self.wrapped_materials(key_id)
        self.assertEqual(len(wrapped), 1, "one key material row while the key lives")

        # 3. Schedule deletion with the shortest window.
        now = server.clock_now()
        scheduled = self.cli("kms", "schedule-key-deletion", "--key-id", key_id,
                             "--pending-window-in-days", "7")
        self.assertEqual(scheduled["KeyId"], key_arn)
        self.assertEqual(scheduled["KeyState"], "PendingDeletion")
        self.assertEqual(scheduled["PendingWindowInDays"], 7)
        deletion_date = parse_timestamp(scheduled["DeletionDate"])
        self.assertAlmostEqual(deletion_date, now + 7 * DAY, delta=60)
        meta = self.cli("kms", "describe-key", "--key-id", key_id)["KeyMetadata"]
        self.assertEqual(meta["KeyState"], "PendingDeletion")
        self.assertIs(meta["Enabled"], False)
        self.assertAlmostEqual(parse_timestamp(meta["DeletionDate"]), deletion_date, delta=1)

        # 4. A key pending deletion cannot be used.
        self.assertCliError(self.decrypt(first_cipher), "KMSInvalidStateException",
                            f"{key_arn} is pending deletion.")
        self.assertCliError(
            server.aws("kms", "encrypt", "--key-id", ALIAS,
                       "--plaintext", "fileb://" + self.plaintext_file),
            "KMSInvalidStateException", f"{key_arn} is pending deletion.")
        self.assertCliError(
            server.aws("kms", "schedule-key-deletion", "--key-id", key_id,
                       "--pending-window-in-days", "7"),
            "KMSInvalidStateException", f"{key_arn} is pending deletion.")

        # 5. Cancel: the key comes back Disabled, then enable it and use it again.
        cancelled = self.cli("kms", "cancel-key-deletion", "--key-id", key_id)
        self.assertEqual(cancelled["KeyId"], key_arn)
        meta = self.cli("kms", "describe-key", "--key-id", key_id)["KeyMetadata"]
        self.assertEqual(meta["KeyState"], "Disabled")
        self.assertIs(meta["Enabled"], False)
        self.assertNotIn("DeletionDate", meta)
        self.assertCliError(self.decrypt(first_cipher), "DisabledException",
                            f"{key_arn} is disabled.")
        self.cli("kms", "enable-key", "--key-id", key_id)
        meta = self.cli("kms", "describe-key", "--key-id", key_id)["KeyMetadata"]
        self.assertEqual(meta["KeyState"], "Enabled")
        self.assertIs(meta["Enabled"], True)
        self.assertDecrypts(first_cipher, key_arn)
        _, second_cipher = self.encrypt(ALIAS)
        self.assertDecrypts(second_cipher, key_arn)

        # 6. Schedule again and let the window pass on the dev clock.
        now = server.clock_now()
        scheduled = self.cli("kms", "schedule-key-deletion", "--key-id", key_id,
                             "--pending-window-in-days", "7")
        self.assertAlmostEqual(parse_timestamp(scheduled["DeletionDate"]), now + 7 * DAY,
                               delta=60)
        # Two minutes short of the window the key still exists (pending deletion); then the
        # rest of the 7 days + 1 s.
        server.advance_clock(7 * DAY - 120)
        meta = self.cli("kms", "describe-key", "--key-id", key_id)["KeyMetadata"]
        self.assertEqual(meta["KeyState"], "PendingDeletion")
        server.advance_clock(120 + 1)

        # 7. Gone: every call answers NotFoundException, the alias is removed, and the material
        # left the metadata store.
        self.assertKeyGone(key_id, key_arn, [first_cipher, second_cipher])
        self.assertMaterialDestroyed(key_id)

        # 8. Still gone after a graceful restart, and the wrapped material bytes are nowhere in
        # the data directory's files (secure_delete + checkpoint on shutdown).
        self.assertEqual(server.restart(), 0, "hangar did not exit cleanly on SIGTERM")
        self.assertKeyGone(key_id, key_arn, [first_cipher, second_cipher])
        self.assertMaterialDestroyed(key_id)
        for name in os.listdir(server.data_dir):
            path = os.path.join(server.data_dir, name)
            if not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                content = f.read()
            for blob in wrapped:
                self.assertNotIn(blob, content, f"destroyed key material still in {name}")

        # 9. ... and after a crash (kill -9) and another start.
        server.crash_restart()
        self.assertKeyGone(key_id, key_arn, [first_cipher, second_cipher])
        self.assertMaterialDestroyed(key_id)


if __name__ == "__main__":
    unittest.main()
