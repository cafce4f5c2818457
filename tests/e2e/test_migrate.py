"""`hangar admin migrate`: an embedded data directory moved into cluster mode, as it is.

Runs as `e2e-cluster.migrate` (tests/CMakeLists.txt), after scripts/postgres.sh and scripts/ceph.sh
started the two. An embedded server is filled with every SSE mode (SSE-S3, SSE-KMS with and without
a Bucket Key, DSSE-KMS, SSE-C), versions and a delete marker, a multipart object larger than a RADOS
stripe, an object small enough to sit inline in its metadata, a key scheduled for deletion, an IAM
user with an access key and a KMS ciphertext. After it stops, the migration copies and verifies;
two cluster nodes started with the directory's root key then serve all of it, byte for byte, and
the work that was due in the directory (the key's deletion) is still due in the cluster. The
command refuses while a server holds the directory, a target that is not empty, and a root key
that does not open the directory.
"""

import base64
import hashlib
import json
import os
import subprocess
import unittest

import botocore.exceptions

from harness import HANGAR_BIN, HangarServer, _ClusterPlaces, cluster_mode

DAY = 24 * 3600
MIB = 1024 * 1024
SSE_C_KEY = os.urandom(32)
SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": SSE_C_KEY}


class MigrateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not cluster_mode():
            raise AssertionError("needs HANGAR_E2E_POSTGRES_URI and HANGAR_E2E_RADOS_CONF "
                                 "(ctest -R e2e-cluster starts scripts/postgres.sh and scripts/ceph.sh)")
        cls.embedded = HangarServer(cluster=False)
        cls.addClassCleanup(cls.embedded.close)
        cls.embedded.start()
        cls.expected = cls.fill(cls.embedded)
        cls.target = _ClusterPlaces.make()
        # The lock refusal needs the server running; everything else needs it stopped.
        cls.refused_while_running = cls.migrate(cls.target)
        cls.embedded.stop()
        cls.migrated = cls.migrate(cls.target)
        with open(os.path.join(cls.embedded.data_dir, "root.key"), "rb") as f:
            root_key = base64.b64encode(f.read()).decode()
        cls.nodes = []
        for _ in range(2):
            node = HangarServer(cluster=cls.target._replace(root_key=root_key))
            cls.addClassCleanup(node.close)
            node.start()
            cls.nodes.append(node)

    @classmethod
    def migrate(cls, places, *extra, env=None):
        return subprocess.run(
            [HANGAR_BIN, "admin", "migrate", "--from", cls.embedded.data_dir,
             "--to-metadata", places.metadata_uri, "--to-blobs", places.blobs_uri, *extra],
            capture_output=True, text=True, timeout=600,
            env=env or {k: v for k, v in os.environ.items() if k != "HANGAR_ROOT_KEY"})

    @staticmethod
    def fill(server):
        kms, s3, iam = server.client("kms"), server.s3_client(), server.client("iam")
        key = kms.create_key(Description="migrated")["KeyMetadata"]["Arn"]
        doomed = kms.create_key(Description="scheduled")["KeyMetadata"]["Arn"]
        kms.schedule_key_deletion(KeyId=doomed, PendingWindowInDays=7)
        ciphertext = kms.encrypt(KeyId=key, Plaintext=b"sealed before the move",
                                 EncryptionContext={"purpose": "migration"})["CiphertextBlob"]
        iam.create_user(UserName="mover")
        iam.put_user_policy(UserName="mover", PolicyName="read", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*",
                                                    "Resource": "*"}]}))
        access = iam.create_access_key(UserName="mover")["AccessKey"]

        s3.create_bucket(Bucket="moved")
        s3.put_bucket_versioning(Bucket="moved", VersioningConfiguration={"Status": "Enabled"})
        objects = {}  # key -> (body, extra GET arguments, expected SSE header)
        modes = {
            "sse-s3": ({"ServerSideEncryption": "AES256"}, "AES256"),
            "sse-kms": ({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key}, "aws:kms"),
            "sse-kms-bucket-key": ({"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key,
                                    "BucketKeyEnabled": True}, "aws:kms"),
            "dsse-kms": ({"ServerSideEncryption": "aws:kms:dsse", "SSEKMSKeyId": key},
                         "aws:kms:dsse"),
            "sse-c": (SSE_C, None),
        }
        for name, (args, header) in modes.items():
            for size in (100, 5 * MIB + 3):  # inline in metadata, and over a RADOS stripe
                body = os.urandom(size)
                s3.put_object(Bucket="moved", Key=f"{name}/{size}", Body=body, **args)
                objects[f"{name}/{size}"] = (body, SSE_C if name == "sse-c" else {}, header)

        # Versions: two of one key, then a delete marker on top.
        first = s3.put_object(Bucket="moved", Key="versioned", Body=b"first")["VersionId"]
        second = s3.put_object(Bucket="moved", Key="versioned", Body=b"second")["VersionId"]
        s3.delete_object(Bucket="moved", Key="versioned")

        upload = s3.create_multipart_upload(Bucket="moved", Key="multipart",
                                            ServerSideEncryption="aws:kms", SSEKMSKeyId=key)
        parts, body = [], b""
        for number in (1, 2):
            part = os.urandom(5 * MIB) if number == 1 else os.urandom(MIB + 7)
            etag = s3.upload_part(Bucket="moved", Key="multipart", PartNumber=number,
                                  UploadId=upload["UploadId"], Body=part)["ETag"]
            parts.append({"PartNumber": number, "ETag": etag})
            body += part
        s3.complete_multipart_upload(Bucket="moved", Key="multipart", UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": parts})
        objects["multipart"] = (body, {}, "aws:kms")
        return {"key": key, "doomed": doomed, "ciphertext": ciphertext, "access": access,
                "objects": objects, "versions": (first, second)}

    def test_the_copy_is_verified_and_reported(self):
        self.assertEqual(self.migrated.returncode, 0, self.migrated.stderr)
        report = json.loads(self.migrated.stdout)
        self.assertTrue(report["Verified"])
        self.assertGreaterEqual(report["Blobs"], 7, "the large objects' blobs")
        self.assertGreater(report["BlobBytes"], 6 * 5 * MIB)
        self.assertGreater(report["Documents"], 20)
        self.assertIn("root key", self.migrated.stderr)

    def test_every_object_reads_back_whole_through_every_node(self):
        for node in self.nodes:
            s3 = node.s3_client()
            for name, (body, args, header) in self.expected["objects"].items():
                got = s3.get_object(Bucket="moved", Key=name, **args)
                data = got["Body"].read()
                self.assertEqual(hashlib.sha256(data).hexdigest(), hashlib.sha256(body).hexdigest(),
                                 name)
                self.assertEqual(got.get("ServerSideEncryption"), header, name)
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                s3.get_object(Bucket="moved", Key="sse-c/100")  # still needs its customer key
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

    def test_versions_and_the_delete_marker_are_kept(self):
        s3 = self.nodes[0].s3_client()
        first, second = self.expected["versions"]
        listed = s3.list_object_versions(Bucket="moved", Prefix="versioned")
        self.assertEqual([v["VersionId"] for v in listed["Versions"]], [second, first])
        self.assertEqual(len(listed["DeleteMarkers"]), 1)
        self.assertTrue(listed["DeleteMarkers"][0]["IsLatest"])
        self.assertEqual(s3.get_object(Bucket="moved", Key="versioned",
                                       VersionId=first)["Body"].read(), b"first")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3.get_object(Bucket="moved", Key="versioned")
        self.assertEqual(cm.exception.response["Error"]["Code"], "NoSuchKey")
        # New writes after the move get revisions above the copied ones: a new version on top.
        third = s3.put_object(Bucket="moved", Key="versioned", Body=b"third")["VersionId"]
        self.assertEqual(self.nodes[1].s3_client().get_object(
            Bucket="moved", Key="versioned")["Body"].read(), b"third")
        self.assertNotIn(third, (first, second))

    def test_keys_identities_and_due_work_come_along(self):
        kms = self.nodes[1].client("kms")
        plain = kms.decrypt(CiphertextBlob=self.expected["ciphertext"],
                            EncryptionContext={"purpose": "migration"})["Plaintext"]
        self.assertEqual(plain, b"sealed before the move")
        access = self.expected["access"]
        as_user = self.nodes[0].s3_client(access_key_id=access["AccessKeyId"],
                                          secret_access_key=access["SecretAccessKey"])
        self.assertEqual(as_user.get_object(Bucket="moved", Key="sse-s3/100")["ContentLength"], 100)
        doomed = self.expected["doomed"]
        self.assertEqual(kms.describe_key(KeyId=doomed)["KeyMetadata"]["KeyState"],
                         "PendingDeletion")
        self.nodes[0].advance_clock(8 * DAY)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            kms.describe_key(KeyId=doomed)
        self.assertEqual(cm.exception.response["Error"]["Code"], "NotFoundException")

    def test_it_refuses_a_running_server_a_used_target_and_a_wrong_root_key(self):
        self.assertNotEqual(self.refused_while_running.returncode, 0)
        self.assertIn("locked by another process", self.refused_while_running.stderr)
        again = self.migrate(self.target)
        self.assertNotEqual(again.returncode, 0)
        self.assertIn("already holds a Hangar deployment", again.stderr)
        wrong = self.migrate(_ClusterPlaces.make(), env={
            **{k: v for k, v in os.environ.items() if k != "HANGAR_ROOT_KEY"},
            "HANGAR_ROOT_KEY": base64.b64encode(os.urandom(32)).decode()})
        self.assertNotEqual(wrong.returncode, 0)
        self.assertIn("root key", wrong.stderr)


if __name__ == "__main__":
    unittest.main()
