"""The KMS API for symmetric customer managed keys, driven with boto3 against the real server.

Expected codes and messages come from docs/reference/kms.md (section numbers in comments).
Where kms.md marks AWS's text as unverified [?], the test pins Hangar's current text and says so,
so that it is easy to change once AWS's text is known.

Newer parts of the API (DryRun, rotation on demand, key material ids, the optional PolicyName) have
tests of their own that `require` a botocore that models them (clients.py): with an older boto3
(Debian 12's) those fail naming the version they need, and everything else still runs.
"""

import json
import unittest
import uuid

from clients import (KMS_DEFAULT_POLICY_NAME, KMS_DRY_RUN, KMS_DRY_RUN_MODIFIERS,
                     KMS_KEY_MATERIAL_ID, KMS_ROTATION, require)
from harness import HangarTestCase, parse_timestamp

DAY = 86400
UUID_RE = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
DRY_RUN = "The request would have succeeded, but the DryRun option is set."
INCORRECT_KEY = ("The key ID in the request does not identify a CMK that can perform this "
                 "operation.")
ALIAS_PREFIX = ('Alias must start with the prefix "alias/". Please see '
                "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html")


def too_big(value, member, limit):
    return (f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
            f"constraint: Member must have value less than or equal to {limit}")


def too_small(value, member, limit):
    return (f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy "
            f"constraint: Member must have value greater than or equal to {limit}")


