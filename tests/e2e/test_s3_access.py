"""S3 access control against the real binary, with the aws CLI, boto3 and plain HTTP: bucket
policies (Put/Get/Delete, GetBucketPolicyStatus, validation), Block Public Access at bucket and
account level, anonymous access only where a policy allows it and Block Public Access does not
forbid it, the iam.md §4 policy that refuses uploads without SSE-KMS (incl. its Null check), and
ACLs disabled (BucketOwnerEnforced, the default) as AWS answers them; enabled ACLs are in
test_s3_acls.py.
"""

import json
import unittest
import urllib.error
import urllib.request

import botocore

from harness import HangarTestCase

ACCOUNT_BPA_PATH = "/v20180820/configuration/publicAccessBlock"


def public_read_policy(bucket):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def require_sse_kms_policy(bucket):
    # iam.md §4: refuse uploads that do not ask for SSE-KMS, stated twice as AWS's examples do.
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyWrongSse", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"}}},
        {"Sid": "DenyMissingSse", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}}}]})


class S3AccessTest(HangarTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.anonymous = cls.server.s3_client(signature_version=botocore.UNSIGNED)

    def new_bucket(self, name):
        self.s3.create_bucket(Bucket=name)
        return name

    def anonymous_get(self, bucket, key):
        """Plain HTTP GET without any signature: (status, body)."""
        url = f"{self.server.endpoint}/{bucket}/{key}"
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def account_bpa(self, method, body=b""):
        return self.server.s3_request(
            method, ACCOUNT_BPA_PATH, body,
            headers={"x-amz-account-id": self.server.account_id})

    def test_new_buckets_block_public_access_and_enforce_bucket_ownership(self):
        bucket = self.new_bucket("access-defaults")
        config = self.s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        self.assertEqual(config, {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                  "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        rules = self.s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
        self.assertEqual(rules, [{"ObjectOwnership": "BucketOwnerEnforced"}])
        self.assertS3Error(404, "NoSuchBucketPolicy", "The bucket policy does not exist",
                           self.s3.get_bucket_policy, Bucket=bucket)
        # A public policy is refused while BlockPublicPolicy is on.
        self.assertS3Error(403, "AccessDenied", None, self.s3.put_bucket_policy,
                           Bucket=bucket, Policy=public_read_policy(bucket))

    def test_a_public_policy_admits_anonymous_reads_until_public_access_is_restricted(self):
        bucket = self.new_bucket("access-public")
        self.s3.put_object(Bucket=bucket, Key="notice.txt", Body=b"public notice")
        self.assertEqual(self.anonymous_get(bucket, "notice.txt")[0], 403)

        self.s3.delete_public_access_block(Bucket=bucket)
        self.assertS3Error(404, "NoSuchPublicAccessBlockConfiguration", None,
                           self.s3.get_public_access_block, Bucket=bucket)
        self.s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
        self.assertEqual(json.loads(self.s3.get_bucket_policy(Bucket=bucket)["Policy"]),
                         json.loads(public_read_policy(bucket)))
        self.assertTrue(self.s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"])
        self.assertEqual(self.anonymous_get(bucket, "notice.txt"), (200, b"public notice"))
        # The policy grants GetObject only: no anonymous listing, writes or deletes.
        self.assertS3Error(403, "AccessDenied", "Access Denied", self.anonymous.list_objects_v2,
                           Bucket=bucket)
        self.assertS3Error(403, "AccessDenied", "Access Denied", self.anonymous.put_object,
                           Bucket=bucket, Key="graffiti", Body=b"x")
        self.assertS3Error(403, "AccessDenied", "Access Denied", self.anonymous.delete_object,
                           Bucket=bucket, Key="notice.txt")
        self.assertS3Error(403, "AccessDenied", "Access Denied", self.anonymous.list_buckets)

        # RestrictPublicBuckets on the bucket takes the public grant away again.
        self.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True})
        self.assertEqual(self.anonymous_get(bucket, "notice.txt")[0], 403)
        self.s3.delete_public_access_block(Bucket=bucket)
        self.assertEqual(self.anonymous_get(bucket, "notice.txt")[0], 200)

        # So does the account-level setting (S3 Control).
        body = (b'<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                b"<RestrictPublicBuckets>true</RestrictPublicBuckets>"
                b"</PublicAccessBlockConfiguration>")
        self.assertEqual(self.account_bpa("PUT", body).status, 200)
        got = self.account_bpa("GET")
        self.assertEqual(got.status, 200)
        self.assertIn(b"<RestrictPublicBuckets>true</RestrictPublicBuckets>", got.body)
        self.assertIn(b"<BlockPublicPolicy>false</BlockPublicPolicy>", got.body)
        self.assertEqual(self.anonymous_get(bucket, "notice.txt")[0], 403)
        self.assertEqual(self.account_bpa("DELETE").status, 204)
        self.assertEqual(self.account_bpa("GET").status, 404)
        self.assertEqual(self.anonymous_get(bucket, "notice.txt"), (200, b"public notice"))

        self.s3.delete_bucket_policy(Bucket=bucket)
        self.assertEqual(self.anonymous_get(bucket, "notice.txt")[0], 403)
        self.assertS3Error(404, "NoSuchBucketPolicy", None,
                           self.s3.get_bucket_policy_status, Bucket=bucket)

    def test_a_bucket_policy_refuses_uploads_without_sse_kms(self):
        bucket = self.new_bucket("access-require-kms")
        self.s3.put_bucket_policy(Bucket=bucket, Policy=require_sse_kms_policy(bucket))
        self.assertFalse(
            self.s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"])
        # No header: the Null statement (and the negated one) deny, even the account root.
        self.assertS3Error(403, "AccessDenied", None, self.s3.put_object,
                           Bucket=bucket, Key="plain", Body=b"no sse header")
        self.assertS3Error(403, "AccessDenied", None, self.s3.put_object,
                           Bucket=bucket, Key="aes", Body=b"sse-s3", ServerSideEncryption="AES256")
        self.assertS3Error(404, "404", "Not Found", self.s3.head_object, Bucket=bucket, Key="plain")
        out = self.s3.put_object(Bucket=bucket, Key="kms", Body=b"sse-kms",
                                 ServerSideEncryption="aws:kms")
        self.assertEqual(out["ServerSideEncryption"], "aws:kms")
        # With the aws CLI too: `aws s3 cp` without --sse is refused, with --sse aws:kms accepted.
        path = self.server.data_dir + "/../upload.txt"
        with open(path, "wb") as f:
            f.write(b"cli upload")
        refused = self.server.aws("s3", "cp", path, f"s3://{bucket}/cli-plain")
        self.assertNotEqual(refused.rc, 0)
        self.assertIn("AccessDenied", refused.err)
        self.assertCliOk(self.server.aws("s3", "cp", path, f"s3://{bucket}/cli-kms",
                                         "--sse", "aws:kms"))
        # The owner's root can always remove the policy (it cannot lock itself out).
        self.s3.delete_bucket_policy(Bucket=bucket)
        self.s3.put_object(Bucket=bucket, Key="plain", Body=b"allowed again")

    def test_a_bucket_policy_can_refuse_presigned_urls(self):
        bucket = self.new_bucket("access-no-presign")
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"header-signed only")
        presigner = self.server.s3_client(signature_version="s3v4")  # SigV4 query auth
        url = presigner.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
        with urllib.request.urlopen(url, timeout=10) as resp:
            self.assertEqual(resp.read(), b"header-signed only")
        self.s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Sid": "NoPresignedUrls", "Effect": "Deny", "Principal": "*",
                "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
                "Condition": {"StringEquals": {"s3:authType": "REST-QUERY-STRING"}}}]}))
        with self.assertRaises(urllib.error.HTTPError) as cm:
            urllib.request.urlopen(url, timeout=10)
        self.assertEqual(cm.exception.code, 403)
        self.assertIn(b"<Code>AccessDenied</Code>", cm.exception.read())
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(),
                         b"header-signed only")

    def test_bucket_policies_are_validated(self):
        bucket = self.new_bucket("access-validate")
        self.assertS3Error(400, "MalformedPolicy",
                           "Policies must be valid JSON and the first byte must be '{'",
                           self.s3.put_bucket_policy, Bucket=bucket, Policy="not json")
        self.assertS3Error(400, "MalformedPolicy", "Missing required field Statement",
                           self.s3.put_bucket_policy, Bucket=bucket,
                           Policy='{"Version": "2012-10-17"}')
        other = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "s3:GetObject", "Resource": "arn:aws:s3:::someone-elses-bucket/*"}]})
        self.assertS3Error(400, "MalformedPolicy", "Policy has invalid resource",
                           self.s3.put_bucket_policy, Bucket=bucket, Policy=other)
        self.assertS3Error(404, "NoSuchBucketPolicy", None, self.s3.get_bucket_policy,
                           Bucket=bucket)
        self.assertS3Error(404, "NoSuchBucket", None, self.s3.put_bucket_policy,
                           Bucket="access-no-such-bucket", Policy=public_read_policy("x"))

    def test_bucket_policies_name_only_s3_actions(self):
        """S3 refuses a bucket policy naming an action it does not have, another service's
        action, or a pattern that matches none ("Policy has invalid action"), in Action and in
        NotAction alike; wildcards and any case of real names stay accepted."""
        bucket = self.new_bucket("access-actions")

        def policy(actions, key="Action"):
            return json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Deny", "Principal": "*", key: actions,
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})

        for actions in ("invalid_action", "s3:GetObjekt", ["s3:GetObject", "kms:Decrypt"],
                        "s3:Nothing*", "s3:Get"):
            with self.subTest(actions=actions):
                self.assertS3Error(400, "MalformedPolicy", "Policy has invalid action",
                                   self.s3.put_bucket_policy, Bucket=bucket,
                                   Policy=policy(actions))
        self.assertS3Error(400, "MalformedPolicy", "Policy has invalid action",
                           self.s3.put_bucket_policy, Bucket=bucket,
                           Policy=policy(["s3:PutObjekt"], key="NotAction"))
        self.assertS3Error(404, "NoSuchBucketPolicy", None, self.s3.get_bucket_policy,
                           Bucket=bucket)
        accepted = ["s3:*", "s3:getobject", "s3:Get*", "s3:ListBucket",
                    "s3:BypassGovernanceRetention", "s3:PutObjectRetention"]
        self.s3.put_bucket_policy(Bucket=bucket, Policy=policy(accepted))
        stored = json.loads(self.s3.get_bucket_policy(Bucket=bucket)["Policy"])
        self.assertEqual(stored["Statement"][0]["Action"], accepted)

    def test_acls_are_disabled_as_with_bucket_owner_enforced(self):
        bucket = self.new_bucket("access-acls")
        self.s3.put_object(Bucket=bucket, Key="private", Body=b"x", ACL="private")
        self.s3.put_object(Bucket=bucket, Key="owner-full", Body=b"x",
                           ACL="bucket-owner-full-control")
        for call, kwargs in ((self.s3.put_object, {"Key": "public", "Body": b"x"}),
                             (self.s3.put_bucket_acl, {}),
                             (self.s3.put_object_acl, {"Key": "private"})):
            self.assertS3Error(400, "AccessControlListNotSupported",
                               "The bucket does not allow ACLs", call, Bucket=bucket,
                               ACL="public-read", **kwargs)
        self.assertS3Error(404, "404", "Not Found", self.s3.head_object, Bucket=bucket, Key="public")
        acl = self.s3.get_bucket_acl(Bucket=bucket)
        self.assertEqual([g["Permission"] for g in acl["Grants"]], ["FULL_CONTROL"])
        # Restating the default is accepted; enabling ACLs is test_s3_acls.py's subject.
        self.s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        self.assertS3Error(400, "MalformedXML", None, self.s3.put_bucket_ownership_controls,
                           Bucket=bucket, OwnershipControls={
                               "Rules": [{"ObjectOwnership": "EveryoneOwnsEverything"}]})


if __name__ == "__main__":
    unittest.main()
