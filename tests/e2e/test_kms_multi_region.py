"""Multi-Region KMS keys with boto3: one server serving several regions, as AWS's partitions do.

Covered: ReplicateKey (replica metadata, policy and tags; MultiRegionConfiguration seen from every
copy), ciphertext sealed in one region opened by the copy in another (symmetric and RSA; ECDSA
signatures verified across regions with one public key), independent properties (state, alias,
description, tags, policy) and shared ones (rotation and its new material), UpdatePrimaryRegion,
deletion of a primary with replicas (PendingReplicaDeletion until the last replica is gone, then
its own waiting period on the dev clock; the material outlives the replica), re-replication into a
region whose replica was deleted, a restart, IAM (kms:CreateKey in the replica region), and the
error paths: single-Region keys, replicas, served regions, existing replicas, bad names, states.

Behaviour and the choices made where AWS does not record a text: docs/kms-multi-region.md.
"""

import json
import unittest

import botocore.exceptions

from harness import HangarTestCase

DAY = 86400
PRIMARY = "us-east-1"
REPLICA = "eu-west-1"
THIRD = "ap-southeast-2"
SERVED = [PRIMARY, REPLICA, THIRD, "us-west-2"]


class MultiRegionTestCase(HangarTestCase):
    server_options = {"extra_args": ["--regions", ",".join(SERVED)]}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kms_by_region = {r: cls.server.client("kms", region=r) for r in SERVED}

    def kms(self, region):
        return self.kms_by_region[region]

    def mrk(self, **kwargs):
        return self.kms(PRIMARY).create_key(MultiRegion=True, **kwargs)["KeyMetadata"]

    def replicate(self, key_id, region=REPLICA, **kwargs):
        return self.kms(PRIMARY).replicate_key(KeyId=key_id, ReplicaRegion=region, **kwargs)

    def describe(self, key_id, region):
        return self.kms(region).describe_key(KeyId=key_id)["KeyMetadata"]

    def arn(self, key_id, region):
        return f"arn:aws:kms:{region}:{self.server.account_id}:key/{key_id}"


