"""The server's state through boto3, for the console tests (lab.mjs asks, this answers in JSON).

    python3 aws_state.py OPERATION [ARG...]

Reads HANGAR_ENDPOINT and the AWS_* credentials from the environment. Prints one JSON object.
"""

import json
import os
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError


def client(service):
    return boto3.client(service, endpoint_url=os.environ["HANGAR_ENDPOINT"],
                        region_name=os.environ.get("AWS_REGION", "us-east-1"),
                        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))


def user(name):
    try:
        u = client("iam").get_user(UserName=name)["User"]
    except ClientError as e:
        return {"exists": False, "error": e.response["Error"]["Code"]}
    keys = client("iam").list_access_keys(UserName=name)["AccessKeyMetadata"]
    return {"exists": True, "arn": u["Arn"],
            "accessKeys": [{"id": k["AccessKeyId"], "status": k["Status"]} for k in keys]}


def bucket(name):
    names = [b["Name"] for b in client("s3").list_buckets()["Buckets"]]
    result = {"exists": name in names}
    if result["exists"]:
        try:
            rule = client("s3").get_bucket_encryption(Bucket=name)[
                "ServerSideEncryptionConfiguration"]["Rules"][0]
            result["encryption"] = rule
        except ClientError as e:
            result["encryption_error"] = e.response["Error"]["Code"]
    return result


def key(alias):
    kms = client("kms")
    try:
        meta = kms.describe_key(KeyId=f"alias/{alias}")["KeyMetadata"]
    except ClientError as e:
        return {"exists": False, "error": e.response["Error"]["Code"]}
    policy = json.loads(kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"])
    return {"exists": True, "arn": meta["Arn"], "keyId": meta["KeyId"], "state": meta["KeyState"],
            "description": meta.get("Description", ""),
            "deletionDate": meta["DeletionDate"].timestamp() if "DeletionDate" in meta else None,
            "policy": policy}


def head(bucket_name, object_key):
    try:
        out = client("s3").head_object(Bucket=bucket_name, Key=object_key)
    except ClientError as e:
        return {"exists": False, "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}
    return {"exists": True, "size": out["ContentLength"], "etag": out["ETag"],
            "sse": out.get("ServerSideEncryption"), "kmsKeyId": out.get("SSEKMSKeyId"),
            "bucketKey": out.get("BucketKeyEnabled", False)}


OPERATIONS = {"user": user, "bucket": bucket, "key": key, "head": head}

if __name__ == "__main__":
    print(json.dumps(OPERATIONS[sys.argv[1]](*sys.argv[2:]), default=str))
