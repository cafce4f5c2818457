"""KMS grants (kms.md §13) with boto3 against the real server.

The server's IAM users arrive on another branch, so the grantee here is the account root on a key
whose key policy lets the root manage grants but not use the key: the root's Encrypt is denied
until a grant to arn:aws:iam::<acct>:root allows it. Finer principal matching (users, role
sessions, constraints across principals) is pinned by src/kms/grants_test.cc.
Where AWS's text is not recorded ([?] in kms.md) the test pins Hangar's text and says so.
"""

import base64
import json
import unittest

from clients import KMS_DRY_RUN, require
from harness import HangarTestCase

OTHER_ACCOUNT_ROOT = "arn:aws:iam::222233334444:root"


class KmsGrantsTest(HangarTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kms = cls.server.client("kms")
        cls.raw = cls.server.client("kms", validate=False)
        cls.account = cls.server.account_id
        cls.root = f"arn:aws:iam::{cls.account}:root"

    def grant_managed_key(self):
        """A key whose policy lets the root manage grants, but not encrypt or decrypt."""
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {"Sid": "Admins elsewhere", "Effect": "Allow",
                 "Principal": {"AWS": OTHER_ACCOUNT_ROOT}, "Action": "kms:*", "Resource": "*"},
                {"Sid": "Grant management only", "Effect": "Allow",
                 "Principal": {"AWS": self.root},
                 "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                 "Resource": "*",
                 "Condition": {"ForAllValues:StringEquals": {
                     "kms:GrantOperations": ["Encrypt", "Decrypt", "RetireGrant",
                                             "DescribeKey"]}}},
            ],
        }
        key = self.kms.create_key(Policy=json.dumps(policy),
                                  BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
        return key["KeyId"], key["Arn"]

    def test_a_grant_to_the_root_allows_what_the_key_policy_does_not(self):
        key_id, arn = self.grant_managed_key()
        self.assertClientError("AccessDeniedException", None, self.kms.encrypt,
                               KeyId=key_id, Plaintext=b"x")

        created = self.kms.create_grant(KeyId=key_id, GranteePrincipal=self.root,
                                        Operations=["Encrypt", "Decrypt"])
        self.assertRegex(created["GrantId"], r"^[0-9a-f]{64}$")
        base64.b64decode(created["GrantToken"], validate=True)

        blob = self.kms.encrypt(KeyId=key_id, Plaintext=b"via grant",
                                GrantTokens=[created["GrantToken"]])["CiphertextBlob"]
        self.assertEqual(self.kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"via grant")
        # Only the operations the grant lists: DescribeKey was not granted.
        self.assertClientError("AccessDeniedException", None, self.kms.describe_key,
                               KeyId=key_id)

        self.kms.revoke_grant(KeyId=key_id, GrantId=created["GrantId"])
        self.assertClientError("AccessDeniedException", None, self.kms.decrypt,
                               CiphertextBlob=blob)

    def test_constraints_limit_the_grant_to_matching_encryption_contexts(self):
        key_id, _ = self.grant_managed_key()
        self.kms.create_grant(KeyId=key_id, GranteePrincipal=self.root, Operations=["Encrypt"],
                              Constraints={"EncryptionContextSubset": {"Dept": "IT"}})
        self.kms.encrypt(KeyId=key_id, Plaintext=b"x",
                         EncryptionContext={"Dept": "IT", "job": "7"})
        self.assertClientError("AccessDeniedException", None, self.kms.encrypt,
                               KeyId=key_id, Plaintext=b"x", EncryptionContext={"Dept": "HR"})
        grants = self.kms.list_grants(KeyId=key_id)["Grants"]
        self.assertEqual(grants[0]["Constraints"],
                         {"EncryptionContextSubset": {"Dept": "IT"}})

    def test_the_key_policy_conditions_on_grant_operations_apply(self):
        key_id, _ = self.grant_managed_key()
        self.assertClientError("AccessDeniedException", None, self.kms.create_grant,
                               KeyId=key_id, GranteePrincipal=self.root,
                               Operations=["GenerateDataKey"])

    def test_list_grants_shows_the_models_members_and_pages(self):
        key_id, arn = self.grant_managed_key()
        ids = []
        for i in range(3):
            ids.append(self.kms.create_grant(
                KeyId=key_id, GranteePrincipal=self.root, RetiringPrincipal=self.root,
                Operations=["Decrypt"], Name=f"grant-{i}")["GrantId"])
        first = self.kms.list_grants(KeyId=key_id, Limit=2)
        self.assertTrue(first["Truncated"])
        self.assertEqual(len(first["Grants"]), 2)
        rest = self.kms.list_grants(KeyId=key_id, Limit=2, Marker=first["NextMarker"])
        self.assertFalse(rest["Truncated"])
        self.assertNotIn("NextMarker", rest)
        listed = first["Grants"] + rest["Grants"]
        self.assertEqual(sorted(g["GrantId"] for g in listed), sorted(ids))
        g = listed[0]
        self.assertEqual(g["KeyId"], arn)
        self.assertEqual(g["GranteePrincipal"], self.root)
        self.assertEqual(g["RetiringPrincipal"], self.root)
        self.assertEqual(g["IssuingAccount"], self.root)
        self.assertEqual(g["Operations"], ["Decrypt"])
        self.assertRegex(g["Name"], r"^grant-\d$")
        self.assertGreater(g["CreationDate"].timestamp(), 1_600_000_000)
        self.assertNotIn("Constraints", g)

        one = self.kms.list_grants(KeyId=key_id, GrantId=ids[1])["Grants"]
        self.assertEqual([x["GrantId"] for x in one], [ids[1]])
        self.assertEqual(self.kms.list_grants(KeyId=key_id,
                                              GranteePrincipal=OTHER_ACCOUNT_ROOT)["Grants"], [])

    def test_same_name_and_parameters_give_the_same_grant(self):
        key_id, _ = self.grant_managed_key()
        args = dict(KeyId=key_id, GranteePrincipal=self.root, Operations=["Encrypt"],
                    Name="retry-safe")
        a = self.kms.create_grant(**args)
        b = self.kms.create_grant(**args)
        self.assertEqual(a["GrantId"], b["GrantId"])
        self.assertNotEqual(a["GrantToken"], b["GrantToken"])
        self.assertEqual(len(self.kms.list_grants(KeyId=key_id)["Grants"]), 1)

    def test_retire_by_token_or_id_and_list_retirable_grants(self):
        key_id, arn = self.grant_managed_key()
        by_token = self.kms.create_grant(KeyId=key_id, GranteePrincipal=self.root,
                                         RetiringPrincipal=self.root, Operations=["Decrypt"])
        by_id = self.kms.create_grant(KeyId=key_id, GranteePrincipal=self.root,
                                      RetiringPrincipal=self.root, Operations=["Encrypt"])
        retirable = self.kms.list_retirable_grants(RetiringPrincipal=self.root)["Grants"]
        self.assertLessEqual({by_token["GrantId"], by_id["GrantId"]},
                             {g["GrantId"] for g in retirable})

        self.kms.retire_grant(GrantToken=by_token["GrantToken"])
        self.kms.retire_grant(KeyId=arn, GrantId=by_id["GrantId"])
        self.assertEqual(self.kms.list_grants(KeyId=key_id)["Grants"], [])
        retirable = self.kms.list_retirable_grants(RetiringPrincipal=self.root)["Grants"]
        self.assertFalse({by_token["GrantId"], by_id["GrantId"]} &
                         {g["GrantId"] for g in retirable})
        self.assertClientError("AccessDeniedException", None, self.kms.encrypt,
                               KeyId=key_id, Plaintext=b"x")

    def test_key_states_decide_create_grant_only(self):
        key_id = self.kms.create_key()["KeyMetadata"]["KeyId"]
        grant = self.kms.create_grant(KeyId=key_id, GranteePrincipal=self.root,
                                      Operations=["Decrypt"])
        self.kms.disable_key(KeyId=key_id)
        arn = f"arn:aws:kms:us-east-1:{self.account}:key/{key_id}"
        self.assertClientError("DisabledException", f"{arn} is disabled.", self.kms.create_grant,
                               KeyId=key_id, GranteePrincipal=self.root, Operations=["Decrypt"])
        self.kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
        self.assertClientError("KMSInvalidStateException", f"{arn} is pending deletion.",
                               self.kms.create_grant, KeyId=key_id,
                               GranteePrincipal=self.root, Operations=["Decrypt"])
        self.assertEqual(len(self.kms.list_grants(KeyId=key_id)["Grants"]), 1)
        self.kms.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])

    def test_errors(self):
        key_id = self.kms.create_key()["KeyMetadata"]["KeyId"]
        err = self.assertClientError("ValidationException", None, self.raw.create_grant,
                                     KeyId=key_id, GranteePrincipal=self.root,
                                     Operations=["Frobnicate"])
        self.assertIn("at 'operations' failed to satisfy constraint",
                      err.response["Error"]["Message"])
        self.assertClientError("ValidationException", None, self.kms.create_grant,
                               KeyId=key_id, GranteePrincipal=self.root, Operations=["Sign"])
        self.assertClientError(
            "ValidationException",
            "1 validation error detected: Value null at 'granteePrincipal' failed to satisfy "
            "constraint: Member must not be null",
            self.raw.create_grant, KeyId=key_id, Operations=["Decrypt"])
        self.assertClientError("NotFoundException", None, self.kms.revoke_grant,
                               KeyId=key_id, GrantId="0" * 64)
        self.assertClientError("NotFoundException", None, self.kms.retire_grant,
                               KeyId=key_id, GrantId="0" * 64)
        # [?] Hangar's choice: a grant id that is not 64 hex characters cannot name a grant.
        self.assertClientError("InvalidGrantIdException", None, self.kms.revoke_grant,
                               KeyId=key_id, GrantId="not-a-grant")
        self.assertClientError("InvalidGrantTokenException", None, self.kms.retire_grant,
                               GrantToken="bm90IGEgdG9rZW4=")
        self.assertClientError("InvalidGrantTokenException", None, self.kms.encrypt,
                               KeyId=key_id, Plaintext=b"x", GrantTokens=["garbage"])
        self.assertClientError("InvalidMarkerException", None, self.kms.list_grants,
                               KeyId=key_id, Marker="garbage")
        self.assertClientError("ValidationException", None, self.raw.list_grants,
                               KeyId=key_id, Limit=101)
        self.assertClientError("NotFoundException", None, self.kms.create_grant,
                               KeyId="11111111-2222-3333-4444-555555555555",
                               GranteePrincipal=self.root, Operations=["Decrypt"])
        self.assertEqual(self.kms.list_grants(KeyId=key_id)["Grants"], [])

    def test_dry_run_creates_no_grant(self):
        require(self, KMS_DRY_RUN)
        key_id = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.assertClientError("DryRunOperationException",
                               "The request would have succeeded, but the DryRun option is set.",
                               self.kms.create_grant, KeyId=key_id, GranteePrincipal=self.root,
                               Operations=["Decrypt"], DryRun=True)
        self.assertEqual(self.kms.list_grants(KeyId=key_id)["Grants"], [])

    def test_grants_survive_a_restart_and_go_with_a_destroyed_key(self):
        key_id, _ = self.grant_managed_key()
        grant = self.kms.create_grant(KeyId=key_id, GranteePrincipal=self.root,
                                      RetiringPrincipal=self.root, Operations=["Encrypt"])
        self.server.restart()
        kms = self.server.client("kms")
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
        self.assertEqual([g["GrantId"] for g in kms.list_grants(KeyId=key_id)["Grants"]],
                         [grant["GrantId"]])

        other = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.create_grant(KeyId=other, GranteePrincipal=self.root, RetiringPrincipal=self.root,
                         Operations=["Decrypt"])
        kms.schedule_key_deletion(KeyId=other, PendingWindowInDays=7)
        self.server.advance_clock(8 * 86400)  # runs the due deletion before it answers
        self.assertClientError("NotFoundException", None, kms.describe_key, KeyId=other)
        self.assertEqual(self.server.documents("kms.grant", other), [])
        retirable = kms.list_retirable_grants(RetiringPrincipal=self.root)["Grants"]
        self.assertNotIn(other, {g["KeyId"].rsplit("/", 1)[1] for g in retirable})


if __name__ == "__main__":
    unittest.main()
