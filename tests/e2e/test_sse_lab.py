"""The lab's steps 3-5 with the aws CLI (v1) only: a bucket whose default encryption is SSE-KMS
with the customer managed key alias/cloud_user and a Bucket Key, an upload, the "verify
encryption" step (head-object), and then the key's state deciding the data's fate: pending
deletion, cancelled, disabled, enabled, and finally deleted on the dev clock — unreadable for
good, also after a restart, with no plaintext anywhere in the data directory.

Issue 4, "How it is shown to work"; AWS behaviour: docs/reference/s3.md §8.2, §8.4, §8.7.
"""

import json
import os
import unittest

from harness import HangarTestCase

DAY = 86400
ALIAS = "alias/cloud_user"
BUCKET = "cloud-user-lab"
OBJECT_KEY = "reports/file.txt"
# Never in a key name or metadata (those are not encrypted, on AWS neither): only in the body.
MARKER = b"HANGAR-LAB-PLAINTEXT-MARKER-7f3c91d2"
BODY = b"".join(MARKER + b" line %05d of the lab file\n" % i for i in range(4000))  # ~2 segments


class SseLabTest(HangarTestCase):

    def setUp(self):
        self.files = os.path.join(self.server.tmp_dir, "lab-files")
        os.makedirs(self.files, exist_ok=True)

    def cli(self, *args):
        return self.assertCliOk(self.server.aws(*args))

    def local(self, name, data=None) -> str:
        path = os.path.join(self.files, name)
        if data is not None:
            with open(path, "wb") as f:
                f.write(data)
        return path

    def download(self):
        """`aws s3 cp s3://bucket/key -`: the object to stdout (fails on any error)."""
        return self.server.aws("s3", "cp", f"s3://{BUCKET}/{OBJECT_KEY}", "-")

    def assertReadableAndIdentical(self):
        target = self.local("downloaded.txt")
        if os.path.exists(target):
            os.remove(target)
        self.cli("s3", "cp", f"s3://{BUCKET}/{OBJECT_KEY}", target)
        with open(target, "rb") as f:
            self.assertEqual(f.read(), BODY, "downloaded bytes differ from the uploaded file")
        # To stdout too (the CLI strips the final newline of what it captured as text).
        out = self.assertCliOk(self.download())
        self.assertEqual(out.encode(), BODY.rstrip(b"\n"))

    def test_lab_bucket_key_encryption_and_key_deletion_with_the_aws_cli(self):
        server = self.server
        account = server.account_id

        # 1. The bucket, and a symmetric single-Region customer managed key with its alias.
        self.cli("s3api", "create-bucket", "--bucket", BUCKET)
        meta = self.cli("kms", "create-key", "--description", "lab key for S3")["KeyMetadata"]
        key_id, key_arn = meta["KeyId"], meta["Arn"]
        self.assertEqual(key_arn, f"arn:aws:kms:us-east-1:{account}:key/{key_id}")
        self.assertEqual(meta["KeySpec"], "SYMMETRIC_DEFAULT")
        self.assertEqual(meta["KeyUsage"], "ENCRYPT_DECRYPT")
        self.assertIs(meta["MultiRegion"], False)
        self.cli("kms", "create-alias", "--alias-name", ALIAS, "--target-key-id", key_id)

        # 2. Default encryption: SSE-KMS with the alias and a Bucket Key; echoed as configured.
        config = {"Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": ALIAS}, "BucketKeyEnabled": True}]}
        self.cli("s3api", "put-bucket-encryption", "--bucket", BUCKET,
                 "--server-side-encryption-configuration", json.dumps(config))
        got = self.cli("s3api", "get-bucket-encryption", "--bucket", BUCKET)
        self.assertEqual(got["ServerSideEncryptionConfiguration"], config)

        # 3. Upload a file with `aws s3 cp` (no SSE options: the bucket default applies).
        upload = self.cli("s3", "cp", self.local("file.txt", BODY), f"s3://{BUCKET}/{OBJECT_KEY}")
        self.assertIn("upload:", upload)

        # 4. Verify encryption: aws:kms, the key's full ARN (not the alias), the Bucket Key.
        head = self.cli("s3api", "head-object", "--bucket", BUCKET, "--key", OBJECT_KEY)
        self.assertEqual(head["ServerSideEncryption"], "aws:kms")
        self.assertEqual(head["SSEKMSKeyId"], key_arn)
        self.assertIs(head["BucketKeyEnabled"], True)
        self.assertEqual(head["ContentLength"], len(BODY))
        self.assertReadableAndIdentical()

        # 5. Schedule the key's deletion (7 days): the object is unreadable at once.
        self.cli("kms", "schedule-key-deletion", "--key-id", key_id,
                 "--pending-window-in-days", "7")
        self.assertCliError(self.download(), "KMS.KMSInvalidStateException",
                            f"{key_arn} is pending deletion.")

        # 6. Cancel (the key comes back Disabled) and enable: readable again, byte for byte.
        self.cli("kms", "cancel-key-deletion", "--key-id", key_id)
        self.cli("kms", "enable-key", "--key-id", key_id)
        self.assertReadableAndIdentical()

        # 7. Disabled: neither reads nor writes under the key (even with a cached Bucket Key).
        self.cli("kms", "disable-key", "--key-id", key_id)
        self.assertCliError(self.download(), "KMS.DisabledException", f"{key_arn} is disabled.")
        self.assertCliError(
            server.aws("s3", "cp", self.local("second.txt", MARKER + b" second\n"),
                       f"s3://{BUCKET}/second.txt"),
            "KMS.DisabledException", f"{key_arn} is disabled.")
        self.cli("kms", "enable-key", "--key-id", key_id)
        self.assertReadableAndIdentical()
        self.cli("s3", "cp", self.local("second.txt"), f"s3://{BUCKET}/second.txt")

        # 8. Schedule again and let the window pass on the dev clock: the key is destroyed and
        # the object can never be read again.
        self.cli("kms", "schedule-key-deletion", "--key-id", key_id,
                 "--pending-window-in-days", "7")
        server.advance_clock(7 * DAY - 60)
        self.assertCliError(self.download(), "KMS.KMSInvalidStateException",
                            f"{key_arn} is pending deletion.")
        server.advance_clock(60 + 1)
        gone = f"Key '{key_arn}' does not exist"
        self.assertCliError(self.download(), "KMS.NotFoundException", gone)
        self.assertCliError(
            server.aws("s3", "cp", f"s3://{BUCKET}/second.txt", self.local("second-back.txt")),
            "KMS.NotFoundException", gone)

        # 9. Also after a restart, and forever after.
        self.assertEqual(server.restart(), 0, "hangar did not exit cleanly on SIGTERM")
        self.assertCliError(self.download(), "KMS.NotFoundException", gone)
        server.advance_clock(400 * DAY)
        self.assertCliError(self.download(), "KMS.NotFoundException", gone)
        self.assertCliError(self.server.aws("kms", "cancel-key-deletion", "--key-id", key_id),
                            "NotFoundException", gone)

        # 10. Nowhere in the data directory is the plaintext.
        self.assertEqual(server.files_containing(MARKER), [],
                         "plaintext marker found in the data directory")


if __name__ == "__main__":
    unittest.main()
