"""Durability and concurrency: keys, aliases, tags, policies, rotation state and key material
survive a graceful restart (SIGTERM) and a crash (kill -9) after the client got its answer; and
concurrent clients neither lose updates nor break the server.

boto3 makes the changes; rotation and the state compared across restarts go as raw signed JSON
(clients.kms_json), which carries every member the server sends (key material ids, rotation
periods) whatever the installed botocore models: these tests are about the server's memory, not
the client, and run with Debian 12's boto3 too.
"""

import concurrent.futures
import unittest

from clients import kms_json
from harness import HangarTestCase, parse_timestamp

DAY = 86400


class RestartDurabilityTest(HangarTestCase):

    def kms(self):
        # A fresh client per phase: the server may come back on another port.
        return self.server.client("kms")

    def snapshot(self, key_ids):
        """Everything observable about the given keys and the account's aliases (as the server
        sends it: raw JSON)."""
        state = {"keys": {}}
        call = lambda operation, **params: kms_json(self.server, operation, **params)
        for key_id in key_ids:
            meta = call("DescribeKey", KeyId=key_id)["KeyMetadata"]
            entry = {"meta": meta,
                     "tags": call("ListResourceTags", KeyId=key_id)["Tags"],
                     "policy": call("GetKeyPolicy", KeyId=key_id, PolicyName="default")["Policy"]}
            if meta["KeyManager"] == "CUSTOMER" and meta["KeyState"] != "PendingDeletion":
                entry["rotation"] = call("GetKeyRotationStatus", KeyId=key_id)
                entry["rotations"] = call("ListKeyRotations", KeyId=key_id,
                                          IncludeKeyMaterial="ALL_KEY_MATERIAL")["Rotations"]
            state["keys"][key_id] = entry
        state["aliases"] = sorted(
            (a["AliasName"], a.get("TargetKeyId"), a.get("CreationDate"))
            for a in call("ListAliases", Limit=100)["Aliases"])
        state["listed"] = sorted(k["KeyId"] for k in call("ListKeys")["Keys"])
        return state

    def test_state_survives_graceful_restart(self):
        kms = self.kms()
        policy = ('{"Version":"2012-10-17","Statement":[{"Sid":"durable","Effect":"Allow",'
                  f'"Principal":{{"AWS":"arn:aws:iam::{self.server.account_id}:root"}},'
                  '"Action":"kms:*","Resource":"*"}]}')
        rich = kms.create_key(Description="durable key", Policy=policy,
                              Tags=[{"TagKey": "team", "TagValue": "storage"}])["KeyMetadata"]
        rich_id = rich["KeyId"]
        kms.tag_resource(KeyId=rich_id, Tags=[{"TagKey": "tier", "TagValue": "gold"}])
        kms.create_alias(AliasName="alias/durable", TargetKeyId=rich_id)
        before_rotation = kms.encrypt(KeyId=rich_id, Plaintext=b"v1",
                                      EncryptionContext={"a": "b"})["CiphertextBlob"]
        kms_json(self.server, "EnableKeyRotation", KeyId=rich_id, RotationPeriodInDays=120)
        kms_json(self.server, "RotateKeyOnDemand", KeyId=rich_id)
        after_rotation = kms.encrypt(KeyId="alias/durable", Plaintext=b"v2")["CiphertextBlob"]

        disabled = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.disable_key(KeyId=disabled)
        pending = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/pending", TargetKeyId=pending)
        kms.schedule_key_deletion(KeyId=pending, PendingWindowInDays=10)
        multi = kms.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
        managed = kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"]
        ids = [rich_id, disabled, pending, multi, managed]
        before = self.snapshot(ids)

        self.assertEqual(self.server.restart(), 0, "hangar did not exit cleanly on SIGTERM")
        kms = self.kms()
        self.assertEqual(self.snapshot(ids), before)
        self.assertEqual(kms.decrypt(CiphertextBlob=before_rotation,
                                     EncryptionContext={"a": "b"})["Plaintext"], b"v1")
        self.assertEqual(kms.decrypt(CiphertextBlob=after_rotation)["Plaintext"], b"v2")
        self.assertEqual(kms.get_key_policy(KeyId=rich_id, PolicyName="default")["Policy"],
                         policy)
        fresh = kms.encrypt(KeyId="alias/durable", Plaintext=b"v3")["CiphertextBlob"]
        self.assertEqual(kms.decrypt(CiphertextBlob=fresh)["Plaintext"], b"v3")
        # The same managed key, not a second one.
        self.assertEqual(kms.describe_key(KeyId="alias/aws/s3")["KeyMetadata"]["KeyId"], managed)
        # Deletion is still pending and still cancellable.
        kms.cancel_key_deletion(KeyId=pending)
        self.assertEqual(kms.describe_key(KeyId="alias/pending")["KeyMetadata"]["KeyState"],
                         "Disabled")

    def test_acknowledged_writes_survive_kill_9(self):
        kms = self.kms()
        key = kms.create_key(Description="crash test")["KeyMetadata"]
        kms.create_alias(AliasName="alias/crash", TargetKeyId=key["KeyId"])
        kms.tag_resource(KeyId=key["KeyId"], Tags=[{"TagKey": "crash", "TagValue": "yes"}])
        blob = kms.encrypt(KeyId="alias/crash", Plaintext=b"acknowledged")["CiphertextBlob"]
        kms_json(self.server, "RotateKeyOnDemand", KeyId=key["KeyId"])
        rotated = kms_json(self.server, "DescribeKey", KeyId=key["KeyId"])["KeyMetadata"][
            "CurrentKeyMaterialId"]
        burst = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(20)]
        last = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName="alias/crash-last", TargetKeyId=last)

        self.server.crash_restart()
        kms = self.kms()
        meta = kms_json(self.server, "DescribeKey", KeyId="alias/crash")["KeyMetadata"]
        self.assertEqual(meta["KeyId"], key["KeyId"])
        self.assertEqual(meta["Description"], "crash test")
        self.assertEqual(meta["CurrentKeyMaterialId"], rotated)
        self.assertEqual(kms.list_resource_tags(KeyId=key["KeyId"])["Tags"],
                         [{"TagKey": "crash", "TagValue": "yes"}])
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"acknowledged")
        self.assertEqual(kms.describe_key(KeyId="alias/crash-last")["KeyMetadata"]["KeyId"], last)
        listed = {k["KeyId"] for k in kms.list_keys(Limit=1000)["Keys"]}
        self.assertTrue(set(burst) | {last, key["KeyId"]} <= listed)


