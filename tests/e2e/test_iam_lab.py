"""The lab's split of duties, end to end against the real binary, as distinct IAM users with the
aws CLI and boto3: a key administrator (Kzax01) manages the key but cannot use it or read what it
protects; a key user encrypts, decrypts and reads the bucket's objects but cannot schedule the
key's deletion; a user with S3 rights and no KMS rights lists the bucket but cannot read its
SSE-KMS objects. Also: a public key policy is accepted as AWS accepts it, and refused by a server
running the documented guardrail (--forbid-public-key-policies); cross-account use of a key works
only when both the key policy and the caller's IAM policy allow it.

AccessDenied texts are AWS's (kms.md §1.1, s3.md §8.7).
"""

import json
import os
import subprocess
import unittest

from harness import HangarServer, HangarTestCase

BUCKET = "lab-split-bucket"
ALIAS = "alias/cloud_user"


def console_key_policy(account, admins, users):
    """The console's default policy with chosen key administrators and key users (kms.md §12)."""
    arn = lambda name: f"arn:aws:iam::{account}:user/{name}"  # noqa: E731
    return json.dumps({"Version": "2012-10-17", "Id": "key-consolepolicy-3", "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
         "Principal": {"AWS": [arn(a) for a in admins]},
         "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
                    "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
                    "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
                    "kms:CancelKeyDeletion"],
         "Resource": "*"},
        {"Sid": "Allow use of the key", "Effect": "Allow",
         "Principal": {"AWS": [arn(u) for u in users]},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                    "kms:DescribeKey"],
         "Resource": "*"},
        {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
         "Principal": {"AWS": [arn(u) for u in users]},
         "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}]})


S3_READ = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"],
     "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"]}]})


