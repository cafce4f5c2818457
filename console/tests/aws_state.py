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


def bpa(bucket_name):
    try:
        return client("s3").get_public_access_block(Bucket=bucket_name)[
            "PublicAccessBlockConfiguration"]
    except ClientError as e:
        return {"error": e.response["Error"]["Code"]}


def policy(bucket_name):
    try:
        return {"policy": json.loads(client("s3").get_bucket_policy(Bucket=bucket_name)["Policy"])}
    except ClientError as e:
        return {"policy": None, "error": e.response["Error"]["Code"]}


def finding(control_id, resource_id):
    """The active finding of a Security Hub control about a resource (id or ARN ending in it)."""
    hub = client("securityhub")
    found = []
    for page in hub.get_paginator("get_findings").paginate(Filters={
            "GeneratorId": [{"Value": f"security-control/{control_id}", "Comparison": "EQUALS"}],
            "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}]}):
        found += [f for f in page["Findings"]
                  if any(r["Id"].endswith(resource_id) for r in f["Resources"])]
    if len(found) != 1:
        return {"count": len(found)}
    return {"count": 1, "workflow": found[0]["Workflow"]["Status"], "id": found[0]["Id"]}


def key_extras(key_id):
    """Rotation, tags and aliases of a key."""
    kms = client("kms")
    rotation = kms.get_key_rotation_status(KeyId=key_id)
    return {"rotation": rotation["KeyRotationEnabled"],
            "rotationPeriod": rotation.get("RotationPeriodInDays"),
            "tags": {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key_id)["Tags"]},
            "aliases": sorted(a["AliasName"] for a in kms.list_aliases(KeyId=key_id)["Aliases"])}


def permissions(user_name):
    """What is attached to an IAM user: managed policies and groups."""
    iam = client("iam")
    return {"attached": sorted(p["PolicyName"] for p in
                               iam.list_attached_user_policies(UserName=user_name)["AttachedPolicies"]),
            "groups": sorted(g["GroupName"] for g in
                             iam.list_groups_for_user(UserName=user_name)["Groups"]),
            "roles": sorted(r["RoleName"] for r in iam.list_roles()["Roles"]),
            "policies": sorted(p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"])}


def session_credentials():
    out = client("sts").get_session_token(DurationSeconds=900)["Credentials"]
    return {"id": out["AccessKeyId"], "secret": out["SecretAccessKey"], "token": out["SessionToken"]}


def whoami():
    out = client("sts").get_caller_identity()
    return {"account": out["Account"], "arn": out["Arn"]}


OPERATIONS = {"user": user, "bucket": bucket, "key": key, "head": head, "bpa": bpa,
              "policy": policy, "finding": finding, "whoami": whoami, "key-extras": key_extras,
              "permissions": permissions, "session-credentials": session_credentials}

if __name__ == "__main__":
    print(json.dumps(OPERATIONS[sys.argv[1]](*sys.argv[2:]), default=str))