class RotationScheduleDurabilityTest(HangarTestCase):
    """Own server: moves the dev clock."""

    def test_automatic_rotation_and_schedule_survive_restart(self):
        kms = self.server.client("kms")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        old = kms.encrypt(KeyId=key_id, Plaintext=b"day 0")["CiphertextBlob"]
        kms_json(self.server, "EnableKeyRotation", KeyId=key_id, RotationPeriodInDays=90)
        self.server.advance_clock(91 * DAY)
        rotations = kms_json(self.server, "ListKeyRotations", KeyId=key_id)["Rotations"]
        self.assertEqual([r["RotationType"] for r in rotations], ["AUTOMATIC"])
        status = kms_json(self.server, "GetKeyRotationStatus", KeyId=key_id)

        self.assertEqual(self.server.restart(), 0)
        kms = self.server.client("kms")
        self.assertEqual(kms_json(self.server, "ListKeyRotations", KeyId=key_id)["Rotations"],
                         rotations)
        after = kms_json(self.server, "GetKeyRotationStatus", KeyId=key_id)
        self.assertIs(after["KeyRotationEnabled"], True)
        self.assertEqual(after["RotationPeriodInDays"], 90)
        self.assertEqual(parse_timestamp(after["NextRotationDate"]),
                         parse_timestamp(status["NextRotationDate"]))
        self.assertEqual(kms.decrypt(CiphertextBlob=old)["Plaintext"], b"day 0")


class ConcurrencyTest(HangarTestCase):

    def test_concurrent_tagging_loses_no_update(self):
        key_id = self.server.client("kms").create_key()["KeyMetadata"]["KeyId"]

        def tag(worker):
            kms = self.server.client("kms")
            for i in range(5):
                kms.tag_resource(KeyId=key_id,
                                 Tags=[{"TagKey": f"w{worker}-{i}", "TagValue": str(i)}])
            return worker

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            self.assertEqual(sorted(pool.map(tag, range(8))), list(range(8)))
        tags = self.server.client("kms").list_resource_tags(KeyId=key_id)["Tags"]
        self.assertEqual(len(tags), 40, tags)

    def test_concurrent_crypto_and_key_creation(self):
        kms = self.server.client("kms")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]

        def work(worker):
            client = self.server.client("kms")
            own = client.create_key(Description=f"worker {worker}")["KeyMetadata"]["KeyId"]
            for i in range(20):
                data = f"worker {worker} item {i}".encode()
                target = key_id if i % 2 else own
                blob = client.encrypt(KeyId=target, Plaintext=data,
                                      EncryptionContext={"w": str(worker)})["CiphertextBlob"]
                back = client.decrypt(CiphertextBlob=blob, EncryptionContext={"w": str(worker)})
                if back["Plaintext"] != data:
                    raise AssertionError(f"worker {worker} item {i} came back wrong")
                if i % 7 == 0:
                    kms_json(self.server, "RotateKeyOnDemand", KeyId=own)
            return own

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            owns = list(pool.map(work, range(8)))
        self.assertEqual(len(set(owns)), 8)
        for own in owns:
            self.assertEqual(
                len(kms_json(self.server, "ListKeyRotations", KeyId=own)["Rotations"]), 3)


if __name__ == "__main__":
    unittest.main()