class LabSplitTest(HangarTestCase):
    """One server; root sets up the users, the key, the bucket and one SSE-KMS object."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        server = cls.server
        cls.account = server.account_id
        cls.iam = server.client("iam")
        cls.users = {}
        for name in ("Kzax01", "keyuser", "s3reader"):
            cls.iam.create_user(UserName=name)
            key = cls.iam.create_access_key(UserName=name)["AccessKey"]
            cls.users[name] = (key["AccessKeyId"], key["SecretAccessKey"])
            # Everyone may read the bucket as far as S3 goes; KMS decides the rest.
            cls.iam.put_user_policy(UserName=name, PolicyName="s3-read", PolicyDocument=S3_READ)
        kms = server.client("kms")
        cls.key_arn = kms.create_key(
            Description="lab key",
            Policy=console_key_policy(cls.account, ["Kzax01"], ["keyuser"]))["KeyMetadata"]["Arn"]
        kms.create_alias(AliasName=ALIAS, TargetKeyId=cls.key_arn)
        s3 = server.s3_client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                   "KMSMasterKeyID": ALIAS},
            "BucketKeyEnabled": True}]})
        s3.put_object(Bucket=BUCKET, Key="flight-plan.txt", Body=b"waypoints")

    def as_user(self, name, service):
        key_id, secret = self.users[name]
        client = self.server.client(service, access_key_id=key_id, secret_access_key=secret)
        if service == "s3":
            client = self.server.s3_client(access_key_id=key_id, secret_access_key=secret)
        return client

    def cli_as(self, name, *args):
        key_id, secret = self.users[name]
        env = self.server.aws_env()
        env.update(AWS_ACCESS_KEY_ID=key_id, AWS_SECRET_ACCESS_KEY=secret)
        return self.server.aws(*args, env=env)

    def denied_text(self, name, action, resource, side="identity"):
        return (f"User: arn:aws:iam::{self.account}:user/{name} is not authorized to perform: "
                f"{action} on resource: {resource} because no {side}-based policy allows the "
                f"{action} action")

    def test_the_key_administrator_manages_the_key_but_cannot_use_it(self):
        cli = lambda *a: self.cli_as("Kzax01", "kms", *a)  # noqa: E731
        described = self.assertCliOk(cli("describe-key", "--key-id", ALIAS))
        self.assertEqual(described["KeyMetadata"]["Arn"], self.key_arn)
        self.assertCliOk(cli("disable-key", "--key-id", self.key_arn))
        self.assertCliOk(cli("enable-key", "--key-id", self.key_arn))
        scheduled = self.assertCliOk(cli("schedule-key-deletion", "--key-id", self.key_arn,
                                         "--pending-window-in-days", "7"))
        self.assertEqual(scheduled["KeyState"], "PendingDeletion")
        self.assertCliOk(cli("cancel-key-deletion", "--key-id", self.key_arn))
        self.assertCliOk(cli("enable-key", "--key-id", self.key_arn))
        policy = self.assertCliOk(cli("get-key-policy", "--key-id", self.key_arn,
                                      "--policy-name", "default"))["Policy"]
        self.assertCliOk(cli("put-key-policy", "--key-id", self.key_arn, "--policy-name",
                             "default", "--policy", policy))

        encrypt = cli("encrypt", "--key-id", self.key_arn, "--plaintext", "aGVsbG8=")
        self.assertCliError(encrypt, "AccessDeniedException",
                            self.denied_text("Kzax01", "kms:Encrypt", self.key_arn))
        ciphertext = self.server.client("kms").encrypt(KeyId=self.key_arn,
                                                       Plaintext=b"secret")["CiphertextBlob"]
        kms = self.as_user("Kzax01", "kms")
        err = self.assertClientError("AccessDeniedException", None, kms.decrypt,
                                     CiphertextBlob=ciphertext)
        self.assertIn("kms:Decrypt", str(err))
        # Reading the SSE-KMS object needs kms:Decrypt as the caller: S3 allows, KMS does not.
        self.assertS3Error(403, "AccessDenied",
                           self.denied_text("Kzax01", "kms:Decrypt", self.key_arn),
                           self.as_user("Kzax01", "s3").get_object, Bucket=BUCKET,
                           Key="flight-plan.txt")

    def test_the_key_user_uses_the_key_but_cannot_delete_it(self):
        kms = self.as_user("keyuser", "kms")
        blob = kms.encrypt(KeyId=ALIAS, Plaintext=b"telemetry")["CiphertextBlob"]
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"telemetry")
        data_key = kms.generate_data_key(KeyId=self.key_arn, KeySpec="AES_256")
        self.assertEqual(len(data_key["Plaintext"]), 32)
        body = self.as_user("keyuser", "s3").get_object(Bucket=BUCKET, Key="flight-plan.txt")
        self.assertEqual(body["Body"].read(), b"waypoints")
        self.assertEqual(body["SSEKMSKeyId"], self.key_arn)
        # And writes through the bucket default: GenerateDataKey as the key user.
        put = self.cli_as("keyuser", "s3api", "put-object", "--bucket", BUCKET, "--key",
                          "by-keyuser.txt", "--body", __file__)
        self.assertCliError(put, "AccessDenied")  # no s3:PutObject in its IAM policy
        self.assertClientError(
            "AccessDeniedException",
            self.denied_text("keyuser", "kms:ScheduleKeyDeletion", self.key_arn),
            kms.schedule_key_deletion, KeyId=self.key_arn, PendingWindowInDays=7)
        self.assertClientError("AccessDeniedException", None, kms.disable_key, KeyId=self.key_arn)

    def test_s3_rights_without_kms_rights_list_but_cannot_read(self):
        s3 = self.as_user("s3reader", "s3")
        listed = s3.list_objects_v2(Bucket=BUCKET)
        self.assertIn("flight-plan.txt", [o["Key"] for o in listed["Contents"]])
        self.assertS3Error(403, "AccessDenied",
                           self.denied_text("s3reader", "kms:Decrypt", self.key_arn),
                           s3.get_object, Bucket=BUCKET, Key="flight-plan.txt")
        # Nor may it write anything under the key (and S3 itself does not let it write).
        self.assertS3Error(403, "AccessDenied", None, s3.put_object, Bucket=BUCKET, Key="x",
                           Body=b"x")
        # HEAD shows metadata (S3 permission only), as on AWS.
        head = s3.head_object(Bucket=BUCKET, Key="flight-plan.txt")
        self.assertEqual(head["ServerSideEncryption"], "aws:kms")

    def test_cached_bucket_keys_are_authorised_with_the_encryption_context(self):
        # A Deny on the bucket's encryption context must hold even when the bucket key is already
        # cached (warmed by the root's own read), as every AWS Decrypt carries that context.
        vault = "lab-split-vault"
        s3 = self.server.s3_client()
        s3.create_bucket(Bucket=vault)
        key_arn = self.server.client("kms").create_key()["KeyMetadata"]["Arn"]
        s3.put_bucket_encryption(Bucket=vault, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                   "KMSMasterKeyID": key_arn},
            "BucketKeyEnabled": True}]})
        s3.put_object(Bucket=vault, Key="payroll.csv", Body=b"salaries")
        self.assertEqual(s3.get_object(Bucket=vault, Key="payroll.csv")["Body"].read(), b"salaries")
        self.iam.create_user(UserName="eve")
        key = self.iam.create_access_key(UserName="eve")["AccessKey"]
        self.iam.put_user_policy(UserName="eve", PolicyName="kms-but-not-the-vault",
                                 PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                     {"Effect": "Allow", "Action": ["kms:Decrypt", "s3:GetObject"],
                                      "Resource": "*"},
                                     {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*",
                                      "Condition": {"StringEquals": {
                                          "kms:EncryptionContext:aws:s3:arn":
                                              f"arn:aws:s3:::{vault}"}}}]}))
        eve = self.server.s3_client(access_key_id=key["AccessKeyId"],
                                    secret_access_key=key["SecretAccessKey"])
        self.assertS3Error(
            403, "AccessDenied",
            f"User: arn:aws:iam::{self.account}:user/eve is not authorized to perform: "
            f"kms:Decrypt on resource: {key_arn} with an explicit deny in an identity-based "
            "policy", eve.get_object, Bucket=vault, Key="payroll.csv")

    def test_moving_an_alias_needs_update_alias_on_both_keys(self):
        kms = self.server.client("kms")
        old = kms.create_key()["KeyMetadata"]["Arn"]
        new = kms.create_key()["KeyMetadata"]["Arn"]
        kms.create_alias(AliasName="alias/prod-data", TargetKeyId=old)
        self.iam.create_user(UserName="mallory")
        key = self.iam.create_access_key(UserName="mallory")["AccessKey"]
        self.iam.put_user_policy(UserName="mallory", PolicyName="aliases",
                                 PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                     {"Effect": "Allow", "Action": "kms:CreateAlias",
                                      "Resource": "*"}]}))
        mallory = self.server.client("kms", access_key_id=key["AccessKeyId"],
                                     secret_access_key=key["SecretAccessKey"])
        self.assertClientError("AccessDeniedException", None, mallory.update_alias,
                               AliasName="alias/prod-data", TargetKeyId=new)
        self.iam.put_user_policy(UserName="mallory", PolicyName="aliases",
                                 PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                     {"Effect": "Allow", "Action": ["kms:CreateAlias",
                                                                    "kms:UpdateAlias"],
                                      "Resource": new}]}))
        # Allowed on the new key only: the key the alias leaves must allow it too.
        self.assertClientError("AccessDeniedException", None, mallory.update_alias,
                               AliasName="alias/prod-data", TargetKeyId=new)
        aliases = kms.list_aliases(KeyId=old)["Aliases"]
        self.assertEqual([a["AliasName"] for a in aliases], ["alias/prod-data"])

    def test_a_user_without_any_policy_is_denied_by_iam(self):
        self.iam.create_user(UserName="nobody")
        key = self.iam.create_access_key(UserName="nobody")["AccessKey"]
        s3 = self.server.s3_client(access_key_id=key["AccessKeyId"],
                                   secret_access_key=key["SecretAccessKey"])
        self.assertS3Error(
            403, "AccessDenied",
            f"User: arn:aws:iam::{self.account}:user/nobody is not authorized to perform: "
            f"s3:ListBucket on resource: \"arn:aws:s3:::{BUCKET}\" because no identity-based "
            "policy allows the s3:ListBucket action",
            s3.list_objects_v2, Bucket=BUCKET)
        kms = self.server.client("kms", access_key_id=key["AccessKeyId"],
                                 secret_access_key=key["SecretAccessKey"])
        self.assertClientError("AccessDeniedException", None, kms.create_key)
        self.assertClientError("AccessDeniedException", None, kms.describe_key, KeyId=ALIAS)

    def test_public_key_policies_are_accepted_as_aws_accepts_them(self):
        kms = self.server.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        public = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"}, "Action": "kms:*",
             "Resource": "*"},
            {"Sid": "Anyone", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt",
             "Resource": "*"}]})
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=public)
        self.assertEqual(json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"]),
                         json.loads(public))


class PublicKeyPolicyGuardrailTest(HangarTestCase):
    server_options = {"extra_args": ["--forbid-public-key-policies"]}

    def test_the_guardrail_refuses_public_key_policies(self):
        kms = self.server.client("kms")
        account = self.server.account_id
        root = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*",
                "Resource": "*"}
        public = json.dumps({"Version": "2012-10-17", "Statement": [
            root, {"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*"}]})
        err = self.assertClientError("MalformedPolicyDocumentException", None, kms.create_key,
                                     Policy=public)
        self.assertIn("--forbid-public-key-policies", str(err))
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        self.assertClientError("MalformedPolicyDocumentException", None, kms.put_key_policy,
                               KeyId=key, PolicyName="default", Policy=public)
        # "*" limited to the account is not public.
        limited = json.dumps({"Version": "2012-10-17", "Statement": [
            root, {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
                   "Resource": "*",
                   "Condition": {"StringEquals": {"kms:CallerAccount": account}}}]})
        kms.put_key_policy(KeyId=key, PolicyName="default", Policy=limited)


class CrossAccountKeyTest(HangarTestCase):
    """Account B uses account A's key by ARN only when both sides allow it."""

    def create_account(self):
        out = subprocess.run([self.server.binary, "admin", "create-account", "--data-dir",
                              self.server.data_dir], capture_output=True, text=True, check=True)
        return json.loads(out.stdout)

    def test_both_the_key_policy_and_the_callers_iam_policy_must_allow(self):
        a_kms = self.server.client("kms")
        b = self.create_account()
        b_id = b["AccountId"]
        b_root = (b["AccessKeyId"], b["SecretAccessKey"])
        b_iam = self.server.client("iam", access_key_id=b_root[0], secret_access_key=b_root[1])
        b_iam.create_user(UserName="analyst")
        analyst = b_iam.create_access_key(UserName="analyst")["AccessKey"]
        analyst_kms = self.server.client("kms", access_key_id=analyst["AccessKeyId"],
                                         secret_access_key=analyst["SecretAccessKey"])
        a = self.server.account_id
        shared_policy = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{a}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Account B may use it", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{b_id}:root"},
             "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}]})
        shared = a_kms.create_key(Policy=shared_policy)["KeyMetadata"]["Arn"]
        private = a_kms.create_key()["KeyMetadata"]["Arn"]
        blob = a_kms.encrypt(KeyId=shared, Plaintext=b"shared")["CiphertextBlob"]

        # Key policy allows B, B's analyst has no IAM policy yet: denied on B's side.
        self.assertClientError("AccessDeniedException", None, analyst_kms.decrypt,
                               CiphertextBlob=blob, KeyId=shared)
        b_iam.put_user_policy(UserName="analyst", PolicyName="use-shared-key",
                              PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                                  {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"],
                                   "Resource": [shared, private]}]}))
        self.assertEqual(analyst_kms.decrypt(CiphertextBlob=blob, KeyId=shared)["Plaintext"],
                         b"shared")
        self.assertEqual(analyst_kms.encrypt(KeyId=shared, Plaintext=b"x")["KeyId"], shared)
        # The private key's policy does not name B: B's IAM policy alone is not enough.
        self.assertClientError("AccessDeniedException", None, analyst_kms.encrypt,
                               KeyId=private, Plaintext=b"x")
        # B's root too is governed by A's key policy: allowed for the listed actions only.
        b_root_kms = self.server.client("kms", access_key_id=b_root[0],
                                        secret_access_key=b_root[1])
        self.assertEqual(b_root_kms.encrypt(KeyId=shared, Plaintext=b"y")["KeyId"], shared)
        self.assertClientError("AccessDeniedException", None, b_root_kms.disable_key,
                               KeyId=shared)
        self.assertClientError("AccessDeniedException", None, b_root_kms.encrypt,
                               KeyId=private, Plaintext=b"y")


if __name__ == "__main__":
    unittest.main()
