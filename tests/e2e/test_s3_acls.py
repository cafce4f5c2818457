"""S3 Object Ownership and ACLs (issue 11) against the real binary, with boto3, the aws CLI and
raw signed requests: Put/Get/DeleteBucketOwnershipControls, canned ACLs on bucket and object
create, Put/Get Bucket and Object ACL with grants to accounts and to the AllUsers /
AuthenticatedUsers groups, object ownership under ObjectWriter and BucketOwnerPreferred, ACLs
under Block Public Access (bucket and account level), per-version ACLs, and the errors AWS
answers (InvalidBucketAclWithObjectOwnership, AccessControlListNotSupported,
OwnershipControlsNotFoundError, UnresolvableGrantByEmailAddress, InvalidArgument, InvalidRequest,
MalformedACLError).

New buckets stay BucketOwnerEnforced with all of Block Public Access on (test_s3_access.py covers
that); every test here enables ACLs on its own bucket first, and removes the bucket's public access
block where it needs public ACLs. Expectations follow AWS's documentation: "Controlling ownership
of objects and disabling ACLs for your bucket", its "Troubleshooting" page, "Access control list
(ACL) overview", the PutBucketAcl / PutObjectAcl / CreateBucket / PutBucketOwnershipControls API
references and "Blocking public access to your Amazon S3 storage".
"""

import base64
import hashlib
import json
import re
import unittest

import botocore

from harness import HangarTestCase

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
ACCOUNT_BPA_PATH = "/v20180820/configuration/publicAccessBlock"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
# 64 hex digits, the form of a canonical user id, but no account's.
NO_SUCH_CANONICAL_ID = "0123456789abcdef" * 4
OFF = {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
       "RestrictPublicBuckets": False}


def grants_of(acl):
    """The grants of a GetBucketAcl / GetObjectAcl answer (boto3 or aws CLI JSON) as a sorted list
    of (grantee type, canonical id or group URI, permission); DisplayName is left out (AWS no
    longer promises it)."""
    out = []
    for grant in acl.get("Grants", []):
        grantee = grant["Grantee"]
        out.append((grantee.get("Type"), grantee.get("ID") or grantee.get("URI"),
                    grant["Permission"]))
    return sorted(out)


def grant_id(canonical_id):
    """An x-amz-grant-* header value naming one account by canonical id."""
    return f'id="{canonical_id}"'


