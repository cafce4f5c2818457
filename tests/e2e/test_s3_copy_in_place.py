"""Copying an object onto itself, and PutBucketEncryption's error precedence, with boto3
(docs/reference/s3-data-protection.md, in-place copy table; s3.md).

S3 refuses an in-place copy that changes nothing (InvalidRequest), but allows one that changes the
encryption: SSE headers, a source under SSE-KMS (the copy takes the bucket's default), or a bucket
with a configured default encryption. DeleteBucketEncryption makes the default implicit again.
PutBucketEncryption on a missing bucket answers NoSuchBucket before judging the configuration.
"""

import unittest

from harness import HangarTestCase

ILLEGAL = ("This copy request is illegal because it is trying to copy an object to itself "
           "without changing the object's metadata, storage class, website redirect location or "
           "encryption attributes.")


class CopyInPlaceTest(HangarTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()
        cls.kms = cls.server.client("kms")

    def bucket(self, name):
        self.s3.create_bucket(Bucket=name)
        return name

    def copy_onto_itself(self, bucket, key, **kwargs):
        return self.s3.copy_object(Bucket=bucket, Key=key, CopySource=f"{bucket}/{key}", **kwargs)

    def test_nothing_changed_is_refused(self):
        b = self.bucket("inplace-plain")
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        self.assertS3Error(400, "InvalidRequest", ILLEGAL, self.copy_onto_itself, b, "k")
        # Naming an encryption, even the current one, is a change.
        out = self.copy_onto_itself(b, "k", ServerSideEncryption="AES256")
        self.assertEqual(out["ServerSideEncryption"], "AES256")

    def test_a_kms_source_takes_the_bucket_default(self):
        b = self.bucket("inplace-kms-source")
        key = self.kms.create_key()["KeyMetadata"]["Arn"]
        self.s3.put_object(Bucket=b, Key="k", Body=b"secret", ServerSideEncryption="aws:kms",
                           SSEKMSKeyId=key)
        out = self.copy_onto_itself(b, "k")
        self.assertEqual(out["ServerSideEncryption"], "AES256")
        head = self.s3.head_object(Bucket=b, Key="k")
        self.assertEqual(head["ServerSideEncryption"], "AES256")
        self.assertNotIn("SSEKMSKeyId", head)
        self.assertEqual(self.s3.get_object(Bucket=b, Key="k")["Body"].read(), b"secret")

    def test_a_configured_bucket_default_is_a_change(self):
        b = self.bucket("inplace-configured")
        self.s3.put_object(Bucket=b, Key="k", Body=b"x")
        key = self.kms.create_key()["KeyMetadata"]["Arn"]
        self.s3.put_bucket_encryption(Bucket=b, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                   "KMSMasterKeyID": key},
            "BucketKeyEnabled": True}]})
        out = self.copy_onto_itself(b, "k")
        self.assertEqual(out["ServerSideEncryption"], "aws:kms")
        self.assertEqual(out["SSEKMSKeyId"], key)
        self.assertTrue(out["BucketKeyEnabled"])
        # Deleting the configuration returns to the implicit default: nothing changes any more.
        self.s3.delete_bucket_encryption(Bucket=b)
        self.s3.put_object(Bucket=b, Key="plain", Body=b"y")
        self.assertS3Error(400, "InvalidRequest", ILLEGAL, self.copy_onto_itself, b, "plain")

    def test_put_bucket_encryption_on_a_missing_bucket_is_no_such_bucket(self):
        # The configuration is also invalid (AES256 with a key id): the bucket is judged first.
        self.assertS3Error(404, "NoSuchBucket", None, self.s3.put_bucket_encryption,
                           Bucket="no-such-bucket-here", ServerSideEncryptionConfiguration={
                               "Rules": [{"ApplyServerSideEncryptionByDefault": {
                                   "SSEAlgorithm": "AES256", "KMSMasterKeyID": "k"}}]})


if __name__ == "__main__":
    unittest.main()