class KmsTestCase(HangarTestCase):
    """One server per class; `kms` validates parameters client-side like a user's client,
    `raw` does not, so that out-of-range values reach the server."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kms = cls.server.client("kms")
        cls.raw = cls.server.client("kms", validate=False)
        cls.account = cls.server.account_id

    def new_key(self, **kwargs):
        return self.kms.create_key(**kwargs)["KeyMetadata"]

    def key_arn(self, key_id, region="us-east-1"):
        return f"arn:aws:kms:{region}:{self.account}:key/{key_id}"

    def alias_arn(self, name):
        return f"arn:aws:kms:us-east-1:{self.account}:{name}"

    def all_alias_names(self):
        names, marker = [], None
        while True:
            page = self.kms.list_aliases(**({"Marker": marker} if marker else {}))
            names += [a["AliasName"] for a in page["Aliases"]]
            if not page["Truncated"]:
                return names
            marker = page["NextMarker"]

    def unique_alias(self, stem="test"):
        return f"alias/{stem}-{uuid.uuid4().hex[:12]}"

    def describe(self, key_id):
        return self.kms.describe_key(KeyId=key_id)["KeyMetadata"]

    def encrypt(self, key_id, plaintext=b"hello", **kwargs):
        return self.kms.encrypt(KeyId=key_id, Plaintext=plaintext, **kwargs)

    def get_policy(self, key_id):
        # PolicyName named: botocore < 1.34.65 requires it (test_policy_name_may_be_omitted).
        return self.kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]


class CreateAndDescribeKeyTest(KmsTestCase):

    def test_create_key_defaults_give_complete_symmetric_metadata(self):
        meta = self.new_key()
        self.assertRegex(meta["KeyId"], UUID_RE)
        self.assertEqual(meta["Arn"], self.key_arn(meta["KeyId"]))
        self.assertEqual(meta["AWSAccountId"], self.account)
        self.assertEqual(meta["Description"], "")
        self.assertIs(meta["Enabled"], True)
        self.assertEqual(meta["KeyState"], "Enabled")
        self.assertEqual(meta["KeyUsage"], "ENCRYPT_DECRYPT")
        self.assertEqual(meta["KeySpec"], "SYMMETRIC_DEFAULT")
        self.assertEqual(meta["CustomerMasterKeySpec"], "SYMMETRIC_DEFAULT")
        self.assertEqual(meta["EncryptionAlgorithms"], ["SYMMETRIC_DEFAULT"])
        self.assertEqual(meta["Origin"], "AWS_KMS")
        self.assertEqual(meta["KeyManager"], "CUSTOMER")
        self.assertIs(meta["MultiRegion"], False)
        self.assertNotIn("MultiRegionConfiguration", meta)
        self.assertNotIn("DeletionDate", meta)
        self.assertAlmostEqual(parse_timestamp(meta["CreationDate"]), self.server.clock_now(),
                               delta=60)
        self.assertEqual(self.describe(meta["KeyId"]), meta)

    def test_create_key_keeps_description_and_tags(self):
        tags = [{"TagKey": "team", "TagValue": "platform"}, {"TagKey": "empty", "TagValue": ""}]
        meta = self.new_key(Description="orders database key", Tags=tags)
        self.assertEqual(meta["Description"], "orders database key")
        listed = self.kms.list_resource_tags(KeyId=meta["KeyId"])
        self.assertEqual(sorted(listed["Tags"], key=lambda t: t["TagKey"]),
                         sorted(tags, key=lambda t: t["TagKey"]))
        self.assertIs(listed["Truncated"], False)

    def test_create_key_stores_the_policy_verbatim(self):
        # Odd spacing and member order: the policy must come back byte for byte.
        policy = ('{\n  "Id" : "my-policy",  "Version":"2012-10-17",\n'
                  '  "Statement": [ {"Sid": "Enable IAM User Permissions", "Effect": "Allow",'
                  f' "Principal": {{"AWS": "arn:aws:iam::{self.account}:root"}},'
                  ' "Action": "kms:*", "Resource": "*"} ]\n}\n')
        meta = self.new_key(Policy=policy)
        got = self.kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")
        self.assertEqual(got["Policy"], policy)

    def test_create_key_without_policy_gets_the_default_policy(self):
        meta = self.new_key()
        policy = json.loads(self.get_policy(meta["KeyId"]))
        self.assertEqual(policy, {
            "Version": "2012-10-17", "Id": "key-default-1",
            "Statement": [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                           "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"},
                           "Action": "kms:*", "Resource": "*"}]})

    def test_multi_region_key_has_mrk_id_and_primary_configuration(self):
        meta = self.new_key(MultiRegion=True)
        self.assertRegex(meta["KeyId"], r"^mrk-[0-9a-f]{32}$")
        self.assertEqual(meta["Arn"], self.key_arn(meta["KeyId"]))
        self.assertIs(meta["MultiRegion"], True)
        self.assertEqual(meta["MultiRegionConfiguration"], {
            "MultiRegionKeyType": "PRIMARY",
            "PrimaryKey": {"Arn": meta["Arn"], "Region": "us-east-1"},
            "ReplicaKeys": []})
        self.assertEqual(self.describe(meta["KeyId"])["MultiRegionConfiguration"],
                         meta["MultiRegionConfiguration"])
        blob = self.encrypt(meta["KeyId"], b"mrk data")["CiphertextBlob"]
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"mrk data")

    def test_non_symmetric_key_spec_without_key_usage_is_refused(self):
        self.assertClientError(
            "ValidationException",
            "You must specify a KeyUsage value for all KMS keys except for symmetric "
            "encryption keys.",
            self.kms.create_key, KeySpec="RSA_2048")

    def test_bad_key_usage_enum_is_a_validation_error(self):
        err = self.assertClientError("ValidationException", None, self.raw.create_key,
                                     KeyUsage="RANDOM")
        self.assertTrue(err.response["Error"]["Message"].startswith(
            "1 validation error detected: Value 'RANDOM' at 'keyUsage' failed to satisfy "
            "constraint: Member must satisfy enum value set: ["), err.response)

    def test_describe_key_accepts_id_arn_alias_name_and_alias_arn(self):
        meta = self.new_key()
        alias = self.unique_alias()
        self.kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
        for ref in (meta["KeyId"], meta["Arn"], alias, self.alias_arn(alias)):
            with self.subTest(ref=ref):
                self.assertEqual(self.describe(ref)["KeyId"], meta["KeyId"])

    def test_update_key_description(self):
        meta = self.new_key(Description="before")
        self.kms.update_key_description(KeyId=meta["KeyId"], Description="after")
        self.assertEqual(self.describe(meta["KeyId"])["Description"], "after")
        self.kms.update_key_description(KeyId=meta["Arn"], Description="")
        self.assertEqual(self.describe(meta["KeyId"])["Description"], "")

    def test_update_key_description_of_key_pending_deletion_is_invalid_state(self):
        meta = self.new_key()
        self.kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
        self.assertClientError("KMSInvalidStateException", f"{meta['Arn']} is pending deletion.",
                               self.kms.update_key_description, KeyId=meta["KeyId"],
                               Description="x")

    def test_disable_then_enable_key(self):
        meta = self.new_key()
        key_id = meta["KeyId"]
        self.kms.disable_key(KeyId=key_id)
        disabled = self.describe(key_id)
        self.assertEqual(disabled["KeyState"], "Disabled")
        self.assertIs(disabled["Enabled"], False)
        self.assertClientError("DisabledException", f"{meta['Arn']} is disabled.",
                               self.encrypt, key_id)
        self.kms.disable_key(KeyId=key_id)  # disabling twice is fine
        self.kms.enable_key(KeyId=meta["Arn"])
        enabled = self.describe(key_id)
        self.assertEqual(enabled["KeyState"], "Enabled")
        self.assertIs(enabled["Enabled"], True)
        self.encrypt(key_id)

    def test_enable_and_disable_of_key_pending_deletion_are_invalid_state(self):
        meta = self.new_key()
        self.kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
        message = f"{meta['Arn']} is pending deletion."
        self.assertClientError("KMSInvalidStateException", message, self.kms.enable_key,
                               KeyId=meta["KeyId"])
        self.assertClientError("KMSInvalidStateException", message, self.kms.disable_key,
                               KeyId=meta["KeyId"])

    def test_schedule_key_deletion_defaults_to_30_days(self):
        meta = self.new_key()
        now = self.server.clock_now()
        out = self.kms.schedule_key_deletion(KeyId=meta["KeyId"])
        self.assertEqual(out["KeyId"], meta["Arn"])
        self.assertEqual(out["KeyState"], "PendingDeletion")
        self.assertEqual(out["PendingWindowInDays"], 30)
        self.assertAlmostEqual(parse_timestamp(out["DeletionDate"]), now + 30 * DAY, delta=60)
        described = self.describe(meta["KeyId"])
        self.assertEqual(described["KeyState"], "PendingDeletion")
        self.assertIs(described["Enabled"], False)
        self.assertEqual(parse_timestamp(described["DeletionDate"]),
                         parse_timestamp(out["DeletionDate"]))

    def test_schedule_key_deletion_window_outside_7_to_30_is_a_validation_error(self):
        meta = self.new_key()
        # AWS's exact text is not recorded (kms.md §6, §16): Hangar's generic form is pinned.
        self.assertClientError("ValidationException", too_small(6, "pendingWindowInDays", 7),
                               self.kms.schedule_key_deletion, KeyId=meta["KeyId"],
                               PendingWindowInDays=6)
        self.assertClientError("ValidationException", too_big(31, "pendingWindowInDays", 30),
                               self.kms.schedule_key_deletion, KeyId=meta["KeyId"],
                               PendingWindowInDays=31)
        self.assertEqual(self.describe(meta["KeyId"])["KeyState"], "Enabled")

    def test_cancel_key_deletion_of_key_not_pending_is_invalid_state(self):
        meta = self.new_key()
        # kms.md §5 footnote [4]; the recorded form of [3] has no parenthesis, so neither here.
        self.assertClientError("KMSInvalidStateException",
                               f"{meta['Arn']} is not pending deletion.",
                               self.kms.cancel_key_deletion, KeyId=meta["KeyId"])

    def test_cancel_key_deletion_returns_key_to_disabled(self):
        meta = self.new_key()
        self.kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
        self.assertEqual(self.kms.cancel_key_deletion(KeyId=meta["Arn"])["KeyId"], meta["Arn"])
        described = self.describe(meta["KeyId"])
        self.assertEqual(described["KeyState"], "Disabled")
        self.assertNotIn("DeletionDate", described)

    def test_list_keys_includes_disabled_and_pending_deletion_keys(self):
        disabled, pending = self.new_key()["KeyId"], self.new_key()["KeyId"]
        self.kms.disable_key(KeyId=disabled)
        self.kms.schedule_key_deletion(KeyId=pending, PendingWindowInDays=7)
        listed = {k["KeyId"] for k in self.kms.list_keys(Limit=1000)["Keys"]}
        self.assertIn(disabled, listed)
        self.assertIn(pending, listed)


class ListKeysTest(KmsTestCase):
    """Own server: ListKeys sees exactly the keys created here."""

    def test_list_keys_pages_with_limit_and_marker(self):
        created = {self.new_key()["KeyId"] for _ in range(7)}
        pages, marker = [], None
        while True:
            kwargs = {"Limit": 3}
            if marker:
                kwargs["Marker"] = marker
            page = self.kms.list_keys(**kwargs)
            pages.append(page)
            if not page["Truncated"]:
                self.assertNotIn("NextMarker", page)
                break
            marker = page["NextMarker"]
            self.assertTrue(marker)
            self.assertLessEqual(len(pages), 5, "paging does not terminate")
        self.assertEqual([len(p["Keys"]) for p in pages], [3, 3, 1])
        self.assertEqual([p["Truncated"] for p in pages], [True, True, False])
        listed = [k["KeyId"] for p in pages for k in p["Keys"]]
        self.assertEqual(len(listed), len(set(listed)), "a key was listed twice")
        self.assertEqual(set(listed), created)
        for p in pages:
            for k in p["Keys"]:
                self.assertEqual(k["KeyArn"], self.key_arn(k["KeyId"]))
        everything = self.kms.list_keys()
        self.assertIs(everything["Truncated"], False)
        self.assertEqual({k["KeyId"] for k in everything["Keys"]}, created)

    def test_list_keys_limit_out_of_range(self):
        self.assertClientError("ValidationException", too_small(0, "limit", 1),
                               self.raw.list_keys, Limit=0)
        self.assertClientError("ValidationException", too_big(1001, "limit", 1000),
                               self.raw.list_keys, Limit=1001)

    def test_list_keys_bad_marker(self):
        self.assertClientError("InvalidMarkerException", None, self.kms.list_keys,
                               Marker="not-a-marker")


class AliasTest(KmsTestCase):

    def test_create_list_update_delete_alias(self):
        first, second = self.new_key(), self.new_key()
        alias = self.unique_alias("lifecycle")
        self.kms.create_alias(AliasName=alias, TargetKeyId=first["KeyId"])
        listed = self.kms.list_aliases(KeyId=first["KeyId"])
        self.assertIs(listed["Truncated"], False)
        self.assertEqual(len(listed["Aliases"]), 1)
        entry = listed["Aliases"][0]
        self.assertEqual(entry["AliasName"], alias)
        self.assertEqual(entry["AliasArn"], self.alias_arn(alias))
        self.assertEqual(entry["TargetKeyId"], first["KeyId"])
        created = parse_timestamp(entry["CreationDate"])
        self.assertAlmostEqual(created, self.server.clock_now(), delta=60)
        self.assertGreaterEqual(parse_timestamp(entry["LastUpdatedDate"]), created)
        self.assertIn(alias, self.all_alias_names())

        self.kms.update_alias(AliasName=alias, TargetKeyId=second["Arn"])
        self.assertEqual(self.describe(alias)["KeyId"], second["KeyId"])
        self.assertEqual(self.kms.list_aliases(KeyId=first["KeyId"])["Aliases"], [])
        moved = self.kms.list_aliases(KeyId=second["Arn"])["Aliases"]
        self.assertEqual([a["AliasName"] for a in moved], [alias])
        self.assertEqual(parse_timestamp(moved[0]["CreationDate"]), created)

        self.kms.delete_alias(AliasName=alias)
        self.assertNotIn(alias, self.all_alias_names())
        not_found = f"Alias {self.alias_arn(alias)} is not found."
        self.assertClientError("NotFoundException", not_found, self.kms.delete_alias,
                               AliasName=alias)
        self.assertClientError("NotFoundException", not_found, self.describe, alias)
        self.assertClientError("NotFoundException", not_found, self.kms.update_alias,
                               AliasName=alias, TargetKeyId=first["KeyId"])

    def test_alias_works_for_encrypt_and_decrypt(self):
        meta = self.new_key()
        alias = self.unique_alias()
        self.kms.create_alias(AliasName=alias, TargetKeyId=meta["Arn"])
        for ref in (alias, self.alias_arn(alias)):
            with self.subTest(ref=ref):
                out = self.encrypt(ref, b"via alias")
                self.assertEqual(out["KeyId"], meta["Arn"])
                back = self.kms.decrypt(CiphertextBlob=out["CiphertextBlob"], KeyId=ref)
                self.assertEqual(back["Plaintext"], b"via alias")

    def test_duplicate_alias_is_already_exists(self):
        first, second = self.new_key(), self.new_key()
        alias = self.unique_alias("dup")
        self.kms.create_alias(AliasName=alias, TargetKeyId=first["KeyId"])
        self.assertClientError("AlreadyExistsException",
                               f"An alias with the name {self.alias_arn(alias)} already exists",
                               self.kms.create_alias, AliasName=alias,
                               TargetKeyId=second["KeyId"])
        self.assertEqual(self.describe(alias)["KeyId"], first["KeyId"])

    def test_alias_without_prefix_is_a_validation_error(self):
        meta = self.new_key()
        self.assertClientError("ValidationException", ALIAS_PREFIX, self.kms.create_alias,
                               AliasName="cloud_user", TargetKeyId=meta["KeyId"])

    def test_alias_with_invalid_characters_is_a_validation_error(self):
        meta = self.new_key()
        self.assertClientError(
            "ValidationException",
            "1 validation error detected: Value 'alias/has space' at 'aliasName' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: "
            "^[a-zA-Z0-9:/_-]+$",
            self.kms.create_alias, AliasName="alias/has space", TargetKeyId=meta["KeyId"])

    def test_reserved_aws_prefix_is_refused(self):
        meta = self.new_key()
        # The code and text are not recorded against AWS (kms.md §3, §16); Hangar's are pinned.
        message = "Alias names beginning with alias/aws/ are reserved for AWS managed keys."
        self.assertClientError("InvalidAliasNameException", message, self.kms.create_alias,
                               AliasName="alias/aws/mine", TargetKeyId=meta["KeyId"])
        self.assertClientError("InvalidAliasNameException", message, self.kms.update_alias,
                               AliasName="alias/aws/s3", TargetKeyId=meta["KeyId"])
        self.assertClientError("InvalidAliasNameException", message, self.kms.delete_alias,
                               AliasName="alias/aws/s3")

    def test_alias_to_unknown_key_is_not_found(self):
        missing = str(uuid.uuid4())
        self.assertClientError("NotFoundException", f"Key '{self.key_arn(missing)}' does not exist",
                               self.kms.create_alias, AliasName=self.unique_alias(),
                               TargetKeyId=missing)

    def test_alias_to_key_pending_deletion_is_invalid_state(self):
        meta = self.new_key()
        self.kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
        self.assertClientError("KMSInvalidStateException", f"{meta['Arn']} is pending deletion.",
                               self.kms.create_alias, AliasName=self.unique_alias(),
                               TargetKeyId=meta["KeyId"])

    def test_list_aliases_filters_by_key_and_pages(self):
        meta, other = self.new_key(), self.new_key()
        mine = {self.unique_alias("page") for _ in range(5)}
        for name in mine:
            self.kms.create_alias(AliasName=name, TargetKeyId=meta["KeyId"])
        self.kms.create_alias(AliasName=self.unique_alias("other"), TargetKeyId=other["KeyId"])
        pages, marker = [], None
        while True:
            kwargs = {"KeyId": meta["KeyId"], "Limit": 2}
            if marker:
                kwargs["Marker"] = marker
            page = self.kms.list_aliases(**kwargs)
            pages.append(page)
            if not page["Truncated"]:
                self.assertNotIn("NextMarker", page)
                break
            marker = page["NextMarker"]
            self.assertLessEqual(len(pages), 5, "paging does not terminate")
        self.assertEqual([len(p["Aliases"]) for p in pages], [2, 2, 1])
        names = [a["AliasName"] for p in pages for a in p["Aliases"]]
        self.assertEqual(len(names), len(set(names)))
        self.assertEqual(set(names), mine)
        self.assertTrue(all(a["TargetKeyId"] == meta["KeyId"]
                            for p in pages for a in p["Aliases"]))

    def test_more_than_50_aliases_per_key_is_limit_exceeded(self):
        meta = self.new_key()
        for i in range(50):
            self.kms.create_alias(AliasName=f"alias/many-{meta['KeyId']}-{i}",
                                  TargetKeyId=meta["KeyId"])
        # Quota of 50 aliases per key (kms.md §14); AWS's text is not recorded: code only.
        self.assertClientError("LimitExceededException", None, self.kms.create_alias,
                               AliasName=f"alias/many-{meta['KeyId']}-50",
                               TargetKeyId=meta["KeyId"])

    def test_list_aliases_limit_out_of_range(self):
        self.assertClientError("ValidationException", too_big(101, "limit", 100),
                               self.raw.list_aliases, Limit=101)
        self.assertClientError("ValidationException", too_small(0, "limit", 1),
                               self.raw.list_aliases, Limit=0)


class TagTest(KmsTestCase):

    def tags_of(self, key_id):
        return {t["TagKey"]: t["TagValue"]
                for t in self.kms.list_resource_tags(KeyId=key_id)["Tags"]}

    def test_tag_retag_and_untag(self):
        meta = self.new_key(Tags=[{"TagKey": "env", "TagValue": "dev"}])
        self.kms.tag_resource(KeyId=meta["KeyId"], Tags=[
            {"TagKey": "owner", "TagValue": "alice"}, {"TagKey": "env", "TagValue": "prod"}])
        self.assertEqual(self.tags_of(meta["KeyId"]), {"env": "prod", "owner": "alice"})
        self.kms.untag_resource(KeyId=meta["Arn"], TagKeys=["owner", "not-there"])
        self.assertEqual(self.tags_of(meta["KeyId"]), {"env": "prod"})

    def test_reserved_aws_prefix_in_any_case_is_refused(self):
        meta = self.new_key()
        for key in ("aws:owner", "AWS:owner", "Aws:x"):
            with self.subTest(key=key):
                self.assertClientError("TagException", "Tags beginning with aws: are reserved",
                                       self.kms.tag_resource, KeyId=meta["KeyId"],
                                       Tags=[{"TagKey": key, "TagValue": "v"}])
        self.assertClientError("TagException", "Tags beginning with aws: are reserved",
                               self.kms.create_key, Tags=[{"TagKey": "aws:x", "TagValue": ""}])
        self.assertEqual(self.tags_of(meta["KeyId"]), {})

    def test_duplicate_tag_keys_are_refused(self):
        meta = self.new_key()
        self.assertClientError("TagException", "Duplicate tag keys", self.kms.tag_resource,
                               KeyId=meta["KeyId"],
                               Tags=[{"TagKey": "a", "TagValue": "1"},
                                     {"TagKey": "a", "TagValue": "2"}])

    def test_more_than_50_tags_are_refused(self):
        tags = [{"TagKey": f"k{i:02d}", "TagValue": str(i)} for i in range(51)]
        self.assertClientError("TagException", "Too many tags", self.kms.create_key, Tags=tags)
        meta = self.new_key(Tags=tags[:50])
        self.assertEqual(len(self.tags_of(meta["KeyId"])), 50)
        # Re-tagging existing keys does not count against the limit; a 51st key does.
        self.kms.tag_resource(KeyId=meta["KeyId"], Tags=[{"TagKey": "k00", "TagValue": "new"}])
        self.assertClientError("TagException", "Too many tags", self.kms.tag_resource,
                               KeyId=meta["KeyId"], Tags=[tags[50]])
        self.assertEqual(self.tags_of(meta["KeyId"])["k00"], "new")
        self.assertEqual(len(self.tags_of(meta["KeyId"])), 50)

    def test_tag_key_and_value_length_limits(self):
        meta = self.new_key()
        long_key, long_value = "k" * 129, "v" * 257
        self.assertClientError(
            "ValidationException",
            f"1 validation error detected: Value '{long_key}' at 'tags.1.member.tagKey' failed "
            "to satisfy constraint: Member must have length less than or equal to 128",
            self.kms.tag_resource, KeyId=meta["KeyId"],
            Tags=[{"TagKey": long_key, "TagValue": ""}])
        self.assertClientError(
            "ValidationException",
            f"1 validation error detected: Value '{long_value}' at 'tags.1.member.tagValue' "
            "failed to satisfy constraint: Member must have length less than or equal to 256",
            self.kms.tag_resource, KeyId=meta["KeyId"],
            Tags=[{"TagKey": "ok", "TagValue": long_value}])
        self.kms.tag_resource(KeyId=meta["KeyId"],
                              Tags=[{"TagKey": "k" * 128, "TagValue": "v" * 256}])

    def test_list_resource_tags_pages(self):
        tags = [{"TagKey": f"t{i}", "TagValue": str(i)} for i in range(5)]
        meta = self.new_key(Tags=tags)
        seen, marker, pages = [], None, 0
        while True:
            kwargs = {"KeyId": meta["KeyId"], "Limit": 2}
            if marker:
                kwargs["Marker"] = marker
            page = self.kms.list_resource_tags(**kwargs)
            pages += 1
            self.assertLessEqual(len(page["Tags"]), 2)
            seen += page["Tags"]
            if not page["Truncated"]:
                break
            marker = page["NextMarker"]
            self.assertLessEqual(pages, 5)
        self.assertEqual(pages, 3)
        self.assertEqual(sorted(seen, key=lambda t: t["TagKey"]), tags)
        self.assertClientError("ValidationException", too_big(51, "limit", 50),
                               self.raw.list_resource_tags, KeyId=meta["KeyId"], Limit=51)

    def test_tagging_key_pending_deletion_is_invalid_state(self):
        meta = self.new_key(Tags=[{"TagKey": "a", "TagValue": "b"}])
        self.kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
        message = f"{meta['Arn']} is pending deletion."
        self.assertClientError("KMSInvalidStateException", message, self.kms.tag_resource,
                               KeyId=meta["KeyId"], Tags=[{"TagKey": "c", "TagValue": "d"}])
        self.assertClientError("KMSInvalidStateException", message, self.kms.untag_resource,
                               KeyId=meta["KeyId"], TagKeys=["a"])
        self.assertEqual(self.tags_of(meta["KeyId"]), {"a": "b"})  # listing still works


class KeyPolicyTest(KmsTestCase):

    def policy(self, sid="Enable IAM User Permissions"):
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": sid, "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"},
            "Action": "kms:*", "Resource": "*"}]}, indent=3)

    def test_list_key_policies_is_default(self):
        meta = self.new_key()
        out = self.kms.list_key_policies(KeyId=meta["KeyId"])
        self.assertEqual(out["PolicyNames"], ["default"])
        self.assertIs(out["Truncated"], False)

    def test_put_key_policy_round_trips_verbatim(self):
        meta = self.new_key()
        policy = self.policy("Replaced")
        self.kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=policy)
        self.assertEqual(self.get_policy(meta["Arn"]), policy)

    def test_invalid_policy_json_is_malformed_policy_document(self):
        meta = self.new_key()
        before = self.get_policy(meta["KeyId"])
        for bad in ('{"Version": "2012-10-17", "Statement": [', "not json", "[]"):
            with self.subTest(policy=bad):
                self.assertClientError("MalformedPolicyDocumentException", None,
                                       self.kms.put_key_policy, KeyId=meta["KeyId"],
                                       PolicyName="default", Policy=bad)
        self.assertClientError("MalformedPolicyDocumentException", None, self.kms.create_key,
                               Policy="{")
        self.assertEqual(self.get_policy(meta["KeyId"]), before)

    def test_policy_over_32_kib_is_limit_exceeded(self):
        meta = self.new_key()
        doc = json.loads(self.policy())
        doc["Statement"][0]["Sid"] = "x" * (33 * 1024)
        self.assertClientError("LimitExceededException", None, self.kms.put_key_policy,
                               KeyId=meta["KeyId"], PolicyName="default", Policy=json.dumps(doc))

    def test_policy_can_be_read_and_replaced_while_pending_deletion(self):
        meta = self.new_key()
        self.kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
        policy = self.policy("Pending")
        self.kms.put_key_policy(KeyId=meta["KeyId"], PolicyName="default", Policy=policy)
        self.assertEqual(self.get_policy(meta["KeyId"]), policy)

    def test_policy_name_may_be_omitted(self):
        # kms.md §2: PolicyName is optional (no asterisk); GetKeyPolicy answers with it.
        require(self, KMS_DEFAULT_POLICY_NAME)
        meta = self.new_key()
        got = self.kms.get_key_policy(KeyId=meta["KeyId"])
        self.assertEqual(got["PolicyName"], "default")
        self.assertEqual(got["Policy"], self.get_policy(meta["KeyId"]))
        self.assertEqual(self.kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")
                         ["PolicyName"], "default")
        policy = self.policy("Unnamed")
        self.kms.put_key_policy(KeyId=meta["KeyId"], Policy=policy)
        self.assertEqual(self.kms.get_key_policy(KeyId=meta["KeyId"])["Policy"], policy)


class RotationTest(KmsTestCase):
    """Needs the rotation API of 2024 (botocore >= 1.34.84); some tests also key material ids."""

    def status(self, key_id):
        return self.kms.get_key_rotation_status(KeyId=key_id)

    def test_rotation_is_off_by_default(self):
        require(self, KMS_ROTATION)
        meta = self.new_key()
        out = self.status(meta["KeyId"])
        self.assertIs(out["KeyRotationEnabled"], False)
        self.assertEqual(out["KeyId"], meta["Arn"])
        self.assertNotIn("NextRotationDate", out)
        self.assertEqual(self.kms.list_key_rotations(KeyId=meta["KeyId"])["Rotations"], [])

    def test_enable_rotation_with_period_and_next_rotation_date(self):
        require(self, KMS_ROTATION)
        meta = self.new_key()
        now = self.server.clock_now()
        self.kms.enable_key_rotation(KeyId=meta["KeyId"], RotationPeriodInDays=90)
        out = self.status(meta["KeyId"])
        self.assertIs(out["KeyRotationEnabled"], True)
        self.assertEqual(out["RotationPeriodInDays"], 90)
        self.assertAlmostEqual(parse_timestamp(out["NextRotationDate"]), now + 90 * DAY, delta=60)
        self.kms.enable_key_rotation(KeyId=meta["KeyId"], RotationPeriodInDays=2560)
        self.assertEqual(self.status(meta["KeyId"])["RotationPeriodInDays"], 2560)
        self.kms.disable_key_rotation(KeyId=meta["KeyId"])
        off = self.status(meta["KeyId"])
        self.assertIs(off["KeyRotationEnabled"], False)
        self.assertNotIn("NextRotationDate", off)

    def test_enable_rotation_default_period_is_365_days(self):
        require(self, KMS_ROTATION)
        meta = self.new_key()
        self.kms.enable_key_rotation(KeyId=meta["KeyId"])
        self.assertEqual(self.status(meta["KeyId"])["RotationPeriodInDays"], 365)

    def test_rotation_period_out_of_range(self):
        require(self, KMS_ROTATION)
        meta = self.new_key()
        self.assertClientError("ValidationException", too_small(89, "rotationPeriodInDays", 90),
                               self.raw.enable_key_rotation, KeyId=meta["KeyId"],
                               RotationPeriodInDays=89)
        self.assertClientError("ValidationException",
                               too_big(2561, "rotationPeriodInDays", 2560),
                               self.raw.enable_key_rotation, KeyId=meta["KeyId"],
                               RotationPeriodInDays=2561)
        self.assertIs(self.status(meta["KeyId"])["KeyRotationEnabled"], False)

    def test_rotate_on_demand_keeps_old_ciphertexts_decryptable(self):
        require(self, KMS_ROTATION, KMS_KEY_MATERIAL_ID)
        meta = self.new_key()
        key_id, first_material = meta["KeyId"], meta["CurrentKeyMaterialId"]
        old = self.encrypt(key_id, b"before rotation")["CiphertextBlob"]
        self.assertEqual(self.kms.rotate_key_on_demand(KeyId=key_id)["KeyId"], meta["Arn"])
        second_material = self.describe(key_id)["CurrentKeyMaterialId"]
        self.assertRegex(second_material, r"^[0-9a-f]{64}$")
        self.assertNotEqual(second_material, first_material)

        rotations = self.kms.list_key_rotations(KeyId=key_id)
        self.assertIs(rotations["Truncated"], False)
        self.assertEqual(len(rotations["Rotations"]), 1)
        entry = rotations["Rotations"][0]
        self.assertEqual(entry["KeyId"], meta["Arn"])
        self.assertEqual(entry["KeyMaterialId"], second_material)
        self.assertEqual(entry["RotationType"], "ON_DEMAND")
        self.assertEqual(entry["KeyMaterialState"], "CURRENT")
        self.assertAlmostEqual(parse_timestamp(entry["RotationDate"]), self.server.clock_now(),
                               delta=60)

        back = self.kms.decrypt(CiphertextBlob=old)
        self.assertEqual(back["Plaintext"], b"before rotation")
        self.assertEqual(back["KeyMaterialId"], first_material)
        new = self.encrypt(key_id, b"after rotation")["CiphertextBlob"]
        back = self.kms.decrypt(CiphertextBlob=new)
        self.assertEqual(back["Plaintext"], b"after rotation")
        self.assertEqual(back["KeyMaterialId"], second_material)
        self.assertEqual(self.kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
                         ["KeyMaterialId"], second_material)

        everything = self.kms.list_key_rotations(KeyId=key_id,
                                                 IncludeKeyMaterial="ALL_KEY_MATERIAL")
        states = {r["KeyMaterialId"]: r["KeyMaterialState"] for r in everything["Rotations"]}
        self.assertEqual(states, {first_material: "NON_CURRENT", second_material: "CURRENT"})

    def test_list_key_rotations_pages(self):
        require(self, KMS_ROTATION, KMS_KEY_MATERIAL_ID)
        meta = self.new_key()
        for _ in range(3):
            self.kms.rotate_key_on_demand(KeyId=meta["KeyId"])
        seen, marker = [], None
        for _ in range(5):
            kwargs = {"KeyId": meta["KeyId"], "Limit": 2}
            if marker:
                kwargs["Marker"] = marker
            page = self.kms.list_key_rotations(**kwargs)
            seen += page["Rotations"]
            if not page["Truncated"]:
                break
            marker = page["NextMarker"]
        self.assertEqual(len(seen), 3)
        self.assertEqual(len({r["KeyMaterialId"] for r in seen}), 3)
        self.assertEqual([r["KeyMaterialState"] for r in seen].count("CURRENT"), 1)

    def test_on_demand_rotations_are_limited_to_10_per_key(self):
        # §10: the API reference's and the 2025 recording's quota (botocore's model says 25;
        # --max-on-demand-rotations changes it).
        require(self, KMS_ROTATION)
        meta = self.new_key()
        for _ in range(10):
            self.kms.rotate_key_on_demand(KeyId=meta["KeyId"])
        self.assertClientError(
            "LimitExceededException",
            "The on-demand rotations limit has been reached for the given keyId. No more "
            f"on-demand rotations can be performed for this key: {meta['Arn']}",
            self.kms.rotate_key_on_demand, KeyId=meta["KeyId"])
        rotations = self.kms.list_key_rotations(KeyId=meta["KeyId"], Limit=1000)["Rotations"]
        self.assertEqual(len(rotations), 10)

    def test_rotate_disabled_key_is_disabled_exception(self):
        require(self, KMS_ROTATION)
        meta = self.new_key()
        self.kms.disable_key(KeyId=meta["KeyId"])
        self.assertClientError("DisabledException", f"{meta['Arn']} is disabled.",
                               self.kms.rotate_key_on_demand, KeyId=meta["KeyId"])

    def test_rotate_unknown_key_is_not_found(self):
        require(self, KMS_ROTATION)
        missing = str(uuid.uuid4())
        self.assertClientError("NotFoundException", f"Key '{self.key_arn(missing)}' does not exist",
                               self.kms.rotate_key_on_demand, KeyId=missing)

    def test_rotation_status_reads_off_while_pending_deletion_and_returns_on_cancel(self):
        require(self, KMS_ROTATION)
        meta = self.new_key()
        self.kms.enable_key_rotation(KeyId=meta["KeyId"], RotationPeriodInDays=180)
        self.kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
        self.assertIs(self.status(meta["KeyId"])["KeyRotationEnabled"], False)
        self.kms.cancel_key_deletion(KeyId=meta["KeyId"])
        out = self.status(meta["KeyId"])
        self.assertIs(out["KeyRotationEnabled"], True)
        self.assertEqual(out["RotationPeriodInDays"], 180)


class AutomaticRotationTest(KmsTestCase):
    """Own server: this class moves the dev clock."""

    def test_automatic_rotation_on_the_dev_clock(self):
        require(self, KMS_ROTATION, KMS_KEY_MATERIAL_ID)
        rotating = self.new_key()
        key_id, first_material = rotating["KeyId"], rotating["CurrentKeyMaterialId"]
        still = self.new_key()  # rotation never enabled
        paused = self.new_key()  # rotation enabled, but the key is disabled when it falls due
        old = self.encrypt(key_id, b"encrypted on day 0")["CiphertextBlob"]
        start = self.server.clock_now()
        self.kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
        self.kms.enable_key_rotation(KeyId=paused["KeyId"], RotationPeriodInDays=90)
        self.kms.disable_key(KeyId=paused["KeyId"])
        next_date = parse_timestamp(
            self.kms.get_key_rotation_status(KeyId=key_id)["NextRotationDate"])
        self.assertAlmostEqual(next_date, start + 90 * DAY, delta=60)

        self.server.advance_clock(89 * DAY)
        self.assertEqual(self.kms.list_key_rotations(KeyId=key_id)["Rotations"], [])
        now = self.server.advance_clock(2 * DAY)  # day 91

        rotations = self.kms.list_key_rotations(KeyId=key_id)["Rotations"]
        self.assertEqual(len(rotations), 1, rotations)
        entry = rotations[0]
        self.assertEqual(entry["RotationType"], "AUTOMATIC")
        self.assertEqual(entry["KeyMaterialState"], "CURRENT")
        self.assertEqual(entry["KeyId"], rotating["Arn"])
        self.assertNotEqual(entry["KeyMaterialId"], first_material)
        self.assertLessEqual(parse_timestamp(entry["RotationDate"]), now + 1)
        self.assertGreaterEqual(parse_timestamp(entry["RotationDate"]), next_date - 1)
        self.assertEqual(self.describe(key_id)["CurrentKeyMaterialId"], entry["KeyMaterialId"])

        status = self.kms.get_key_rotation_status(KeyId=key_id)
        self.assertIs(status["KeyRotationEnabled"], True)
        upcoming = parse_timestamp(status["NextRotationDate"])
        self.assertGreater(upcoming, now)
        self.assertLessEqual(upcoming, now + 90 * DAY + 60)

        back = self.kms.decrypt(CiphertextBlob=old)
        self.assertEqual(back["Plaintext"], b"encrypted on day 0")
        self.assertEqual(back["KeyMaterialId"], first_material)
        fresh = self.kms.decrypt(CiphertextBlob=self.encrypt(key_id, b"day 91")["CiphertextBlob"])
        self.assertEqual(fresh["KeyMaterialId"], entry["KeyMaterialId"])

        self.assertEqual(self.kms.list_key_rotations(KeyId=still["KeyId"])["Rotations"], [])
        self.assertEqual(self.kms.list_key_rotations(KeyId=paused["KeyId"])["Rotations"], [])
        self.assertEqual(self.describe(paused["KeyId"])["CurrentKeyMaterialId"],
                         paused["CurrentKeyMaterialId"])


class CryptoTest(KmsTestCase):

    CONTEXT = {"purpose": "e2e", "user": "alice"}

    def test_encrypt_decrypt_round_trip_without_key_id(self):
        meta = self.new_key()
        for size in (1, 17, 4096):
            with self.subTest(size=size):
                data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
                out = self.encrypt(meta["KeyId"], data)
                self.assertEqual(out["KeyId"], meta["Arn"])
                self.assertEqual(out["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
                self.assertLessEqual(len(out["CiphertextBlob"]), 6144)
                back = self.kms.decrypt(CiphertextBlob=out["CiphertextBlob"])
                self.assertEqual(back["Plaintext"], data)
                self.assertEqual(back["KeyId"], meta["Arn"])
                self.assertEqual(back["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT")

    def test_responses_name_the_key_material(self):
        # CreateKey/DescribeKey name the current key material; what uses it (Decrypt,
        # GenerateDataKey*, ReEncrypt) names the material it used.
        require(self, KMS_KEY_MATERIAL_ID)
        meta, other = self.new_key(), self.new_key()
        material = meta["CurrentKeyMaterialId"]
        self.assertRegex(material, r"^[0-9a-f]{64}$")
        self.assertEqual(self.describe(meta["KeyId"])["CurrentKeyMaterialId"], material)
        self.assertNotEqual(other["CurrentKeyMaterialId"], material)
        blob = self.encrypt(meta["KeyId"], b"material")["CiphertextBlob"]
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["KeyMaterialId"], material)
        for kwargs in ({"KeySpec": "AES_256"}, {"NumberOfBytes": 64}):
            with self.subTest(**kwargs):
                out = self.kms.generate_data_key(KeyId=meta["KeyId"], **kwargs)
                self.assertEqual(out["KeyMaterialId"], material)
                out = self.kms.generate_data_key_without_plaintext(KeyId=meta["KeyId"], **kwargs)
                self.assertEqual(out["KeyMaterialId"], material)
        out = self.kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=other["KeyId"])
        self.assertEqual(out["SourceKeyMaterialId"], material)
        self.assertEqual(out["DestinationKeyMaterialId"], other["CurrentKeyMaterialId"])

    def test_plaintext_over_4096_bytes_is_a_validation_error(self):
        meta = self.new_key()
        self.assertClientError(
            "ValidationException",
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
            "Member must have length less than or equal to 4096",
            self.encrypt, meta["KeyId"], b"x" * 4097)

    def test_encryption_context_must_match_exactly(self):
        meta = self.new_key()
        blob = self.encrypt(meta["KeyId"], b"bound", EncryptionContext=self.CONTEXT)[
            "CiphertextBlob"]
        reordered = {"user": "alice", "purpose": "e2e"}
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob, EncryptionContext=reordered)
                         ["Plaintext"], b"bound")
        for context in (None, {}, {"purpose": "e2e"}, {"purpose": "e2e", "user": "bob"},
                        {"purpose": "e2e", "User": "alice"},
                        dict(self.CONTEXT, extra="x")):
            with self.subTest(context=context):
                kwargs = {} if context is None else {"EncryptionContext": context}
                self.assertClientError("InvalidCiphertextException", "", self.kms.decrypt,
                                       CiphertextBlob=blob, **kwargs)
        unbound = self.encrypt(meta["KeyId"], b"unbound")["CiphertextBlob"]
        self.assertClientError("InvalidCiphertextException", "", self.kms.decrypt,
                               CiphertextBlob=unbound, EncryptionContext=self.CONTEXT)
        self.assertEqual(self.kms.decrypt(CiphertextBlob=unbound, EncryptionContext={})
                         ["Plaintext"], b"unbound")

    def test_decrypt_with_another_key_id_is_incorrect_key(self):
        meta, other = self.new_key(), self.new_key()
        alias = self.unique_alias()
        self.kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
        blob = self.encrypt(meta["KeyId"])["CiphertextBlob"]
        for ref in (other["KeyId"], other["Arn"]):
            with self.subTest(ref=ref):
                self.assertClientError("IncorrectKeyException", INCORRECT_KEY, self.kms.decrypt,
                                       CiphertextBlob=blob, KeyId=ref)
        for ref in (meta["KeyId"], meta["Arn"], alias, self.alias_arn(alias)):
            with self.subTest(ref=ref):
                self.assertEqual(self.kms.decrypt(CiphertextBlob=blob, KeyId=ref)["Plaintext"],
                                 b"hello")

    def test_re_encrypt_between_two_keys(self):
        source, destination = self.new_key(), self.new_key()
        blob = self.encrypt(source["KeyId"], b"moving", EncryptionContext=self.CONTEXT)[
            "CiphertextBlob"]
        out = self.kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=self.CONTEXT,
                                  DestinationKeyId=destination["KeyId"],
                                  DestinationEncryptionContext={"stage": "two"})
        self.assertEqual(out["SourceKeyId"], source["Arn"])
        self.assertEqual(out["KeyId"], destination["Arn"])
        self.assertEqual(out["SourceEncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        self.assertEqual(out["DestinationEncryptionAlgorithm"], "SYMMETRIC_DEFAULT")
        back = self.kms.decrypt(CiphertextBlob=out["CiphertextBlob"],
                                EncryptionContext={"stage": "two"})
        self.assertEqual(back["Plaintext"], b"moving")
        self.assertEqual(back["KeyId"], destination["Arn"])
        self.assertClientError("InvalidCiphertextException", "", self.kms.decrypt,
                               CiphertextBlob=out["CiphertextBlob"])

        self.assertClientError("IncorrectKeyException", INCORRECT_KEY, self.kms.re_encrypt,
                               CiphertextBlob=blob, SourceEncryptionContext=self.CONTEXT,
                               SourceKeyId=destination["KeyId"],
                               DestinationKeyId=destination["KeyId"])
        self.assertClientError("InvalidCiphertextException", "", self.kms.re_encrypt,
                               CiphertextBlob=blob, DestinationKeyId=destination["KeyId"])
        self.kms.disable_key(KeyId=destination["KeyId"])
        self.assertClientError("DisabledException", f"{destination['Arn']} is disabled.",
                               self.kms.re_encrypt, CiphertextBlob=blob,
                               SourceEncryptionContext=self.CONTEXT,
                               DestinationKeyId=destination["KeyId"])

    def test_generate_data_key_sizes_and_round_trip(self):
        meta = self.new_key()
        for kwargs, size in (({"KeySpec": "AES_256"}, 32), ({"KeySpec": "AES_128"}, 16),
                             ({"NumberOfBytes": 1}, 1), ({"NumberOfBytes": 64}, 64),
                             ({"NumberOfBytes": 1024}, 1024)):
            with self.subTest(**kwargs):
                out = self.kms.generate_data_key(KeyId=meta["KeyId"],
                                                 EncryptionContext=self.CONTEXT, **kwargs)
                self.assertEqual(len(out["Plaintext"]), size)
                self.assertEqual(out["KeyId"], meta["Arn"])
                back = self.kms.decrypt(CiphertextBlob=out["CiphertextBlob"],
                                        EncryptionContext=self.CONTEXT)
                self.assertEqual(back["Plaintext"], out["Plaintext"])
        a = self.kms.generate_data_key(KeyId=meta["KeyId"], KeySpec="AES_256")["Plaintext"]
        b = self.kms.generate_data_key(KeyId=meta["KeyId"], KeySpec="AES_256")["Plaintext"]
        self.assertNotEqual(a, b)

    def test_generate_data_key_without_plaintext(self):
        meta = self.new_key()
        out = self.kms.generate_data_key_without_plaintext(KeyId=meta["KeyId"], KeySpec="AES_256")
        self.assertNotIn("Plaintext", out)
        self.assertEqual(out["KeyId"], meta["Arn"])
        self.assertEqual(len(self.kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"]),
                         32)
        out = self.kms.generate_data_key_without_plaintext(KeyId=meta["KeyId"], NumberOfBytes=7)
        self.assertEqual(len(self.kms.decrypt(CiphertextBlob=out["CiphertextBlob"])["Plaintext"]),
                         7)

    def test_generate_data_key_argument_errors(self):
        meta = self.new_key()
        self.assertClientError("ValidationException", too_big(1025, "numberOfBytes", 1024),
                               self.raw.generate_data_key, KeyId=meta["KeyId"],
                               NumberOfBytes=1025)
        self.assertClientError("ValidationException", too_small(0, "numberOfBytes", 1),
                               self.raw.generate_data_key, KeyId=meta["KeyId"], NumberOfBytes=0)
        self.assertClientError(
            "ValidationException",
            "1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy "
            "constraint: Member must satisfy enum value set: [AES_256, AES_128]",
            self.raw.generate_data_key, KeyId=meta["KeyId"], KeySpec="AES_512")
        # Neither or both of KeySpec / NumberOfBytes: AWS's text is not in kms.md; code only.
        self.assertClientError("ValidationException", None, self.kms.generate_data_key,
                               KeyId=meta["KeyId"])
        self.assertClientError("ValidationException", None, self.kms.generate_data_key,
                               KeyId=meta["KeyId"], KeySpec="AES_256", NumberOfBytes=32)

    def test_generate_random(self):
        for n in (1, 32, 1024):
            with self.subTest(n=n):
                self.assertEqual(len(self.kms.generate_random(NumberOfBytes=n)["Plaintext"]), n)
        self.assertNotEqual(self.kms.generate_random(NumberOfBytes=32)["Plaintext"],
                            self.kms.generate_random(NumberOfBytes=32)["Plaintext"])

    def test_generate_random_out_of_range_and_missing(self):
        self.assertClientError("ValidationException", too_small(0, "numberOfBytes", 1),
                               self.raw.generate_random, NumberOfBytes=0)
        self.assertClientError("ValidationException", too_big(1025, "numberOfBytes", 1024),
                               self.raw.generate_random, NumberOfBytes=1025)
        self.assertClientError("ValidationException", "NumberOfBytes is required.",
                               self.raw.generate_random)

    def test_generate_random_in_a_custom_key_store_that_does_not_exist(self):
        # Hangar has no custom key stores, so any id is unknown: AWS's answer for an unknown one.
        self.assertClientError("CustomKeyStoreNotFoundException", "",
                               self.kms.generate_random, NumberOfBytes=32,
                               CustomKeyStoreId="cks-1234567890abcdef0")

    def test_list_aliases_shows_predefined_aws_aliases_without_a_target(self):
        # §12 of kms-keys-beyond-symmetric.md: alias/aws/<service> aliases are listed before their
        # AWS managed keys exist, without TargetKeyId (the set itself is Hangar's choice [?]).
        names = self.all_alias_names()
        for name in ("alias/aws/ebs", "alias/aws/rds", "alias/aws/secretsmanager"):
            self.assertIn(name, names)
        self.assertEqual(len(names), len(set(names)))
        page = self.kms.list_aliases(Limit=100)
        entries = {a["AliasName"]: a for a in page["Aliases"]}
        self.assertNotIn("TargetKeyId", entries["alias/aws/ebs"])
        self.assertEqual(entries["alias/aws/ebs"]["AliasArn"], self.alias_arn("alias/aws/ebs"))

    def test_dry_run_answers_dry_run_operation(self):
        require(self, KMS_DRY_RUN)
        meta, other = self.new_key(), self.new_key()
        blob = self.encrypt(meta["KeyId"])["CiphertextBlob"]
        calls = {
            "Encrypt": lambda: self.encrypt(meta["KeyId"], DryRun=True),
            "Decrypt": lambda: self.kms.decrypt(CiphertextBlob=blob, DryRun=True),
            "ReEncrypt": lambda: self.kms.re_encrypt(CiphertextBlob=blob,
                                                     DestinationKeyId=other["KeyId"],
                                                     DryRun=True),
            "GenerateDataKey": lambda: self.kms.generate_data_key(
                KeyId=meta["KeyId"], KeySpec="AES_256", DryRun=True),
            "GenerateDataKeyWithoutPlaintext": lambda: self.kms.generate_data_key_without_plaintext(
                KeyId=meta["KeyId"], KeySpec="AES_256", DryRun=True),
        }
        for name, call in calls.items():
            with self.subTest(operation=name):
                self.assertClientError("DryRunOperationException", DRY_RUN, call)
        # A dry run that would fail reports the real failure.
        self.kms.disable_key(KeyId=meta["KeyId"])
        self.assertClientError("DisabledException", f"{meta['Arn']} is disabled.",
                               self.encrypt, meta["KeyId"], DryRun=True)

    def test_dry_run_decrypt_still_checks_the_ciphertext_and_context(self):
        # kms.md §7: DryRunOperationException only "if the call would succeed". The model's
        # DryRunModifiers=IGNORE_CIPHERTEXT exists to skip the ciphertext check, so a plain dry
        # run must fail where the real call fails.
        require(self, KMS_DRY_RUN)
        meta, other = self.new_key(), self.new_key()
        blob = self.encrypt(meta["KeyId"], b"dry", EncryptionContext=self.CONTEXT)[
            "CiphertextBlob"]
        tampered = bytearray(blob)
        tampered[-1] ^= 0x01
        self.assertClientError("InvalidCiphertextException", "", self.kms.decrypt,
                               CiphertextBlob=blob, DryRun=True)
        self.assertClientError("InvalidCiphertextException", "", self.kms.decrypt,
                               CiphertextBlob=bytes(tampered), EncryptionContext=self.CONTEXT,
                               DryRun=True)
        self.assertClientError("InvalidCiphertextException", "", self.kms.re_encrypt,
                               CiphertextBlob=blob, DestinationKeyId=other["KeyId"], DryRun=True)
        self.assertClientError("DryRunOperationException", DRY_RUN, self.kms.decrypt,
                               CiphertextBlob=blob, EncryptionContext=self.CONTEXT, DryRun=True)

    def test_dry_run_decrypt_with_ignore_ciphertext_needs_no_ciphertext(self):
        # kms.md §2 and §7: Decrypt's CiphertextBlob is optional; with DryRun and
        # DryRunModifiers ["IGNORE_CIPHERTEXT"] only authorization is checked (KeyId required).
        require(self, KMS_DRY_RUN, KMS_DRY_RUN_MODIFIERS)
        meta = self.new_key()
        self.assertClientError("DryRunOperationException", DRY_RUN, self.kms.decrypt,
                               KeyId=meta["KeyId"], DryRun=True,
                               DryRunModifiers=["IGNORE_CIPHERTEXT"])

    def test_asymmetric_algorithm_on_symmetric_key_is_invalid_key_usage(self):
        meta = self.new_key()
        # Pattern of the recorded "Algorithm X is incompatible with key spec Y." (kms.md §9).
        self.assertClientError(
            "InvalidKeyUsageException",
            "Algorithm RSAES_OAEP_SHA_256 is incompatible with key spec SYMMETRIC_DEFAULT.",
            self.encrypt, meta["KeyId"], EncryptionAlgorithm="RSAES_OAEP_SHA_256")

    def test_disabled_key_refuses_cryptographic_operations(self):
        meta, other = self.new_key(), self.new_key()
        blob = self.encrypt(meta["KeyId"])["CiphertextBlob"]
        self.kms.disable_key(KeyId=meta["KeyId"])
        disabled = f"{meta['Arn']} is disabled."
        self.assertClientError("DisabledException", disabled, self.encrypt, meta["KeyId"])
        self.assertClientError("DisabledException", disabled, self.kms.decrypt,
                               CiphertextBlob=blob)
        self.assertClientError("DisabledException", disabled, self.kms.re_encrypt,
                               CiphertextBlob=blob, DestinationKeyId=other["KeyId"])
        self.assertClientError("DisabledException", disabled, self.kms.generate_data_key,
                               KeyId=meta["KeyId"], KeySpec="AES_256")
        self.assertClientError("DisabledException", disabled,
                               self.kms.generate_data_key_without_plaintext,
                               KeyId=meta["KeyId"], KeySpec="AES_256")
        # Metadata operations still work on a disabled key.
        self.assertEqual(self.describe(meta["KeyId"])["KeyState"], "Disabled")
        self.get_policy(meta["KeyId"])

    def test_key_pending_deletion_refuses_cryptographic_operations(self):
        meta = self.new_key()
        blob = self.encrypt(meta["KeyId"])["CiphertextBlob"]
        self.kms.schedule_key_deletion(KeyId=meta["KeyId"], PendingWindowInDays=7)
        pending = f"{meta['Arn']} is pending deletion."
        self.assertClientError("KMSInvalidStateException", pending, self.encrypt, meta["KeyId"])
        self.assertClientError("KMSInvalidStateException", pending, self.kms.decrypt,
                               CiphertextBlob=blob)
        self.assertClientError("KMSInvalidStateException", pending, self.kms.generate_data_key,
                               KeyId=meta["KeyId"], NumberOfBytes=16)

    def test_unknown_malformed_and_foreign_region_key_ids(self):
        missing = str(uuid.uuid4())
        missing_arn = self.key_arn(missing)
        for ref in (missing, missing_arn):
            with self.subTest(ref=ref):
                self.assertClientError("NotFoundException", f"Key '{missing_arn}' does not exist",
                                       self.describe, ref)
                self.assertClientError("NotFoundException", f"Key '{missing_arn}' does not exist",
                                       self.encrypt, ref)
        for bad in ("fake-key-id", "mrk-fake-key-id", uuid.uuid4().hex,
                    str(uuid.uuid4()).upper()):
            with self.subTest(bad=bad):
                self.assertClientError("NotFoundException", f"Invalid keyId '{bad}'",
                                       self.describe, bad)
                self.assertClientError("NotFoundException", f"Invalid keyId '{bad}'",
                                       self.encrypt, bad)
        meta = self.new_key()
        west = self.key_arn(meta["KeyId"], region="us-west-2")
        self.assertClientError("NotFoundException", "Invalid arn us-west-2", self.describe, west)
        self.assertClientError("NotFoundException", "Invalid arn us-west-2", self.encrypt, west)
        alias = "alias/never-created"
        self.assertClientError("NotFoundException",
                               f"Alias {self.alias_arn(alias)} is not found.", self.encrypt,
                               alias)

    def test_key_arn_of_another_account_is_not_found(self):
        meta = self.new_key()
        foreign = f"arn:aws:kms:us-east-1:999999999999:key/{meta['KeyId']}"
        self.assertClientError("NotFoundException", f"Key '{foreign}' does not exist",
                               self.describe, foreign)
        self.assertClientError("NotFoundException", f"Key '{foreign}' does not exist",
                               self.encrypt, foreign)

    def test_keys_are_regional(self):
        meta = self.new_key()
        blob = self.encrypt(meta["KeyId"])["CiphertextBlob"]
        west = self.server.client("kms", region="us-west-2")
        self.assertClientError(
            "NotFoundException",
            f"Key '{self.key_arn(meta['KeyId'], region='us-west-2')}' does not exist",
            west.describe_key, KeyId=meta["KeyId"])
        self.assertNotIn(meta["KeyId"], [k["KeyId"] for k in west.list_keys()["Keys"]])
        self.assertClientError("InvalidCiphertextException", "", west.decrypt,
                               CiphertextBlob=blob)
        west_key = west.create_key()["KeyMetadata"]
        self.assertEqual(west_key["Arn"], self.key_arn(west_key["KeyId"], region="us-west-2"))


class IdentityAndAwsManagedKeyTest(KmsTestCase):

    S3_DESCRIPTION = "Default key that protects my S3 objects when no other key is defined"

    def test_sts_get_caller_identity_is_the_root_user(self):
        out = self.server.client("sts").get_caller_identity()
        self.assertEqual(out["Account"], self.account)
        self.assertEqual(out["Arn"], f"arn:aws:iam::{self.account}:root")
        self.assertEqual(out["UserId"], self.account)
        cli = self.assertCliOk(self.server.aws("sts", "get-caller-identity"))
        self.assertEqual(cli["Arn"], f"arn:aws:iam::{self.account}:root")

    def test_describe_aws_s3_alias_creates_the_aws_managed_key(self):
        meta = self.describe("alias/aws/s3")
        self.assertEqual(meta["KeyManager"], "AWS")
        self.assertEqual(meta["Description"], self.S3_DESCRIPTION)
        self.assertEqual(meta["KeyState"], "Enabled")
        self.assertEqual(meta["KeySpec"], "SYMMETRIC_DEFAULT")
        self.assertEqual(meta["Arn"], self.key_arn(meta["KeyId"]))
        # Created once: later lookups return the same key.
        self.assertEqual(self.describe("alias/aws/s3")["KeyId"], meta["KeyId"])
        self.assertEqual(self.describe(self.alias_arn("alias/aws/s3"))["KeyId"], meta["KeyId"])
        aliases = self.kms.list_aliases(KeyId=meta["KeyId"])["Aliases"]
        self.assertEqual([a["AliasName"] for a in aliases], ["alias/aws/s3"])
        self.assertIs(self.kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"],
                      True)
        self.get_policy(meta["KeyId"])

    def test_aws_managed_key_cannot_be_managed_or_used_directly(self):
        meta = self.describe("alias/aws/s3")

        def denied(action):
            return (f"User: arn:aws:iam::{self.account}:root is not authorized to perform: "
                    f"kms:{action} on resource: {meta['Arn']} because no resource-based policy "
                    f"allows the kms:{action} action")

        self.assertClientError("AccessDeniedException", denied("DisableKey"),
                               self.kms.disable_key, KeyId=meta["KeyId"])
        self.assertClientError("AccessDeniedException", denied("ScheduleKeyDeletion"),
                               self.kms.schedule_key_deletion, KeyId=meta["KeyId"],
                               PendingWindowInDays=7)
        self.assertClientError("AccessDeniedException", denied("Encrypt"), self.encrypt,
                               "alias/aws/s3")
        self.assertEqual(self.describe(meta["KeyId"])["KeyState"], "Enabled")

    def test_unknown_aws_alias_is_not_found(self):
        alias = "alias/aws/not-a-service"
        self.assertClientError("NotFoundException",
                               f"Alias {self.alias_arn(alias)} is not found.", self.describe,
                               alias)


if __name__ == "__main__":
    unittest.main()