class ReplicateKeyTest(MultiRegionTestCase):
    def test_replica_metadata_and_configuration_on_every_copy(self):
        key = self.mrk(Description="primary")
        out = self.replicate(key["KeyId"], Description="replica in Ireland",
                             Tags=[{"TagKey": "site", "TagValue": "dub"}])
        replica = out["ReplicaKeyMetadata"]
        self.assertEqual(replica["KeyId"], key["KeyId"])
        self.assertTrue(replica["KeyId"].startswith("mrk-"))
        self.assertEqual(replica["Arn"], self.arn(key["KeyId"], REPLICA))
        self.assertEqual(replica["Description"], "replica in Ireland")
        self.assertEqual(replica["KeyState"], "Enabled")
        self.assertTrue(replica["MultiRegion"])
        self.assertEqual(out["ReplicaTags"], [{"TagKey": "site", "TagValue": "dub"}])
        self.assertEqual(json.loads(out["ReplicaPolicy"])["Statement"][0]["Action"], "kms:*")
        expected = {
            "PrimaryKey": {"Arn": key["Arn"], "Region": PRIMARY},
            "ReplicaKeys": [{"Arn": replica["Arn"], "Region": REPLICA}],
        }
        for region, kind in ((PRIMARY, "PRIMARY"), (REPLICA, "REPLICA")):
            config = self.describe(key["KeyId"], region)["MultiRegionConfiguration"]
            self.assertEqual(config, {"MultiRegionKeyType": kind, **expected}, region)
        # Listed in its own region only, with its own tags.
        listed = [k["KeyId"] for k in self.kms(REPLICA).list_keys(Limit=1000)["Keys"]]
        self.assertIn(key["KeyId"], listed)
        self.assertEqual(self.kms(PRIMARY).list_resource_tags(KeyId=key["KeyId"])["Tags"], [])
        self.assertEqual(self.kms(REPLICA).list_resource_tags(KeyId=key["KeyId"])["Tags"],
                         [{"TagKey": "site", "TagValue": "dub"}])

    def test_ciphertext_opens_in_either_region(self):
        key_id = self.mrk()["KeyId"]
        self.replicate(key_id)
        context = {"flight": "HG-1"}
        blob = self.kms(PRIMARY).encrypt(KeyId=key_id, Plaintext=b"telemetry",
                                         EncryptionContext=context)["CiphertextBlob"]
        opened = self.kms(REPLICA).decrypt(CiphertextBlob=blob, EncryptionContext=context)
        self.assertEqual(opened["Plaintext"], b"telemetry")
        self.assertEqual(opened["KeyId"], self.arn(key_id, REPLICA))
        back = self.kms(REPLICA).generate_data_key(KeyId=key_id, KeySpec="AES_256")
        self.assertEqual(self.kms(PRIMARY).decrypt(CiphertextBlob=back["CiphertextBlob"])
                         ["Plaintext"], back["Plaintext"])
        # A region without a copy cannot open it.
        self.assertClientError("InvalidCiphertextException", None,
                               self.kms(THIRD).decrypt, CiphertextBlob=blob,
                               EncryptionContext=context)

    def test_asymmetric_copies_share_the_key_pair(self):
        key_id = self.mrk(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyId"]
        self.replicate(key_id)
        self.assertEqual(self.kms(PRIMARY).get_public_key(KeyId=key_id)["PublicKey"],
                         self.kms(REPLICA).get_public_key(KeyId=key_id)["PublicKey"])
        signature = self.kms(REPLICA).sign(KeyId=key_id, Message=b"firmware image",
                                           SigningAlgorithm="ECDSA_SHA_256")["Signature"]
        verified = self.kms(PRIMARY).verify(KeyId=key_id, Message=b"firmware image",
                                            Signature=signature, SigningAlgorithm="ECDSA_SHA_256")
        self.assertTrue(verified["SignatureValid"])
        rsa_id = self.mrk(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyId"]
        self.replicate(rsa_id)
        blob = self.kms(PRIMARY).encrypt(KeyId=rsa_id, Plaintext=b"secret",
                                         EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
        self.assertEqual(self.kms(REPLICA).decrypt(KeyId=rsa_id, CiphertextBlob=blob,
                                                   EncryptionAlgorithm="RSAES_OAEP_SHA_256")
                         ["Plaintext"], b"secret")

    def test_each_copy_keeps_its_own_state_alias_and_policy(self):
        key_id = self.mrk()["KeyId"]
        self.replicate(key_id)
        blob = self.kms(PRIMARY).encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
        self.kms(REPLICA).disable_key(KeyId=key_id)
        self.assertClientError("DisabledException", f"{self.arn(key_id, REPLICA)} is disabled.",
                               self.kms(REPLICA).decrypt, CiphertextBlob=blob)
        self.assertEqual(self.kms(PRIMARY).decrypt(CiphertextBlob=blob)["Plaintext"], b"x")
        self.kms(REPLICA).enable_key(KeyId=key_id)
        alias = f"alias/mr-{key_id[4:12]}"
        self.kms(REPLICA).create_alias(AliasName=alias, TargetKeyId=key_id)
        self.assertEqual(self.kms(REPLICA).encrypt(KeyId=alias, Plaintext=b"y")["KeyId"],
                         self.arn(key_id, REPLICA))
        self.assertClientError("NotFoundException", None,
                               self.kms(PRIMARY).encrypt, KeyId=alias, Plaintext=b"y")
        self.kms(REPLICA).update_key_description(KeyId=key_id, Description="only here")
        self.assertEqual(self.describe(key_id, PRIMARY)["Description"], "")
        grant = self.kms(REPLICA).create_grant(KeyId=key_id, Operations=["Decrypt"],
                                               GranteePrincipal=f"arn:aws:iam::{self.server.account_id}:root")
        self.assertEqual(len(self.kms(REPLICA).list_grants(KeyId=key_id)["Grants"]), 1)
        self.assertEqual(self.kms(PRIMARY).list_grants(KeyId=key_id)["Grants"], [])
        self.kms(REPLICA).revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])

    def test_rotation_is_shared_and_set_on_the_primary(self):
        key_id = self.mrk()["KeyId"]
        self.replicate(key_id)
        self.assertClientError("UnsupportedOperationException",
                               f"{self.arn(key_id, REPLICA)} is not a multi-region primary key.",
                               self.kms(REPLICA).enable_key_rotation, KeyId=key_id)
        self.assertClientError("UnsupportedOperationException", None,
                               self.kms(REPLICA).rotate_key_on_demand, KeyId=key_id)
        self.kms(PRIMARY).enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
        status = self.kms(REPLICA).get_key_rotation_status(KeyId=key_id)
        self.assertTrue(status["KeyRotationEnabled"])
        self.assertEqual(status["RotationPeriodInDays"], 90)
        before = self.describe(key_id, REPLICA)["CurrentKeyMaterialId"]
        self.kms(PRIMARY).rotate_key_on_demand(KeyId=key_id)
        after = self.describe(key_id, REPLICA)["CurrentKeyMaterialId"]
        self.assertNotEqual(before, after)
        self.assertEqual(after, self.describe(key_id, PRIMARY)["CurrentKeyMaterialId"])
        blob = self.kms(PRIMARY).encrypt(KeyId=key_id, Plaintext=b"new material")["CiphertextBlob"]
        self.assertEqual(self.kms(REPLICA).decrypt(CiphertextBlob=blob)["Plaintext"],
                         b"new material")
        # Automatic rotation, run by the primary, reaches the replica as well.
        self.server.advance_clock(91 * DAY)
        rotated = self.describe(key_id, REPLICA)["CurrentKeyMaterialId"]
        self.assertNotEqual(rotated, after)
        self.assertEqual(rotated, self.describe(key_id, PRIMARY)["CurrentKeyMaterialId"])

    def test_errors(self):
        single = self.kms(PRIMARY).create_key()["KeyMetadata"]
        self.assertClientError("UnsupportedOperationException",
                               f"{single['Arn']} is not a multi-region primary key.",
                               self.replicate, single["KeyId"])
        key_id = self.mrk()["KeyId"]
        self.replicate(key_id)
        self.assertClientError("UnsupportedOperationException",
                               f"{self.arn(key_id, REPLICA)} is not a multi-region primary key.",
                               self.kms(REPLICA).replicate_key, KeyId=key_id, ReplicaRegion=THIRD)
        self.assertClientError("AlreadyExistsException", None, self.replicate, key_id)
        self.assertClientError("AlreadyExistsException", None, self.replicate, key_id, PRIMARY)
        self.assertClientError("UnsupportedOperationException",
                               "Region eu-north-1 is not served by this server.",
                               self.replicate, key_id, "eu-north-1")
        self.assertClientError("ValidationException", None, self.replicate, key_id, "Mars-1")
        self.assertClientError("NotFoundException", None,
                               self.kms(PRIMARY).replicate_key,
                               KeyId="mrk-00000000000000000000000000000000", ReplicaRegion=THIRD)
        self.kms(PRIMARY).disable_key(KeyId=key_id)
        self.assertClientError("DisabledException", f"{self.arn(key_id, PRIMARY)} is disabled.",
                               self.replicate, key_id, THIRD)
        # Requests scoped to a region the server does not serve are refused before any KMS work.
        other = self.server.client("kms", region="eu-north-1")
        with self.assertRaises(botocore.exceptions.ClientError):
            other.list_keys()

    def test_replica_region_needs_create_key_there(self):
        iam = self.server.client("iam")
        iam.create_user(UserName="replicator")
        iam.put_user_policy(UserName="replicator", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["kms:CreateKey", "kms:ReplicateKey",
                                               "kms:DescribeKey"], "Resource": "*",
                 "Condition": {"StringEquals": {"aws:RequestedRegion": [PRIMARY, THIRD]}}}]}))
        created = iam.create_access_key(UserName="replicator")["AccessKey"]
        user = {r: self.server.client("kms", region=r, access_key_id=created["AccessKeyId"],
                                      secret_access_key=created["SecretAccessKey"])
                for r in (PRIMARY,)}
        key_id = user[PRIMARY].create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        denied = self.assertClientError("AccessDeniedException", None,
                                        user[PRIMARY].replicate_key, KeyId=key_id,
                                        ReplicaRegion=REPLICA)
        self.assertIn("kms:CreateKey", denied.response["Error"]["Message"])
        out = user[PRIMARY].replicate_key(KeyId=key_id, ReplicaRegion=THIRD)
        self.assertEqual(out["ReplicaKeyMetadata"]["Arn"], self.arn(key_id, THIRD))