class S3AclsTest(HangarTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.anonymous = cls.server.s3_client(signature_version=botocore.UNSIGNED)
        cls.a_id = cls.s3.list_buckets()["Owner"]["ID"]
        created = cls.server.second_account()
        cls.b_account = created["AccountId"]
        cls.b_keys = {"access_key_id": created["AccessKeyId"],
                      "secret_access_key": created["SecretAccessKey"]}
        cls.b_s3 = cls.server.s3_client(**cls.b_keys)
        cls.b_id = cls.b_s3.list_buckets()["Owner"]["ID"]
        assert cls.a_id != cls.b_id, (cls.a_id, cls.b_id)

    # --- helpers ---------------------------------------------------------------------------------

    def acl_bucket(self, name, ownership="ObjectWriter", public=False):
        """Creates bucket `name` and sets its object ownership (enabling ACLs); public=True also
        removes its public access block (new buckets block public access)."""
        self.s3.create_bucket(Bucket=name)
        self.s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
            "Rules": [{"ObjectOwnership": ownership}]})
        if public:
            self.s3.delete_public_access_block(Bucket=name)
        return name

    def ownership(self, bucket):
        rules = self.s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
        return [rule["ObjectOwnership"] for rule in rules]

    def read(self, client, bucket, key, **kwargs):
        return client.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()

    def assertDenied(self, call, *args, **kwargs):
        """403 AccessDenied (any message)."""
        return self.assertS3Error(403, "AccessDenied", None, call, *args, **kwargs)

    def listed_owners(self, bucket):
        """{key: owner canonical id} from the bucket owner's ListObjectsV2 with FetchOwner."""
        contents = self.s3.list_objects_v2(Bucket=bucket, FetchOwner=True).get("Contents", [])
        return {o["Key"]: o["Owner"]["ID"] for o in contents}

    def account_bpa(self, method, body=b""):
        return self.server.s3_request(method, ACCOUNT_BPA_PATH, body,
                                      headers={"x-amz-account-id": self.server.account_id})

    def b_user(self, name, *statements):
        """An IAM user of account B (optionally with one inline policy) and its S3 client."""
        iam = self.server.client("iam", **self.b_keys)
        iam.create_user(UserName=name)
        if statements:
            document = {"Version": "2012-10-17", "Statement": list(statements)}
            iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy",
                                PolicyDocument=json.dumps(document))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return iam, self.server.s3_client(access_key_id=key["AccessKeyId"],
                                          secret_access_key=key["SecretAccessKey"])

    def a_user(self, name, *statements):
        """An IAM user of account A (the bucket owner) with one inline policy, and its client."""
        iam = self.server.client("iam")
        iam.create_user(UserName=name)
        document = {"Version": "2012-10-17", "Statement": list(statements)}
        iam.put_user_policy(UserName=name, PolicyName=f"{name}-policy",
                            PolicyDocument=json.dumps(document))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return self.server.s3_client(access_key_id=key["AccessKeyId"],
                                     secret_access_key=key["SecretAccessKey"])

    # --- 0. what ACLs must not widen (found by a security read of the first version) -------------

    def test_a_write_grant_adds_and_hides_but_never_removes_versions(self):
        bucket = self.acl_bucket("acl-write-not-version-delete")
        self.s3.put_bucket_versioning(Bucket=bucket,
                                      VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_bucket_acl(Bucket=bucket, GrantWrite=grant_id(self.b_id),
                               GrantFullControl=grant_id(self.a_id))
        kept = self.s3.put_object(Bucket=bucket, Key="log", Body=b"history")["VersionId"]
        self.b_s3.put_object(Bucket=bucket, Key="log", Body=b"b's line")
        marker = self.b_s3.delete_object(Bucket=bucket, Key="log")
        self.assertTrue(marker["DeleteMarker"])
        # Removing a version for good is the bucket owner's WRITE only.
        self.assertDenied(self.b_s3.delete_object, Bucket=bucket, Key="log", VersionId=kept)
        self.assertDenied(self.b_s3.delete_object, Bucket=bucket, Key="log",
                          VersionId=marker["VersionId"])
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="log",
                                            VersionId=kept)["Body"].read(), b"history")

    def test_an_acl_on_a_write_needs_put_object_acl(self):
        bucket = self.acl_bucket("acl-write-needs-put-acl")
        arn = f"arn:aws:s3:::{bucket}/*"
        writer = self.a_user("acl-put-only", {"Effect": "Allow", "Action": "s3:PutObject",
                                              "Resource": arn})
        self.assertDenied(writer.put_object, Bucket=bucket, Key="shared", Body=b"x",
                          GrantRead=grant_id(self.b_id))
        self.assertS3Error(404, "404", None, self.s3.head_object, Bucket=bucket, Key="shared")
        writer.put_object(Bucket=bucket, Key="plain", Body=b"x", ACL="private")
        granting = self.a_user("acl-put-and-acl", {
            "Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectAcl"], "Resource": arn})
        granting.put_object(Bucket=bucket, Key="shared", Body=b"for b",
                            GrantRead=grant_id(self.b_id))
        self.assertEqual(self.read(self.b_s3, bucket, "shared"), b"for b")
        # CreateBucket with a granting ACL needs s3:PutBucketAcl too.
        creator = self.a_user("acl-create-only", {"Effect": "Allow", "Action": "s3:CreateBucket",
                                                  "Resource": "*"})
        self.assertDenied(creator.create_bucket, Bucket="acl-created-with-ownership",
                          ObjectOwnership="ObjectWriter")
        creator.create_bucket(Bucket="acl-created-plain")

    def test_a_policy_can_refuse_writes_by_their_acl_header(self):
        bucket = self.acl_bucket("acl-condition-keys", public=True)
        self.s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                           "Resource": f"arn:aws:s3:::{bucket}/*",
                           "Condition": {"StringEquals": {"s3:x-amz-acl": "public-read"}}}]}))
        self.assertDenied(self.s3.put_object, Bucket=bucket, Key="public", Body=b"x",
                          ACL="public-read")
        self.s3.put_object(Bucket=bucket, Key="private", Body=b"x", ACL="private")
        self.s3.put_object(Bucket=bucket, Key="none", Body=b"x")

    def test_another_accounts_object_cannot_be_locked_against_the_bucket_owner(self):
        bucket = "acl-lock-foreign"
        self.s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True,
                              ObjectOwnership="ObjectWriter")
        self.s3.put_bucket_acl(Bucket=bucket, GrantWrite=grant_id(self.b_id),
                               GrantFullControl=grant_id(self.a_id))
        version = self.b_s3.put_object(Bucket=bucket, Key="b-object", Body=b"x",
                                       ChecksumAlgorithm="SHA256")["VersionId"]
        self.assertDenied(self.b_s3.put_object_legal_hold, Bucket=bucket, Key="b-object",
                          VersionId=version, LegalHold={"Status": "ON"})
        self.s3.delete_object(Bucket=bucket, Key="b-object", VersionId=version)
        self.assertEqual(self.s3.list_object_versions(Bucket=bucket).get("Versions", []), [])

    # --- 1. ownership controls -------------------------------------------------------------------

    def test_ownership_controls_round_trip_and_enable_acls(self):
        bucket = "acl-ownership"
        self.s3.create_bucket(Bucket=bucket)
        self.assertEqual(self.ownership(bucket), ["BucketOwnerEnforced"])
        self.s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
            "Rules": [{"ObjectOwnership": "ObjectWriter"}]})
        self.assertEqual(self.ownership(bucket), ["ObjectWriter"])
        self.s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
        self.assertEqual(self.ownership(bucket), ["BucketOwnerPreferred"])
        # ACLs are enabled: a grant header is accepted and shows in the object's ACL.
        self.s3.put_object(Bucket=bucket, Key="shared", Body=b"x",
                           GrantRead=grant_id(self.b_id), GrantFullControl=grant_id(self.a_id))
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="shared")),
                         sorted([("CanonicalUser", self.a_id, "FULL_CONTROL"),
                                 ("CanonicalUser", self.b_id, "READ")]))

    def test_create_bucket_with_object_ownership_sets_it(self):
        bucket = "acl-created-writer"
        self.s3.create_bucket(Bucket=bucket, ObjectOwnership="ObjectWriter")
        self.assertEqual(self.ownership(bucket), ["ObjectWriter"])
        self.s3.put_bucket_acl(Bucket=bucket, GrantRead=grant_id(self.b_id),
                               GrantFullControl=grant_id(self.a_id))
        self.assertIn(("CanonicalUser", self.b_id, "READ"),
                      grants_of(self.s3.get_bucket_acl(Bucket=bucket)))

    def test_deleted_ownership_controls_answer_not_found_and_acls_work_as_object_writer(self):
        bucket = self.acl_bucket("acl-ownership-deleted", "BucketOwnerPreferred")
        self.s3.delete_bucket_ownership_controls(Bucket=bucket)
        self.assertS3Error(404, "OwnershipControlsNotFoundError", None,
                           self.s3.get_bucket_ownership_controls, Bucket=bucket)
        # Without ownership controls the bucket behaves as ObjectWriter: ACLs are enabled.
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"for b", GrantRead=grant_id(self.b_id),
                           GrantFullControl=grant_id(self.a_id))
        self.assertEqual(self.read(self.b_s3, bucket, "k"), b"for b")
        # And an object B writes there is B's, even with bucket-owner-full-control.
        self.s3.put_bucket_acl(Bucket=bucket, GrantWrite=grant_id(self.b_id),
                               GrantFullControl=grant_id(self.a_id))
        self.b_s3.put_object(Bucket=bucket, Key="from-b", Body=b"b",
                             ACL="bucket-owner-full-control")
        self.assertEqual(self.listed_owners(bucket)["from-b"], self.b_id)

    def test_enforcing_bucket_owner_requires_an_owner_only_bucket_acl(self):
        bucket = self.acl_bucket("acl-back-to-enforced")
        self.s3.put_bucket_acl(Bucket=bucket, GrantRead=grant_id(self.b_id),
                               GrantFullControl=grant_id(self.a_id))
        self.assertS3Error(400, "InvalidBucketAclWithObjectOwnership", None,
                           self.s3.put_bucket_ownership_controls, Bucket=bucket,
                           OwnershipControls={
                               "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        self.assertEqual(self.ownership(bucket), ["ObjectWriter"])

        self.s3.put_bucket_acl(Bucket=bucket, ACL="private")
        self.assertEqual(grants_of(self.s3.get_bucket_acl(Bucket=bucket)),
                         [("CanonicalUser", self.a_id, "FULL_CONTROL")])
        self.s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        self.assertEqual(self.ownership(bucket), ["BucketOwnerEnforced"])

        # ACLs are disabled again: only private / bucket-owner-full-control get through.
        self.s3.put_object(Bucket=bucket, Key="ok", Body=b"x", ACL="bucket-owner-full-control")
        self.s3.put_object(Bucket=bucket, Key="ok", Body=b"x", ACL="private")
        for call, kwargs in (
                (self.s3.put_object, {"Key": "k", "Body": b"x", "ACL": "authenticated-read"}),
                (self.s3.put_object, {"Key": "k", "Body": b"x", "GrantRead": grant_id(self.b_id)}),
                (self.s3.put_object_acl, {"Key": "ok", "ACL": "public-read"}),
                (self.s3.put_bucket_acl, {"GrantRead": grant_id(self.b_id)})):
            with self.subTest(call=call.__name__, **{k: v for k, v in kwargs.items()
                                                     if k != "Body"}):
                self.assertS3Error(400, "AccessControlListNotSupported",
                                   "The bucket does not allow ACLs", call, Bucket=bucket, **kwargs)

    def test_create_bucket_with_a_public_acl_and_enforced_ownership_is_refused(self):
        bucket = "acl-create-public"
        self.assertS3Error(400, "InvalidBucketAclWithObjectOwnership", None,
                           self.s3.create_bucket, Bucket=bucket, ACL="public-read")
        self.assertS3Error(404, "404", None, self.s3.head_bucket, Bucket=bucket)

    # --- 2. canned ACLs and anonymous access -----------------------------------------------------

    def test_public_read_canned_acls_admit_anonymous_readers(self):
        bucket = self.acl_bucket("acl-public-read", public=True)
        self.s3.put_object(Bucket=bucket, Key="public", Body=b"for everyone", ACL="public-read")
        self.s3.put_object(Bucket=bucket, Key="private", Body=b"owner only")
        self.assertEqual(self.read(self.anonymous, bucket, "public"), b"for everyone")
        self.assertDenied(self.anonymous.get_object, Bucket=bucket, Key="private")
        # The object ACL grants READ only: no anonymous overwrite, no anonymous listing yet.
        self.assertDenied(self.anonymous.put_object, Bucket=bucket, Key="public", Body=b"graffiti")
        self.assertDenied(self.anonymous.list_objects_v2, Bucket=bucket)

        acl = self.s3.get_object_acl(Bucket=bucket, Key="public")
        self.assertEqual(acl["Owner"]["ID"], self.a_id)
        self.assertEqual(grants_of(acl), sorted([("CanonicalUser", self.a_id, "FULL_CONTROL"),
                                                 ("Group", ALL_USERS, "READ")]))
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="private")),
                         [("CanonicalUser", self.a_id, "FULL_CONTROL")])

        # A public-read bucket ACL lets anyone list, not read the objects.
        self.s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
        self.assertIn(("Group", ALL_USERS, "READ"),
                      grants_of(self.s3.get_bucket_acl(Bucket=bucket)))
        listed = self.anonymous.list_objects_v2(Bucket=bucket)
        self.assertEqual(sorted(o["Key"] for o in listed["Contents"]), ["private", "public"])
        self.assertDenied(self.anonymous.get_object, Bucket=bucket, Key="private")
        self.assertEqual(self.read(self.anonymous, bucket, "public"), b"for everyone")

        # Back to private: the listing is closed again.
        self.s3.put_bucket_acl(Bucket=bucket, ACL="private")
        self.assertDenied(self.anonymous.list_objects_v2, Bucket=bucket)

    # --- 3. Block Public Access ------------------------------------------------------------------

    def test_block_public_acls_refuses_public_acls(self):
        bucket = self.acl_bucket("acl-block-public")
        self.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            **OFF, "BlockPublicAcls": True})
        self.s3.put_object(Bucket=bucket, Key="private", Body=b"x", ACL="private")
        self.assertDenied(self.s3.put_bucket_acl, Bucket=bucket, ACL="public-read")
        self.assertDenied(self.s3.put_object, Bucket=bucket, Key="public", Body=b"x",
                          ACL="public-read")
        self.assertDenied(self.s3.put_object_acl, Bucket=bucket, Key="private",
                          ACL="public-read")
        # AuthenticatedUsers grants are public too.
        self.assertDenied(self.s3.put_object, Bucket=bucket, Key="public", Body=b"x",
                          ACL="authenticated-read")
        self.assertS3Error(404, "404", None, self.s3.head_object, Bucket=bucket, Key="public")
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="private")),
                         [("CanonicalUser", self.a_id, "FULL_CONTROL")])
        self.assertNotIn(("Group", ALL_USERS, "READ"),
                         grants_of(self.s3.get_bucket_acl(Bucket=bucket)))
        # A grant to an account is not public: still allowed.
        self.s3.put_object_acl(Bucket=bucket, Key="private", GrantRead=grant_id(self.b_id),
                               GrantFullControl=grant_id(self.a_id))
        # Without the block, the same public ACL is accepted.
        self.s3.delete_public_access_block(Bucket=bucket)
        self.s3.put_object(Bucket=bucket, Key="public", Body=b"now public", ACL="public-read")
        self.assertEqual(self.read(self.anonymous, bucket, "public"), b"now public")

    def test_ignore_public_acls_hides_public_objects_while_set(self):
        bucket = self.acl_bucket("acl-ignore-public", public=True)
        self.s3.put_object(Bucket=bucket, Key="public", Body=b"public", ACL="public-read")
        self.assertEqual(self.read(self.anonymous, bucket, "public"), b"public")

        self.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            **OFF, "IgnorePublicAcls": True})
        self.assertDenied(self.anonymous.get_object, Bucket=bucket, Key="public")
        # The ACL itself persists.
        self.assertIn(("Group", ALL_USERS, "READ"),
                      grants_of(self.s3.get_object_acl(Bucket=bucket, Key="public")))

        self.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=OFF)
        self.assertEqual(self.read(self.anonymous, bucket, "public"), b"public")

    def test_account_level_ignore_public_acls_hides_public_objects(self):
        bucket = self.acl_bucket("acl-account-ignore", public=True)
        self.s3.put_object(Bucket=bucket, Key="public", Body=b"public", ACL="public-read")
        self.assertEqual(self.read(self.anonymous, bucket, "public"), b"public")

        body = (b'<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                b"<IgnorePublicAcls>true</IgnorePublicAcls>"
                b"</PublicAccessBlockConfiguration>")
        self.addCleanup(self.account_bpa, "DELETE")  # the account's setting reaches every test
        self.assertEqual(self.account_bpa("PUT", body).status, 200)
        self.assertDenied(self.anonymous.get_object, Bucket=bucket, Key="public")
        self.assertEqual(self.account_bpa("DELETE").status, 204)
        self.assertEqual(self.read(self.anonymous, bucket, "public"), b"public")

    # --- 4. grants to accounts -------------------------------------------------------------------

    def test_a_read_grant_to_another_account_lets_its_root_read(self):
        bucket = self.acl_bucket("acl-grant-account")
        self.s3.put_object(Bucket=bucket, Key="report", Body=b"for b")
        self.s3.put_object(Bucket=bucket, Key="secret", Body=b"not for b")
        self.assertDenied(self.b_s3.get_object, Bucket=bucket, Key="report")

        self.s3.put_object_acl(Bucket=bucket, Key="report", GrantRead=grant_id(self.b_id),
                               GrantFullControl=grant_id(self.a_id))
        self.assertEqual(self.read(self.b_s3, bucket, "report"), b"for b")
        self.assertDenied(self.b_s3.get_object, Bucket=bucket, Key="secret")
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="report")),
                         sorted([("CanonicalUser", self.a_id, "FULL_CONTROL"),
                                 ("CanonicalUser", self.b_id, "READ")]))
        # READ is not READ_ACP, nor a right to overwrite.
        self.assertDenied(self.b_s3.get_object_acl, Bucket=bucket, Key="report")
        self.assertDenied(self.b_s3.put_object, Bucket=bucket, Key="report", Body=b"overwrite")

        # Replacing the ACL takes the grant away.
        self.s3.put_object_acl(Bucket=bucket, Key="report", ACL="private")
        self.assertDenied(self.b_s3.get_object, Bucket=bucket, Key="report")

    def test_an_access_control_policy_document_grants_like_the_headers(self):
        bucket = self.acl_bucket("acl-grant-document")
        self.s3.put_object(Bucket=bucket, Key="doc", Body=b"via document")
        self.assertDenied(self.b_s3.get_object, Bucket=bucket, Key="doc")
        self.s3.put_object_acl(Bucket=bucket, Key="doc", AccessControlPolicy={
            "Owner": {"ID": self.a_id},
            "Grants": [
                {"Grantee": {"Type": "CanonicalUser", "ID": self.a_id},
                 "Permission": "FULL_CONTROL"},
                {"Grantee": {"Type": "CanonicalUser", "ID": self.b_id}, "Permission": "READ"},
                {"Grantee": {"Type": "CanonicalUser", "ID": self.b_id},
                 "Permission": "READ_ACP"}]})
        self.assertEqual(self.read(self.b_s3, bucket, "doc"), b"via document")
        acl = self.b_s3.get_object_acl(Bucket=bucket, Key="doc")  # READ_ACP
        self.assertEqual(acl["Owner"]["ID"], self.a_id)
        self.assertEqual(grants_of(acl), sorted([("CanonicalUser", self.a_id, "FULL_CONTROL"),
                                                 ("CanonicalUser", self.b_id, "READ"),
                                                 ("CanonicalUser", self.b_id, "READ_ACP")]))

    def test_an_iam_user_of_the_grantee_account_also_needs_an_identity_policy(self):
        bucket = self.acl_bucket("acl-grant-user")
        self.s3.put_object(Bucket=bucket, Key="report", Body=b"for b's users")
        self.s3.put_object_acl(Bucket=bucket, Key="report", GrantRead=grant_id(self.b_id),
                               GrantFullControl=grant_id(self.a_id))
        self.assertEqual(self.read(self.b_s3, bucket, "report"), b"for b's users")

        _, bare = self.b_user("acl-reader-without-policy")
        self.assertDenied(bare.get_object, Bucket=bucket, Key="report")
        _, allowed = self.b_user("acl-reader-with-policy", {
            "Effect": "Allow", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*"})
        self.assertEqual(self.read(allowed, bucket, "report"), b"for b's users")
        # The identity policy alone is not enough for an object without the grant.
        self.s3.put_object(Bucket=bucket, Key="other", Body=b"no grant")
        self.assertDenied(allowed.get_object, Bucket=bucket, Key="other")

    def test_grant_by_email_address_is_unresolvable(self):
        bucket = self.acl_bucket("acl-grant-email")
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        self.assertS3Error(400, "UnresolvableGrantByEmailAddress", None, self.s3.put_object_acl,
                           Bucket=bucket, Key="k", GrantRead='emailAddress="x@example.com"')
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="k")),
                         [("CanonicalUser", self.a_id, "FULL_CONTROL")])

    def test_grant_to_an_unknown_canonical_id_is_an_invalid_argument(self):
        bucket = self.acl_bucket("acl-grant-unknown-id")
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        self.assertS3Error(400, "InvalidArgument", None, self.s3.put_object_acl,
                           Bucket=bucket, Key="k", GrantRead=grant_id(NO_SUCH_CANONICAL_ID))
        self.assertS3Error(400, "InvalidArgument", None, self.s3.put_bucket_acl,
                           Bucket=bucket, GrantRead=grant_id(NO_SUCH_CANONICAL_ID))
        self.assertS3Error(400, "InvalidArgument", None, self.s3.put_object,
                           Bucket=bucket, Key="new", Body=b"x",
                           GrantRead=grant_id(NO_SUCH_CANONICAL_ID))
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="k")),
                         [("CanonicalUser", self.a_id, "FULL_CONTROL")])
        self.assertS3Error(404, "404", None, self.s3.head_object, Bucket=bucket, Key="new")

    def test_canned_acl_and_grant_headers_together_are_an_invalid_request(self):
        bucket = self.acl_bucket("acl-canned-and-grants")
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        self.assertS3Error(400, "InvalidRequest", None, self.s3.put_object_acl, Bucket=bucket,
                           Key="k", ACL="private", GrantRead=grant_id(self.b_id))
        self.assertS3Error(400, "InvalidRequest", None, self.s3.put_object, Bucket=bucket,
                           Key="k2", Body=b"x", ACL="private", GrantRead=grant_id(self.b_id))
        self.assertS3Error(400, "InvalidRequest", None, self.s3.put_bucket_acl, Bucket=bucket,
                           ACL="private", GrantRead=grant_id(self.b_id))
        self.assertDenied(self.b_s3.get_object, Bucket=bucket, Key="k")

    def test_an_acl_document_with_an_unknown_permission_is_malformed(self):
        bucket = self.acl_bucket("acl-malformed")
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        body = (
            '<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<Owner><ID>{self.a_id}</ID></Owner><AccessControlList>"
            f'<Grant><Grantee xmlns:xsi="{XSI}" xsi:type="CanonicalUser"><ID>{self.a_id}</ID>'
            "</Grantee><Permission>FULL_CONTROL</Permission></Grant>"
            f'<Grant><Grantee xmlns:xsi="{XSI}" xsi:type="CanonicalUser"><ID>{self.b_id}</ID>'
            "</Grantee><Permission>READ_EVERYTHING</Permission></Grant>"
            "</AccessControlList></AccessControlPolicy>").encode()
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        response = self.server.s3_request("PUT", f"/{bucket}/k", body, query="acl",
                                          headers={"Content-Type": "application/xml",
                                                   "Content-MD5": md5})
        self.assertEqual(response.status, 400, response)
        code = re.search(rb"<Code>([^<]*)</Code>", response.body)
        self.assertIsNotNone(code, response)
        self.assertEqual(code.group(1), b"MalformedACLError", response)
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="k")),
                         [("CanonicalUser", self.a_id, "FULL_CONTROL")])

    # --- 5. object ownership ---------------------------------------------------------------------

    def test_object_writer_objects_belong_to_the_writing_account(self):
        bucket = self.acl_bucket("acl-object-writer")
        self.s3.put_bucket_acl(Bucket=bucket, GrantWrite=grant_id(self.b_id),
                               GrantFullControl=grant_id(self.a_id))
        self.b_s3.put_object(Bucket=bucket, Key="b-private", Body=b"b's own")
        self.assertEqual(self.listed_owners(bucket), {"b-private": self.b_id})
        acl = self.b_s3.get_object_acl(Bucket=bucket, Key="b-private")
        self.assertEqual(acl["Owner"]["ID"], self.b_id)
        self.assertEqual(grants_of(acl), [("CanonicalUser", self.b_id, "FULL_CONTROL")])
        self.assertEqual(self.read(self.b_s3, bucket, "b-private"), b"b's own")
        # The bucket owner cannot read an object it does not own, but it may delete it; a delete
        # conditional on the ETag would reveal it, so that one needs the read as well.
        self.assertDenied(self.s3.get_object, Bucket=bucket, Key="b-private")
        self.assertDenied(self.s3.delete_object, Bucket=bucket, Key="b-private", IfMatch="*")
        self.s3.delete_object(Bucket=bucket, Key="b-private")
        self.assertEqual(self.listed_owners(bucket), {})

        # bucket-owner-full-control: still B's object, now readable by the bucket owner.
        self.b_s3.put_object(Bucket=bucket, Key="b-shared", Body=b"shared with a",
                             ACL="bucket-owner-full-control")
        self.assertEqual(self.read(self.s3, bucket, "b-shared"), b"shared with a")
        self.assertEqual(self.listed_owners(bucket), {"b-shared": self.b_id})
        acl = self.s3.get_object_acl(Bucket=bucket, Key="b-shared")
        self.assertEqual(acl["Owner"]["ID"], self.b_id)
        self.assertEqual(grants_of(acl), sorted([("CanonicalUser", self.a_id, "FULL_CONTROL"),
                                                 ("CanonicalUser", self.b_id, "FULL_CONTROL")]))

    def test_bucket_owner_preferred_takes_objects_written_with_bucket_owner_full_control(self):
        bucket = self.acl_bucket("acl-owner-preferred", "BucketOwnerPreferred")
        self.s3.put_bucket_acl(Bucket=bucket, GrantWrite=grant_id(self.b_id),
                               GrantFullControl=grant_id(self.a_id))
        self.b_s3.put_object(Bucket=bucket, Key="handed-over", Body=b"now a's",
                             ACL="bucket-owner-full-control")
        self.b_s3.put_object(Bucket=bucket, Key="kept", Body=b"still b's")
        self.assertEqual(self.listed_owners(bucket),
                         {"handed-over": self.a_id, "kept": self.b_id})
        self.assertEqual(self.s3.get_object_acl(Bucket=bucket, Key="handed-over")["Owner"]["ID"],
                         self.a_id)
        self.assertEqual(self.read(self.s3, bucket, "handed-over"), b"now a's")
        self.assertEqual(self.b_s3.get_object_acl(Bucket=bucket, Key="kept")["Owner"]["ID"],
                         self.b_id)
        self.assertDenied(self.s3.get_object, Bucket=bucket, Key="kept")

    # --- 6. AuthenticatedUsers -------------------------------------------------------------------

    def test_authenticated_read_admits_any_signed_caller_but_not_anonymous(self):
        bucket = self.acl_bucket("acl-authenticated-read", public=True)
        self.s3.put_object(Bucket=bucket, Key="members", Body=b"signed callers",
                           ACL="authenticated-read")
        self.assertEqual(self.read(self.b_s3, bucket, "members"), b"signed callers")
        self.assertDenied(self.anonymous.get_object, Bucket=bucket, Key="members")
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="members")),
                         sorted([("CanonicalUser", self.a_id, "FULL_CONTROL"),
                                 ("Group", AUTHENTICATED_USERS, "READ")]))

    # --- 7. versions -----------------------------------------------------------------------------

    def test_each_object_version_has_its_own_acl(self):
        bucket = self.acl_bucket("acl-versions", public=True)
        self.s3.put_bucket_versioning(Bucket=bucket,
                                      VersioningConfiguration={"Status": "Enabled"})
        v1 = self.s3.put_object(Bucket=bucket, Key="k", Body=b"one")["VersionId"]
        v2 = self.s3.put_object(Bucket=bucket, Key="k", Body=b"two")["VersionId"]
        self.assertNotEqual(v1, v2)

        self.s3.put_object_acl(Bucket=bucket, Key="k", VersionId=v1, ACL="public-read")
        self.assertEqual(self.read(self.anonymous, bucket, "k", VersionId=v1), b"one")
        self.assertDenied(self.anonymous.get_object, Bucket=bucket, Key="k", VersionId=v2)
        self.assertDenied(self.anonymous.get_object, Bucket=bucket, Key="k")
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="k", VersionId=v1)),
                         sorted([("CanonicalUser", self.a_id, "FULL_CONTROL"),
                                 ("Group", ALL_USERS, "READ")]))
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="k", VersionId=v2)),
                         [("CanonicalUser", self.a_id, "FULL_CONTROL")])
        # Without VersionId the ACL calls address the current version.
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="k")),
                         [("CanonicalUser", self.a_id, "FULL_CONTROL")])

        # A new version starts from its own ACL, not its predecessor's.
        v3 = self.s3.put_object(Bucket=bucket, Key="k", Body=b"three",
                                ACL="public-read")["VersionId"]
        self.assertEqual(self.read(self.anonymous, bucket, "k"), b"three")
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"four")
        self.assertDenied(self.anonymous.get_object, Bucket=bucket, Key="k")
        self.assertEqual(self.read(self.anonymous, bucket, "k", VersionId=v3), b"three")
        self.assertDenied(self.anonymous.get_object, Bucket=bucket, Key="k", VersionId=v2)

    # --- 8. aws CLI ------------------------------------------------------------------------------

    def test_aws_cli_put_and_get_object_acl_agree_with_boto3(self):
        bucket = "acl-cli"
        self.s3.create_bucket(Bucket=bucket)
        self.assertCliOk(self.server.aws(
            "s3api", "put-bucket-ownership-controls", "--bucket", bucket,
            "--ownership-controls", "Rules=[{ObjectOwnership=ObjectWriter}]"))
        self.assertCliOk(self.server.aws("s3api", "delete-public-access-block", "--bucket", bucket))
        self.s3.put_object(Bucket=bucket, Key="cli", Body=b"via the cli")
        self.assertDenied(self.anonymous.get_object, Bucket=bucket, Key="cli")

        self.assertCliOk(self.server.aws("s3api", "put-object-acl", "--bucket", bucket,
                                         "--key", "cli", "--acl", "public-read"))
        self.assertEqual(self.read(self.anonymous, bucket, "cli"), b"via the cli")
        cli_acl = self.assertCliOk(self.server.aws("s3api", "get-object-acl", "--bucket", bucket,
                                                   "--key", "cli"))
        boto_acl = self.s3.get_object_acl(Bucket=bucket, Key="cli")
        self.assertEqual(cli_acl["Owner"]["ID"], self.a_id)
        self.assertEqual(cli_acl["Owner"]["ID"], boto_acl["Owner"]["ID"])
        self.assertEqual(grants_of(cli_acl), grants_of(boto_acl))
        self.assertEqual(grants_of(cli_acl), sorted([("CanonicalUser", self.a_id, "FULL_CONTROL"),
                                                     ("Group", ALL_USERS, "READ")]))

        # And a grant through the CLI's --grant-read, read back with boto3.
        self.assertCliOk(self.server.aws("s3api", "put-object-acl", "--bucket", bucket,
                                         "--key", "cli", "--grant-read", f"id={self.b_id}",
                                         "--grant-full-control", f"id={self.a_id}"))
        self.assertEqual(grants_of(self.s3.get_object_acl(Bucket=bucket, Key="cli")),
                         sorted([("CanonicalUser", self.a_id, "FULL_CONTROL"),
                                 ("CanonicalUser", self.b_id, "READ")]))
        self.assertDenied(self.anonymous.get_object, Bucket=bucket, Key="cli")
        self.assertEqual(self.read(self.b_s3, bucket, "cli"), b"via the cli")


if __name__ == "__main__":
    unittest.main()
