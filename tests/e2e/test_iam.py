"""IAM and STS against the real binary with the aws CLI (v1) and boto3: users and access keys that
stop working the moment they are deactivated or deleted, groups and policies round-tripping, the
policy engine deciding every IAM call (AWS's AccessDenied text), accounts created by
`hangar admin` while the server runs, AssumeRole with a trust policy, session tokens, expiry on the
dev clock, and no secret in plaintext in the data directory.
"""

import json
import os
import subprocess
import unittest

import boto3
import botocore.config
import botocore.exceptions

from harness import HANGAR_BIN, REGION, HangarTestCase

ACCOUNT = "111122223333"


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


ALLOW_ALL_IAM_LIST = {"Effect": "Allow", "Action": ["iam:List*", "iam:Get*"], "Resource": "*"}


class IamTest(HangarTestCase):

    # --- helpers ---------------------------------------------------------------------------------

    def iam(self):
        return self.server.client("iam")

    def client_for(self, service, creds):
        """A boto3 client signed with creds = (key id, secret[, session token])."""
        session = boto3.session.Session(
            aws_access_key_id=creds[0], aws_secret_access_key=creds[1],
            aws_session_token=creds[2] if len(creds) > 2 else None, region_name=REGION,
            botocore_session=self.server.botocore_session())
        cfg = botocore.config.Config(retries={"total_max_attempts": 1, "mode": "standard"})
        return session.client(service, endpoint_url=self.server.endpoint, config=cfg)

    def cli_as(self, creds, *args):
        env = self.server.aws_env()
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = creds[0], creds[1]
        if len(creds) > 2:
            env["AWS_SESSION_TOKEN"] = creds[2]
        return self.server.aws(*args, env=env)

    def new_user(self, name):
        """Creates `name` with an access key; returns (key id, secret)."""
        self.iam().create_user(UserName=name)
        key = self.iam().create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def assertQueryError(self, status, code, message, call, *args, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            call(*args, **kwargs)
        response = cm.exception.response
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], status, response)
        self.assertEqual(response["Error"]["Code"], code, response)
        if message is not None:
            self.assertEqual(response["Error"]["Message"], message, response)
        return response

    # --- users and keys --------------------------------------------------------------------------

    def test_user_access_key_works_until_deactivated_or_deleted(self):
        out = self.assertCliOk(self.server.aws("iam", "create-user", "--user-name", "alice",
                                               "--path", "/lab/"))
        self.assertEqual(out["User"]["Arn"], f"arn:aws:iam::{ACCOUNT}:user/lab/alice")
        self.assertTrue(out["User"]["UserId"].startswith("AIDA"))
        key = self.assertCliOk(self.server.aws("iam", "create-access-key", "--user-name",
                                               "alice"))["AccessKey"]
        self.assertTrue(key["AccessKeyId"].startswith("AKIA"))
        self.assertEqual(len(key["SecretAccessKey"]), 40)
        creds = (key["AccessKeyId"], key["SecretAccessKey"])

        who = self.assertCliOk(self.cli_as(creds, "sts", "get-caller-identity"))
        self.assertEqual(who["Arn"], f"arn:aws:iam::{ACCOUNT}:user/lab/alice")
        self.assertEqual(who["UserId"], out["User"]["UserId"])
        self.assertEqual(who["Account"], ACCOUNT)

        listed = self.iam().list_access_keys(UserName="alice")["AccessKeyMetadata"]
        self.assertEqual([k["AccessKeyId"] for k in listed], [creds[0]])
        self.assertNotIn("SecretAccessKey", listed[0])

        self.assertCliOk(self.server.aws("iam", "update-access-key", "--user-name", "alice",
                                         "--access-key-id", creds[0], "--status", "Inactive"))
        self.assertCliError(self.cli_as(creds, "sts", "get-caller-identity"),
                            "InvalidClientTokenId",
                            "The security token included in the request is invalid.")
        # S3 speaks its own words for the same refusal.
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.client_for("s3", creds).list_buckets()
        self.assertEqual(cm.exception.response["Error"]["Code"], "InvalidAccessKeyId")

        self.iam().update_access_key(UserName="alice", AccessKeyId=creds[0], Status="Active")
        self.assertCliOk(self.cli_as(creds, "sts", "get-caller-identity"))

        self.assertQueryError(400, "ValidationError", None, self.server.client("iam", validate=False)
                              .update_access_key, UserName="alice", AccessKeyId=creds[0],
                              Status="Sleeping")
        self.iam().create_access_key(UserName="alice")
        self.assertQueryError(409, "LimitExceeded", "Cannot exceed quota for AccessKeysPerUser: 2",
                              self.iam().create_access_key, UserName="alice")

        self.assertQueryError(409, "DeleteConflict",
                              "Cannot delete entity, must remove referenced objects first.",
                              self.iam().delete_user, UserName="alice")
        self.assertCliOk(self.server.aws("iam", "delete-access-key", "--user-name", "alice",
                                         "--access-key-id", creds[0]))
        self.assertCliError(self.cli_as(creds, "sts", "get-caller-identity"),
                            "InvalidClientTokenId")

    def test_user_crud_errors(self):
        self.iam().create_user(UserName="dup")
        self.assertQueryError(409, "EntityAlreadyExists", "User with name dup already exists.",
                              self.iam().create_user, UserName="dup")
        self.assertQueryError(404, "NoSuchEntity", "The user with name ghost cannot be found.",
                              self.iam().get_user, UserName="ghost")
        self.assertQueryError(400, "ValidationError", None,
                              self.server.client("iam", validate=False).create_user,
                              UserName="bad/name")
        users = [u["UserName"] for u in self.iam().list_users()["Users"]]
        self.assertIn("dup", users)
        page = self.iam().list_users(MaxItems=1)
        self.assertTrue(page["IsTruncated"])
        self.assertEqual(len(page["Users"]), 1)
        rest = self.iam().list_users(Marker=page["Marker"])["Users"]
        self.assertNotIn(page["Users"][0]["UserName"], [u["UserName"] for u in rest])
        self.iam().tag_user(UserName="dup", Tags=[{"Key": "team", "Value": "blue"},
                                                  {"Key": "env", "Value": "lab"}])
        self.iam().tag_user(UserName="dup", Tags=[{"Key": "team", "Value": "red"}])
        self.iam().untag_user(UserName="dup", TagKeys=["env"])
        self.assertEqual(self.iam().list_user_tags(UserName="dup")["Tags"],
                         [{"Key": "team", "Value": "red"}])
        self.iam().delete_user(UserName="dup")
        self.assertQueryError(404, "NoSuchEntity", None, self.iam().get_user, UserName="dup")

    # --- groups and policies ---------------------------------------------------------------------

    def test_groups_and_policies_round_trip(self):
        iam = self.iam()
        iam.create_user(UserName="gina")
        group = iam.create_group(GroupName="ops")["Group"]
        self.assertEqual(group["Arn"], f"arn:aws:iam::{ACCOUNT}:group/ops")
        iam.add_user_to_group(GroupName="ops", UserName="gina")
        got = iam.get_group(GroupName="ops")
        self.assertEqual([u["UserName"] for u in got["Users"]], ["gina"])
        self.assertEqual([g["GroupName"] for g in iam.list_groups_for_user(UserName="gina")["Groups"]],
                         ["ops"])

        document = policy({"Effect": "Allow", "Action": "s3:GetObject",
                           "Resource": "arn:aws:s3:::lab/*",
                           "Condition": {"StringEquals": {"aws:username": "gina & co"}}})
        self.assertCliOk(self.server.aws("iam", "put-user-policy", "--user-name", "gina",
                                         "--policy-name", "read", "--policy-document", document))
        out = self.assertCliOk(self.server.aws("iam", "get-user-policy", "--user-name", "gina",
                                               "--policy-name", "read"))
        self.assertEqual(out["PolicyDocument"], json.loads(document))
        self.assertEqual(iam.list_user_policies(UserName="gina")["PolicyNames"], ["read"])
        iam.put_group_policy(GroupName="ops", PolicyName="g", PolicyDocument=document)
        self.assertEqual(iam.get_group_policy(GroupName="ops", PolicyName="g")["PolicyDocument"],
                         json.loads(document))

        self.assertQueryError(400, "MalformedPolicyDocument", None, iam.put_user_policy,
                              UserName="gina", PolicyName="bad", PolicyDocument='{"Version":')
        self.assertQueryError(404, "NoSuchEntity", None, iam.get_user_policy, UserName="gina",
                              PolicyName="nope")

        created = iam.create_policy(PolicyName="managed", PolicyDocument=document,
                                    Description="lab")["Policy"]
        arn = created["Arn"]
        self.assertEqual(arn, f"arn:aws:iam::{ACCOUNT}:policy/managed")
        self.assertEqual(created["DefaultVersionId"], "v1")
        self.assertQueryError(409, "EntityAlreadyExists", None, iam.create_policy,
                              PolicyName="managed", PolicyDocument=document)
        v2 = policy({"Effect": "Deny", "Action": "*", "Resource": "*"})
        version = iam.create_policy_version(PolicyArn=arn, PolicyDocument=v2,
                                            SetAsDefault=True)["PolicyVersion"]
        self.assertEqual(version["VersionId"], "v2")
        self.assertTrue(version["IsDefaultVersion"])
        self.assertEqual(iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
                         ["Document"], json.loads(document))
        self.assertEqual(sorted(v["VersionId"] for v in
                                iam.list_policy_versions(PolicyArn=arn)["Versions"]), ["v1", "v2"])
        self.assertQueryError(409, "DeleteConflict", None, iam.delete_policy_version,
                              PolicyArn=arn, VersionId="v2")
        iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
        self.assertEqual(iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"], "v1")

        iam.attach_user_policy(UserName="gina", PolicyArn=arn)
        iam.attach_group_policy(GroupName="ops", PolicyArn=arn)
        self.assertEqual(iam.list_attached_user_policies(UserName="gina")["AttachedPolicies"],
                         [{"PolicyName": "managed", "PolicyArn": arn}])
        self.assertEqual(iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"], 2)
        self.assertIn(arn, [p["Arn"] for p in iam.list_policies(Scope="Local",
                                                                OnlyAttached=True)["Policies"]])
        self.assertQueryError(409, "DeleteConflict", None, iam.delete_policy, PolicyArn=arn)
        self.assertQueryError(404, "NoSuchEntity", None, iam.attach_user_policy, UserName="gina",
                              PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/none")

        self.assertQueryError(409, "DeleteConflict", None, iam.delete_group, GroupName="ops")
        iam.detach_user_policy(UserName="gina", PolicyArn=arn)
        iam.detach_group_policy(GroupName="ops", PolicyArn=arn)
        iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
        iam.delete_policy(PolicyArn=arn)
        self.assertQueryError(404, "NoSuchEntity", f"Policy {arn} was not found.",
                              iam.get_policy, PolicyArn=arn)

        iam.remove_user_from_group(GroupName="ops", UserName="gina")
        iam.delete_group_policy(GroupName="ops", PolicyName="g")
        iam.delete_group(GroupName="ops")
        iam.delete_user_policy(UserName="gina", PolicyName="read")
        iam.delete_user(UserName="gina")

    # --- authorisation of IAM calls -------------------------------------------------------------

    def test_iam_calls_need_an_identity_policy(self):
        creds = self.new_user("bob")
        bob = self.client_for("iam", creds)
        response = self.assertQueryError(
            403, "AccessDenied",
            f"User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: iam:CreateUser "
            f"on resource: arn:aws:iam::{ACCOUNT}:user/carol because no identity-based policy "
            "allows the iam:CreateUser action",
            bob.create_user, UserName="carol")
        self.assertEqual(response["Error"]["Type"], "Sender")
        self.assertCliError(self.cli_as(creds, "iam", "create-user", "--user-name", "carol"),
                            "AccessDenied")

        arn = self.iam().create_policy(PolicyName="user-admin", PolicyDocument=policy(
            {"Effect": "Allow", "Action": "iam:CreateUser",
             "Resource": f"arn:aws:iam::{ACCOUNT}:user/c*"}))["Policy"]["Arn"]
        self.iam().attach_user_policy(UserName="bob", PolicyArn=arn)
        self.assertEqual(bob.create_user(UserName="carol")["User"]["UserName"], "carol")
        # Only what the policy names: another name, or another action, stays denied.
        self.assertQueryError(403, "AccessDenied", None, bob.create_user, UserName="dave")
        self.assertQueryError(403, "AccessDenied", None, bob.delete_user, UserName="carol")
        # An explicit deny in a group policy wins over the allow.
        self.iam().create_group(GroupName="no-create")
        self.iam().put_group_policy(GroupName="no-create", PolicyName="deny", PolicyDocument=policy(
            {"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}))
        self.iam().add_user_to_group(GroupName="no-create", UserName="bob")
        self.assertQueryError(
            403, "AccessDenied",
            f"User: arn:aws:iam::{ACCOUNT}:user/bob is not authorized to perform: iam:CreateUser "
            f"on resource: arn:aws:iam::{ACCOUNT}:user/cecil with an explicit deny in an "
            "identity-based policy",
            bob.create_user, UserName="cecil")

    # --- accounts ------------------------------------------------------------------------------

    def test_admin_create_account_while_the_server_runs(self):
        where = self.server.admin_location_args()  # and in cluster mode, its database
        env = self.server.admin_env()
        proc = subprocess.run([HANGAR_BIN, "admin", "create-account", *where,
                               "--account-id", "444455556666"],
                              capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        created = json.loads(proc.stdout)
        self.assertEqual(created["AccountId"], "444455556666")
        creds = (created["AccessKeyId"], created["SecretAccessKey"])
        who = self.client_for("sts", creds).get_caller_identity()
        self.assertEqual(who["Arn"], "arn:aws:iam::444455556666:root")
        self.assertEqual(who["Account"], "444455556666")
        # The new account's root administers its own account, apart from the default one.
        other = self.client_for("iam", creds)
        other.create_user(UserName="alice")
        self.assertEqual([u["Arn"] for u in other.list_users()["Users"]],
                         ["arn:aws:iam::444455556666:user/alice"])

        again = subprocess.run([HANGAR_BIN, "admin", "create-account", *where,
                                "--account-id", "444455556666"],
                               capture_output=True, text=True, timeout=60, env=env)
        self.assertNotEqual(again.returncode, 0)
        listed = subprocess.run([HANGAR_BIN, "admin", "list-accounts", *where],
                                capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertEqual(sorted(json.loads(listed.stdout)["Accounts"]),
                         [ACCOUNT, "444455556666"])

    # --- STS -----------------------------------------------------------------------------------

    def test_assume_role_trust_session_token_and_expiry(self):
        a = self.new_user("role-user-a")
        b = self.new_user("role-user-b")
        trust = policy({"Effect": "Allow", "Action": "sts:AssumeRole",
                        "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/role-user-a"}})
        role = self.iam().create_role(RoleName="lab-role", AssumeRolePolicyDocument=trust)["Role"]
        role_arn = role["Arn"]
        self.assertEqual(role_arn, f"arn:aws:iam::{ACCOUNT}:role/lab-role")
        self.assertEqual(self.iam().get_role(RoleName="lab-role")["Role"]
                         ["AssumeRolePolicyDocument"], json.loads(trust))
        self.iam().put_role_policy(RoleName="lab-role", PolicyName="list",
                                   PolicyDocument=policy(ALLOW_ALL_IAM_LIST))

        self.assertQueryError(
            403, "AccessDenied",
            f"User: arn:aws:iam::{ACCOUNT}:user/role-user-b is not authorized to perform: "
            f"sts:AssumeRole on resource: {role_arn}",
            self.client_for("sts", b).assume_role, RoleArn=role_arn, RoleSessionName="s1")
        self.assertQueryError(400, "ValidationError", None, self.client_for("sts", a).assume_role,
                              RoleArn=role_arn, RoleSessionName="s1", DurationSeconds=7200)

        out = self.assertCliOk(self.cli_as(a, "sts", "assume-role", "--role-arn", role_arn,
                                           "--role-session-name", "s1"))
        c = out["Credentials"]
        self.assertTrue(c["AccessKeyId"].startswith("ASIA"))
        self.assertEqual(out["AssumedRoleUser"]["Arn"],
                         f"arn:aws:sts::{ACCOUNT}:assumed-role/lab-role/s1")
        self.assertEqual(out["AssumedRoleUser"]["AssumedRoleId"], role["RoleId"] + ":s1")
        session = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])

        who = self.assertCliOk(self.cli_as(session, "sts", "get-caller-identity"))
        self.assertEqual(who["Arn"], f"arn:aws:sts::{ACCOUNT}:assumed-role/lab-role/s1")
        self.assertEqual(who["UserId"], role["RoleId"] + ":s1")
        # The role's policies apply to the session: listing is allowed, creating is not.
        role_iam = self.client_for("iam", session)
        self.assertIn("role-user-a", [u["UserName"] for u in role_iam.list_users()["Users"]])
        self.assertQueryError(
            403, "AccessDenied",
            f"User: arn:aws:sts::{ACCOUNT}:assumed-role/lab-role/s1 is not authorized to perform: "
            f"iam:CreateUser on resource: arn:aws:iam::{ACCOUNT}:user/x because no "
            "identity-based policy allows the iam:CreateUser action",
            role_iam.create_user, UserName="x")

        # A session policy narrows the session further.
        narrowed = self.client_for("sts", a).assume_role(
            RoleArn=role_arn, RoleSessionName="narrow",
            Policy=policy({"Effect": "Allow", "Action": "iam:GetRole", "Resource": "*"}))
        nc = narrowed["Credentials"]
        narrow_iam = self.client_for("iam", (nc["AccessKeyId"], nc["SecretAccessKey"],
                                             nc["SessionToken"]))
        narrow_iam.get_role(RoleName="lab-role")
        self.assertQueryError(403, "AccessDenied", None, narrow_iam.list_users)

        # The session token must be the one issued with the key; without it the key is unknown.
        self.assertCliError(self.cli_as((c["AccessKeyId"], c["SecretAccessKey"],
                                         c["SessionToken"][:-4] + "AAAA"),
                                        "sts", "get-caller-identity"), "InvalidClientTokenId")
        self.assertCliError(self.cli_as((c["AccessKeyId"], c["SecretAccessKey"]),
                                        "sts", "get-caller-identity"), "InvalidClientTokenId")

        # GetSessionToken for a user: works as the user.
        st = self.client_for("sts", a).get_session_token(DurationSeconds=900)["Credentials"]
        as_user = self.client_for("sts", (st["AccessKeyId"], st["SecretAccessKey"],
                                          st["SessionToken"])).get_caller_identity()
        self.assertEqual(as_user["Arn"], f"arn:aws:iam::{ACCOUNT}:user/role-user-a")

        # No secret reaches the data directory in plaintext.
        secrets = [a[1], b[1], c["SecretAccessKey"], c["SessionToken"], st["SecretAccessKey"],
                   st["SessionToken"]]
        self.assertEqual(self.server.files_containing(*[s.encode() for s in secrets]), [])

        # An hour later (dev clock) the session has expired.
        self.server.advance_clock(3700)
        self.assertCliError(self.cli_as(session, "sts", "get-caller-identity"), "ExpiredToken",
                            "The security token included in the request is expired")
        self.assertCliOk(self.cli_as(a, "sts", "get-caller-identity"))


if __name__ == "__main__":
    unittest.main()