class PrimaryRegionAndDeletionTest(MultiRegionTestCase):
    def test_update_primary_region(self):
        key_id = self.mrk()["KeyId"]
        self.replicate(key_id)
        self.replicate(key_id, THIRD)
        self.assertClientError("NotFoundException", None, self.kms(PRIMARY).update_primary_region,
                               KeyId=key_id, PrimaryRegion="us-west-2")
        self.assertClientError("UnsupportedOperationException", None,
                               self.kms(REPLICA).update_primary_region, KeyId=key_id,
                               PrimaryRegion=THIRD)
        self.kms(PRIMARY).update_primary_region(KeyId=key_id, PrimaryRegion=REPLICA)
        expected_replicas = sorted([PRIMARY, THIRD])
        for region in (PRIMARY, REPLICA, THIRD):
            config = self.describe(key_id, region)["MultiRegionConfiguration"]
            self.assertEqual(config["PrimaryKey"],
                             {"Arn": self.arn(key_id, REPLICA), "Region": REPLICA}, region)
            self.assertEqual(sorted(r["Region"] for r in config["ReplicaKeys"]),
                             expected_replicas, region)
            self.assertEqual(config["MultiRegionKeyType"],
                             "PRIMARY" if region == REPLICA else "REPLICA", region)
        # Rotation now belongs to the new primary; the old one is a replica.
        self.assertClientError("UnsupportedOperationException", None,
                               self.kms(PRIMARY).enable_key_rotation, KeyId=key_id)
        self.kms(REPLICA).enable_key_rotation(KeyId=key_id)
        self.assertTrue(self.kms(THIRD).get_key_rotation_status(KeyId=key_id)
                        ["KeyRotationEnabled"])
        self.kms(REPLICA).replicate_key(KeyId=key_id, ReplicaRegion="us-west-2")
        self.assertEqual(self.describe(key_id, "us-west-2")["MultiRegionConfiguration"]
                         ["PrimaryKey"]["Region"], REPLICA)

    def test_primary_waits_for_its_replicas_and_material_outlives_them(self):
        key_id = self.mrk()["KeyId"]
        self.replicate(key_id)
        blob = self.kms(REPLICA).encrypt(KeyId=key_id, Plaintext=b"keep")["CiphertextBlob"]
        scheduled = self.kms(PRIMARY).schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        self.assertEqual(scheduled["KeyState"], "PendingReplicaDeletion")
        self.assertNotIn("DeletionDate", scheduled)
        primary = self.describe(key_id, PRIMARY)
        self.assertEqual(primary["KeyState"], "PendingReplicaDeletion")
        self.assertEqual(primary["PendingDeletionWindowInDays"], 7)
        self.assertNotIn("DeletionDate", primary)
        self.assertClientError("KMSInvalidStateException",
                               f"{self.arn(key_id, PRIMARY)} is pending replica deletion.",
                               self.kms(PRIMARY).decrypt, CiphertextBlob=blob)
        # The primary waits however long its replica lives.
        self.server.advance_clock(40 * DAY)
        self.assertEqual(self.describe(key_id, PRIMARY)["KeyState"], "PendingReplicaDeletion")
        self.kms(REPLICA).schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        now = self.server.advance_clock(7 * DAY + 60)
        self.assertClientError("NotFoundException", None, self.describe, key_id, REPLICA)
        primary = self.describe(key_id, PRIMARY)
        self.assertEqual(primary["KeyState"], "PendingDeletion")
        self.assertEqual(primary["MultiRegionConfiguration"]["ReplicaKeys"], [])
        self.assertAlmostEqual(primary["DeletionDate"].timestamp(), now + 7 * DAY, delta=120)
        # Cancelled, the primary still holds the material the deleted replica sealed with.
        self.kms(PRIMARY).cancel_key_deletion(KeyId=key_id)
        self.kms(PRIMARY).enable_key(KeyId=key_id)
        self.assertEqual(self.kms(PRIMARY).decrypt(CiphertextBlob=blob)["Plaintext"], b"keep")
        # And the region can have a replica again, which opens the old ciphertext.
        self.replicate(key_id)
        self.assertEqual(self.kms(REPLICA).decrypt(CiphertextBlob=blob)["Plaintext"], b"keep")

    def test_cancel_pending_replica_deletion_and_restart(self):
        key_id = self.mrk()["KeyId"]
        self.replicate(key_id)
        blob = self.kms(PRIMARY).encrypt(KeyId=key_id, Plaintext=b"durable")["CiphertextBlob"]
        self.kms(PRIMARY).schedule_key_deletion(KeyId=key_id)
        self.assertEqual(self.kms(PRIMARY).cancel_key_deletion(KeyId=key_id)["KeyId"],
                         self.arn(key_id, PRIMARY))
        self.assertEqual(self.describe(key_id, PRIMARY)["KeyState"], "Disabled")
        self.server.restart()
        self.assertEqual(self.kms(REPLICA).decrypt(CiphertextBlob=blob)["Plaintext"], b"durable")
        config = self.describe(key_id, REPLICA)["MultiRegionConfiguration"]
        self.assertEqual(config["MultiRegionKeyType"], "REPLICA")

    def test_destroying_the_last_copy_shreds_the_material(self):
        key_id = self.mrk()["KeyId"]
        self.replicate(key_id)
        self.kms(REPLICA).schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        self.server.advance_clock(8 * DAY)
        self.assertEqual(self.material_documents(key_id), 1, "the primary keeps the material")
        self.kms(PRIMARY).schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        self.server.advance_clock(8 * DAY)
        self.assertEqual(self.material_documents(key_id), 0)

    def material_documents(self, key_id):
        return self.server.query_db(
            "SELECT COUNT(*) FROM documents WHERE collection = 'kms.material' "
            "AND CAST(partition AS TEXT) = ?", (key_id,))[0][0]


if __name__ == "__main__":
    unittest.main()
