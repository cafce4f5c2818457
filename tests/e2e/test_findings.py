"""Security Hub findings end to end (docs/reference/audit.md §5-6): controls evaluated over the
services' state (security-control/KMS.3 ...), GuardDuty-style detections over the audit records
(hangar-detection/<Type>), both served by Security Hub's GetFindings and BatchUpdateFindings on the
main port (`aws securityhub get-findings`) and printed by `hangar findings list`.

GetFindings reflects every request recorded before it, so each check reads right after the change
it checks: nothing here polls or sleeps.

  * FindingsLabTest: the lab with the aws CLI — a key scheduled for deletion fails KMS.3 (CRITICAL,
    ACTIVE); an Encrypt with it fails and KeyPendingDeletionUsed names that Encrypt's eventID (as
    lookup-events shows it); cancelling the deletion passes KMS.3 (ARCHIVED, RESOLVED).
  * ControlsTest: KMS.4 and rotation, KMS.5 and public key policies, the bucket controls (S3.2,
    S3.3, S3.5, S3.8, S3.17) through Block Public Access, policies and default encryption, IAM.2,
    and the findings of deleted buckets, destroyed keys and deleted users archived.
  * AccountControlsTest: S3.1 and account-level Block Public Access (which also decides S3.2),
    IAM.4, and the AccountBlockPublicAccessDisabled detection.
  * DetectionsTest (--detect-access-denied 3, --detect-mass-delete 5): DisableKey, an AccessDenied
    burst, a mass deletion, root credential usage, Block Public Access turned off, anonymous access
    granted, a Decrypt from a new source address (127.0.0.2), a key pending deletion used by S3;
    each with the eventIDs of the records that triggered it.
  * FindingsApiTest: filters against the same predicate computed here, sorting, pagination,
    InvalidInputException, BatchUpdateFindings (workflow and note kept across re-evaluation and a
    restart, unprocessed identifiers), account isolation, IAM authorisation.
  * FindingsRestartTest: findings survive a restart unchanged, controls are evaluated at start (an
    account created while the server was down has its findings), `hangar findings list`.
"""

import base64
import datetime
import glob
import http.client
import json
import math
import os
import subprocess
import unittest

import botocore.exceptions

from harness import HANGAR_BIN, REGION, HangarTestCase, parse_timestamp

DAY = 86400
SECURITYHUB_PRODUCT = f"arn:aws:securityhub:{REGION}::product/aws/securityhub"
GUARDDUTY_PRODUCT = f"arn:aws:securityhub:{REGION}::product/aws/guardduty"
CONTROL_TYPE = ("Software and Configuration Checks/Industry and Regulatory Standards/"
                "AWS-Foundational-Security-Best-Practices")
SEVERITY_RANK = {"INFORMATIONAL": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}

PENDING_KEY_USED = "Impact:KMS/KeyPendingDeletionUsed"
KEY_DISABLED = "Impact:KMS/KeyDisabledOrScheduledForDeletion"
DENIED_BURST = "Discovery:IAMUser/AccessDeniedBurst"
ROOT_USAGE = "Policy:IAMUser/RootCredentialUsage"
MASS_DELETE = "Impact:S3/AnomalousBehavior.Delete"
NEW_SOURCE_DECRYPT = "CredentialAccess:KMS/NewSourceDecrypt"
BUCKET_BPA_DISABLED = "Policy:S3/BucketBlockPublicAccessDisabled"
BUCKET_ANONYMOUS = "Policy:S3/BucketAnonymousAccessGranted"
ACCOUNT_BPA_DISABLED = "Policy:S3/AccountBlockPublicAccessDisabled"

ACCOUNT_BPA_PATH = "/v20180820/configuration/publicAccessBlock"
ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
               "RestrictPublicBuckets": True}


# --- building requests -------------------------------------------------------------------------

def where(**fields):
    """GetFindings Filters: each value is a string (EQUALS) or a list of (comparison, value)."""
    out = {}
    for name, spec in fields.items():
        if isinstance(spec, str):
            spec = [("EQUALS", spec)]
        out[name] = [{"Value": value, "Comparison": comparison} for comparison, value in spec]
    return out


def policy_doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resource="*"):
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def root_key_statement(account):
    return {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*",
            "Resource": "*"}


def public_read_policy(bucket):
    return policy_doc({"Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
                       "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"})


def public_read_write_policy(bucket):
    return policy_doc({"Sid": "PublicReadWrite", "Effect": "Allow", "Principal": "*",
                       "Action": ["s3:GetObject", "s3:PutObject"],
                       "Resource": f"arn:aws:s3:::{bucket}/*"})


def tls_only_policy(bucket):
    return policy_doc({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*",
                       "Action": "s3:*",
                       "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}})


def account_bpa_xml(**flags):
    body = "".join(f"<{name}>{'true' if on else 'false'}</{name}>" for name, on in flags.items())
    return ('<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"{body}</PublicAccessBlockConfiguration>").encode()


# --- reading findings --------------------------------------------------------------------------

def all_findings(client, filters=None, page_size=None, sort=None):
    """GetFindings through boto3's paginator: (findings, number of pages)."""
    kwargs = {}
    if filters is not None:
        kwargs["Filters"] = filters
    if sort is not None:
        kwargs["SortCriteria"] = sort
    if page_size is not None:
        kwargs["PaginationConfig"] = {"PageSize": page_size}
    findings, pages = [], 0
    for page in client.get_paginator("get_findings").paginate(**kwargs):
        pages += 1
        findings.extend(page["Findings"])
    return findings, pages


def compliance(finding):
    return finding.get("Compliance", {}).get("Status")


def triggering_ids(finding):
    text = finding.get("ProductFields", {}).get("hangar/TriggeringEventIds", "")
    return [part for part in text.split(",") if part]


def detection_count(finding):
    return int(finding["ProductFields"]["hangar/Count"])


def summary(findings):
    return [(f["GeneratorId"], compliance(f), f["RecordState"], f["Resources"][0]["Id"])
            for f in findings]


# --- reading the trail -------------------------------------------------------------------------

def trail_records(data_dir):
    """Every complete record of every audit log file."""
    records = []
    for path in sorted(glob.glob(os.path.join(data_dir, "audit", "logs", "*.jsonl"))):
        with open(path, "rb") as f:
            text = f.read()
        for line in text.split(b"\n")[:-1]:
            if line:
                records.append(json.loads(line))
    return records


def request_id(response_or_error):
    """The request id of a boto3 response or ClientError."""
    if isinstance(response_or_error, botocore.exceptions.ClientError):
        response_or_error = response_or_error.response
    return response_or_error["ResponseMetadata"]["RequestId"]


def run_hangar(*args, timeout=60):
    return subprocess.run([HANGAR_BIN, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


class FindingsTestCase(HangarTestCase):
    """Helpers shared by the suites: findings by control or detection, users, the trail."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.account = cls.server.account_id
        cls.hub = cls.server.client("securityhub")
        cls.kms = cls.server.client("kms")
        cls.s3 = cls.server.s3_client()
        cls.iam = cls.server.client("iam")

    @classmethod
    def new_user(cls, name, *statements):
        """An IAM user with an access key and (if statements are given) an inline policy;
        returns (access key id, secret)."""
        cls.iam.create_user(UserName=name)
        if statements:
            cls.iam.put_user_policy(UserName=name, PolicyName="inline",
                                    PolicyDocument=policy_doc(*statements))
        key = cls.iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def client_as(self, service, creds):
        if service == "s3":
            return self.server.s3_client(access_key_id=creds[0], secret_access_key=creds[1])
        return self.server.client(service, access_key_id=creds[0], secret_access_key=creds[1])

    def user_arn(self, name):
        return f"arn:aws:iam::{self.account}:user/{name}"

    def findings(self, **fields):
        return all_findings(self.hub, where(**fields))[0]

    def control(self, control_id, resource_id, hub=None):
        """The one finding of control `control_id` about `resource_id`."""
        found = all_findings(hub or self.hub, where(
            GeneratorId=f"security-control/{control_id}", ResourceId=resource_id))[0]
        self.assertEqual(len(found), 1, f"{control_id} findings about {resource_id}: "
                                        f"{summary(found)}")
        return found[0]

    def detections(self, detection_type, resource_id=None):
        fields = {"GeneratorId": f"hangar-detection/{detection_type}"}
        if resource_id is not None:
            fields["ResourceId"] = resource_id
        return self.findings(**fields)

    def detection(self, detection_type, resource_id):
        found = self.detections(detection_type, resource_id)
        self.assertEqual(len(found), 1, f"{detection_type} findings about {resource_id}: "
                                        f"{summary(found)}")
        return found[0]

    def assertFailed(self, finding, severity, workflow="NEW"):
        state = (compliance(finding), finding["Severity"]["Label"], finding["RecordState"],
                 finding["Workflow"]["Status"])
        self.assertEqual(state, ("FAILED", severity, "ACTIVE", workflow), finding)

    def assertPassed(self, finding):
        state = (compliance(finding), finding["Severity"]["Label"], finding["RecordState"],
                 finding["Workflow"]["Status"])
        self.assertEqual(state, ("PASSED", "INFORMATIONAL", "ARCHIVED", "RESOLVED"), finding)

    def assertControlShape(self, finding, control_id, resource_type, resource_id):
        self.assertEqual(finding["GeneratorId"], f"security-control/{control_id}")
        self.assertEqual(finding["ProductArn"], SECURITYHUB_PRODUCT)
        self.assertEqual(finding["Compliance"]["SecurityControlId"], control_id)
        self.assertEqual(finding["AwsAccountId"], self.account)
        self.assertEqual(finding["Region"], REGION)
        self.assertEqual(finding["Types"], [CONTROL_TYPE])
        self.assertTrue(finding["Title"].startswith(control_id + " "), finding["Title"])
        self.assertEqual([(r["Type"], r["Id"]) for r in finding["Resources"]],
                         [(resource_type, resource_id)])
        self.assertTrue(finding["Id"].startswith(
            f"arn:aws:securityhub:{REGION}:{self.account}:security-control/{control_id}/finding/"),
            finding["Id"])

    def assertDetectionShape(self, finding, detection_type, severity, resource_type,
                             resource_id):
        self.assertEqual(finding["GeneratorId"], f"hangar-detection/{detection_type}")
        self.assertEqual(finding["ProductArn"], GUARDDUTY_PRODUCT)
        self.assertEqual(finding["Severity"]["Label"], severity, finding)
        self.assertNotIn("Compliance", finding)
        self.assertEqual(finding["RecordState"], "ACTIVE")
        self.assertEqual(finding["AwsAccountId"], self.account)
        self.assertEqual([(r["Type"], r["Id"]) for r in finding["Resources"]],
                         [(resource_type, resource_id)])

    def event_id(self, response_or_error, source=None):
        """The eventID of the one audit record of a boto3 call (by its request id)."""
        rid = request_id(response_or_error)
        matches = [r for r in trail_records(self.server.data_dir)
                   if r.get("requestID") == rid and (source is None or r["eventSource"] == source)]
        self.assertEqual(len(matches), 1, f"records with requestID {rid}: {matches}")
        return matches[0]["eventID"]

    def raw_event_id(self, response, source):
        """The same for a raw response (x-amz-request-id / x-amzn-requestid)."""
        rid = response.headers.get("x-amz-request-id") or response.headers.get("x-amzn-requestid")
        return self.event_id({"ResponseMetadata": {"RequestId": rid}}, source)


# --- 1. the lab with the aws CLI ----------------------------------------------------------------

class FindingsLabTest(FindingsTestCase):

    def cli(self, *args):
        return self.assertCliOk(self.server.aws(*args))

    def cli_findings(self, filters):
        return self.cli("securityhub", "get-findings", "--filters", json.dumps(filters))["Findings"]

    def test_key_pending_deletion_fails_kms3_and_its_use_is_detected(self):
        server = self.server
        key = self.cli("kms", "create-key", "--description", "findings lab key")["KeyMetadata"]
        key_arn = key["Arn"]
        kms3 = where(GeneratorId="security-control/KMS.3", ResourceId=key_arn)

        # A new key passes KMS.3.
        before = self.cli_findings(kms3)
        self.assertEqual(len(before), 1, before)
        self.assertPassed(before[0])

        scheduled = self.cli("kms", "schedule-key-deletion", "--key-id", key_arn,
                             "--pending-window-in-days", "7")
        self.assertEqual(scheduled["KeyState"], "PendingDeletion")

        failed = self.cli_findings(kms3)
        self.assertEqual(len(failed), 1, failed)
        finding = failed[0]
        self.assertControlShape(finding, "KMS.3", "AwsKmsKey", key_arn)
        self.assertFailed(finding, "CRITICAL")
        self.assertEqual(finding["Id"], before[0]["Id"], "the finding is updated in place")
        self.assertEqual(finding["CreatedAt"], before[0]["CreatedAt"])
        self.assertGreaterEqual(parse_timestamp(finding["UpdatedAt"]),
                                parse_timestamp(before[0]["UpdatedAt"]))
        self.assertIn("Recommendation", finding["Remediation"])
        # Among the account's ACTIVE CRITICAL findings, as a person would look for it.
        critical = self.cli_findings(where(SeverityLabel="CRITICAL", RecordState="ACTIVE"))
        self.assertIn(finding["Id"], [f["Id"] for f in critical])

        # The ScheduleKeyDeletion itself is a detection.
        disabled = self.cli_findings(where(GeneratorId=f"hangar-detection/{KEY_DISABLED}",
                                           ResourceId=key_arn))
        self.assertEqual(len(disabled), 1, disabled)
        self.assertDetectionShape(disabled[0], KEY_DISABLED, "MEDIUM", "AwsKmsKey", key_arn)

        # An Encrypt with the pending key fails, and is detected.
        plaintext = os.path.join(server.tmp_dir, "lab-plaintext.txt")
        with open(plaintext, "wb") as f:
            f.write(b"flight plan\n")
        refused = server.aws("kms", "encrypt", "--key-id", key_arn, "--plaintext",
                             "fileb://" + plaintext)
        self.assertCliError(refused, "KMSInvalidStateException", f"{key_arn} is pending deletion.")

        events = self.cli("cloudtrail", "lookup-events", "--lookup-attributes",
                          "AttributeKey=EventName,AttributeValue=Encrypt")["Events"]
        failed_encrypts = [e for e in events
                           if json.loads(e["CloudTrailEvent"]).get("errorCode")
                           == "KMSInvalidStateException"]
        self.assertEqual(len(failed_encrypts), 1, events)
        self.assertIn(key_arn, json.loads(failed_encrypts[0]["CloudTrailEvent"])["errorMessage"])
        encrypt_event_id = failed_encrypts[0]["EventId"]

        used = self.cli_findings(where(GeneratorId=f"hangar-detection/{PENDING_KEY_USED}",
                                       ResourceId=key_arn))
        self.assertEqual(len(used), 1, used)
        self.assertDetectionShape(used[0], PENDING_KEY_USED, "HIGH", "AwsKmsKey", key_arn)
        self.assertEqual(triggering_ids(used[0]), [encrypt_event_id])
        self.assertEqual(detection_count(used[0]), 1)
        self.assertEqual(used[0]["Types"], [f"TTPs/{PENDING_KEY_USED}"])

        # Cancelled: KMS.3 passes again, archived and resolved, still the same finding.
        self.cli("kms", "cancel-key-deletion", "--key-id", key_arn)
        passed = self.cli_findings(kms3)
        self.assertEqual(len(passed), 1, passed)
        self.assertPassed(passed[0])
        self.assertEqual(passed[0]["Id"], finding["Id"])
        self.assertEqual(passed[0]["CreatedAt"], before[0]["CreatedAt"])
        active = self.cli_findings(where(GeneratorId="security-control/KMS.3",
                                         RecordState="ACTIVE"))
        self.assertNotIn(key_arn, [f["Resources"][0]["Id"] for f in active])


# --- 2. controls --------------------------------------------------------------------------------

class ControlsTest(FindingsTestCase):

    def test_kms4_fails_until_rotation_is_enabled(self):
        key_arn = self.kms.create_key(Description="rotation")["KeyMetadata"]["Arn"]
        finding = self.control("KMS.4", key_arn)
        self.assertControlShape(finding, "KMS.4", "AwsKmsKey", key_arn)
        self.assertFailed(finding, "MEDIUM")

        self.kms.enable_key_rotation(KeyId=key_arn)
        self.assertPassed(self.control("KMS.4", key_arn))

        # Turned off again: FAILED and ACTIVE again, reopened as NEW.
        self.kms.disable_key_rotation(KeyId=key_arn)
        reopened = self.control("KMS.4", key_arn)
        self.assertFailed(reopened, "MEDIUM")
        self.assertEqual(reopened["Id"], finding["Id"])

    def test_kms5_fails_for_a_key_policy_open_to_anyone(self):
        account = self.account
        open_policy = policy_doc({"Sid": "Anyone", "Effect": "Allow", "Principal": "*",
                                  "Action": "kms:*", "Resource": "*"})
        key_arn = self.kms.create_key(Policy=open_policy)["KeyMetadata"]["Arn"]
        finding = self.control("KMS.5", key_arn)
        self.assertControlShape(finding, "KMS.5", "AwsKmsKey", key_arn)
        self.assertFailed(finding, "CRITICAL")

        # Named principals only: passes.
        self.kms.put_key_policy(KeyId=key_arn, PolicyName="default",
                                Policy=policy_doc(root_key_statement(account)))
        self.assertPassed(self.control("KMS.5", key_arn))

        # {"AWS": "*"} is as public as "*".
        self.kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=policy_doc(
            root_key_statement(account),
            {"Sid": "AnyoneAws", "Effect": "Allow", "Principal": {"AWS": "*"},
             "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}))
        self.assertFailed(self.control("KMS.5", key_arn), "CRITICAL")

        # "*" limited by kms:CallerAccount to the account: not public.
        self.kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=policy_doc(
            root_key_statement(account),
            {"Sid": "AnyoneInTheAccount", "Effect": "Allow", "Principal": "*",
             "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
             "Condition": {"StringEquals": {"kms:CallerAccount": account}}}))
        self.assertPassed(self.control("KMS.5", key_arn))

        # A key with the default policy passes from the start.
        plain = self.kms.create_key()["KeyMetadata"]["Arn"]
        self.assertPassed(self.control("KMS.5", plain))

    def test_bucket_controls_follow_block_public_access_policies_and_encryption(self):
        bucket = "findings-controls-bucket"
        arn = f"arn:aws:s3:::{bucket}"
        s3 = self.s3

        def state():
            found = self.findings(ResourceId=arn,
                                  GeneratorId=[("PREFIX", "security-control/S3.")])
            return {f["Compliance"]["SecurityControlId"]: f for f in found}

        def statuses():
            return {control: compliance(f) for control, f in state().items()}

        s3.create_bucket(Bucket=bucket)
        created = state()
        self.assertEqual({c: compliance(f) for c, f in created.items()},
                         {"S3.2": "PASSED", "S3.3": "PASSED", "S3.5": "FAILED", "S3.8": "PASSED",
                          "S3.17": "FAILED"})
        for control, finding in created.items():
            self.assertControlShape(finding, control, "AwsS3Bucket", arn)
        self.assertFailed(created["S3.5"], "MEDIUM")
        self.assertFailed(created["S3.17"], "MEDIUM")
        self.assertPassed(created["S3.8"])

        with self.subTest("S3.17: SSE-KMS by default"):
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                           "BucketKeyEnabled": True}]})
            self.assertPassed(state()["S3.17"])
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
            self.assertFailed(state()["S3.17"], "MEDIUM")
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms:dsse"}}]})
            self.assertPassed(state()["S3.17"])

        with self.subTest("S3.8: Block Public Access deleted"):
            s3.delete_public_access_block(Bucket=bucket)
            self.assertFailed(state()["S3.8"], "HIGH")

        with self.subTest("S3.2: a public-read policy"):
            s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
            now = state()
            self.assertFailed(now["S3.2"], "CRITICAL")
            self.assertPassed(now["S3.3"])

        with self.subTest("S3.3: a public read-write policy"):
            s3.put_bucket_policy(Bucket=bucket, Policy=public_read_write_policy(bucket))
            now = state()
            self.assertFailed(now["S3.2"], "CRITICAL")
            self.assertFailed(now["S3.3"], "CRITICAL")

        with self.subTest("RestrictPublicBuckets makes the public policy ineffective"):
            s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
                "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False,
                "RestrictPublicBuckets": True})
            now = state()
            self.assertPassed(now["S3.2"])
            self.assertPassed(now["S3.3"])
            self.assertFailed(now["S3.8"], "HIGH")  # not all four

        with self.subTest("S3.8: all four settings on"):
            s3.put_public_access_block(Bucket=bucket,
                                       PublicAccessBlockConfiguration=ALL_BLOCKED)
            self.assertPassed(state()["S3.8"])

        with self.subTest("S3.5: a policy denying requests without TLS"):
            s3.put_bucket_policy(Bucket=bucket, Policy=tls_only_policy(bucket))
            self.assertEqual(statuses(), {"S3.2": "PASSED", "S3.3": "PASSED", "S3.5": "PASSED",
                                          "S3.8": "PASSED", "S3.17": "PASSED"})
            # (The policy refuses this plain-HTTP client everything but the policy itself.)
            s3.delete_bucket_policy(Bucket=bucket)
            self.assertFailed(state()["S3.5"], "MEDIUM")

        with self.subTest("deleting the bucket archives its findings"):
            s3.delete_bucket(Bucket=bucket)
            after = state()
            self.assertEqual(set(after), {"S3.2", "S3.3", "S3.5", "S3.8", "S3.17"})
            self.assertEqual({c: f["RecordState"] for c, f in after.items()},
                             {c: "ARCHIVED" for c in after})
            self.assertEqual(after["S3.5"]["Id"], created["S3.5"]["Id"])
            # Detections about it (what happened while it was exposed) stay for people to close.
            self.assertEqual(
                sorted(f["GeneratorId"]
                       for f in self.findings(ResourceId=arn, RecordState="ACTIVE")),
                [f"hangar-detection/{BUCKET_ANONYMOUS}", f"hangar-detection/{BUCKET_BPA_DISABLED}"])

    def test_iam2_fails_for_a_user_with_policies_of_its_own(self):
        user = "findings-iam2-user"
        arn = self.user_arn(user)
        self.iam.create_user(UserName=user)
        finding = self.control("IAM.2", arn)
        self.assertControlShape(finding, "IAM.2", "AwsIamUser", arn)
        self.assertPassed(finding)

        managed = self.iam.create_policy(
            PolicyName="findings-iam2-managed",
            PolicyDocument=policy_doc(allow("s3:ListAllMyBuckets")))["Policy"]["Arn"]
        self.iam.attach_user_policy(UserName=user, PolicyArn=managed)
        self.assertFailed(self.control("IAM.2", arn), "LOW")

        self.iam.detach_user_policy(UserName=user, PolicyArn=managed)
        self.assertPassed(self.control("IAM.2", arn))

        self.iam.put_user_policy(UserName=user, PolicyName="inline",
                                 PolicyDocument=policy_doc(allow("kms:ListKeys")))
        self.assertFailed(self.control("IAM.2", arn), "LOW")

        # Deleted (DeleteUser wants its policies gone first): nothing about it stays ACTIVE.
        self.iam.delete_user_policy(UserName=user, PolicyName="inline")
        self.assertPassed(self.control("IAM.2", arn))
        self.iam.delete_user(UserName=user)
        self.assertEqual(self.control("IAM.2", arn)["RecordState"], "ARCHIVED")
        self.assertEqual(self.findings(ResourceId=arn, RecordState="ACTIVE"), [])

    def test_a_destroyed_key_has_its_control_findings_archived(self):
        key_arn = self.kms.create_key(Description="destroyed")["KeyMetadata"]["Arn"]
        self.kms.schedule_key_deletion(KeyId=key_arn, PendingWindowInDays=7)
        self.assertFailed(self.control("KMS.3", key_arn), "CRITICAL")
        self.server.advance_clock(8 * DAY)  # past the window: the key is destroyed
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.kms.describe_key(KeyId=key_arn)
        self.assertEqual(cm.exception.response["Error"]["Code"], "NotFoundException")
        controls = self.findings(ResourceId=key_arn,
                                 GeneratorId=[("PREFIX", "security-control/")])
        self.assertTrue(controls)
        self.assertEqual([f for f in controls if f["RecordState"] != "ARCHIVED"], [],
                         f"control findings of a destroyed key still active: "
                         f"{summary(controls)}")


class AccountControlsTest(FindingsTestCase):
    """Its own server: account-level Block Public Access changes every bucket's verdict."""

    def account_bpa(self, method, body=b""):
        response = self.server.s3_request(method, ACCOUNT_BPA_PATH, body,
                                          headers={"x-amz-account-id": self.account})
        self.assertLess(response.status, 300, response.body)
        return response

    def test_s3_1_and_account_block_public_access(self):
        account_resource = f"AWS::::Account:{self.account}"
        s31 = self.control("S3.1", account_resource)
        self.assertControlShape(s31, "S3.1", "AwsAccount", account_resource)
        self.assertFailed(s31, "MEDIUM")  # no account-level configuration yet

        # A bucket made public at bucket level.
        bucket = "findings-account-bpa"
        bucket_arn = f"arn:aws:s3:::{bucket}"
        self.s3.create_bucket(Bucket=bucket)
        self.s3.delete_public_access_block(Bucket=bucket)
        self.s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
        self.assertFailed(self.control("S3.2", bucket_arn), "CRITICAL")

        # Account RestrictPublicBuckets alone: the bucket's policy no longer counts, S3.1 still
        # fails, and turning settings off at account level is a detection.
        put = self.account_bpa("PUT", account_bpa_xml(
            BlockPublicAcls=False, IgnorePublicAcls=False, BlockPublicPolicy=False,
            RestrictPublicBuckets=True))
        self.assertPassed(self.control("S3.2", bucket_arn))
        self.assertFailed(self.control("S3.1", account_resource), "MEDIUM")
        detection = self.detection(ACCOUNT_BPA_DISABLED, account_resource)
        self.assertDetectionShape(detection, ACCOUNT_BPA_DISABLED, "MEDIUM", "AwsAccount",
                                  account_resource)
        self.assertEqual(triggering_ids(detection), [self.raw_event_id(put, "s3.amazonaws.com")])

        # All four on: S3.1 passes, and no new detection.
        self.account_bpa("PUT", account_bpa_xml(**ALL_BLOCKED))
        passed = self.control("S3.1", account_resource)
        self.assertPassed(passed)
        self.assertEqual(passed["Id"], s31["Id"])
        self.assertEqual(detection_count(self.detection(ACCOUNT_BPA_DISABLED, account_resource)),
                         1)

        # Deleted: S3.1 fails again (reopened as NEW), the bucket is public again, detected.
        deleted = self.account_bpa("DELETE")
        self.assertFailed(self.control("S3.1", account_resource), "MEDIUM")
        self.assertFailed(self.control("S3.2", bucket_arn), "CRITICAL")
        detection = self.detection(ACCOUNT_BPA_DISABLED, account_resource)
        self.assertEqual(detection_count(detection), 2)
        self.assertEqual(triggering_ids(detection)[-1],
                         self.raw_event_id(deleted, "s3.amazonaws.com"))

    def test_iam4_fails_while_the_root_has_an_active_access_key(self):
        account_resource = f"AWS::::Account:{self.account}"
        finding = self.control("IAM.4", account_resource)
        self.assertControlShape(finding, "IAM.4", "AwsAccount", account_resource)
        self.assertFailed(finding, "CRITICAL")


# --- 3. detections ------------------------------------------------------------------------------

class DetectionsTest(FindingsTestCase):
    server_options = {"extra_args": ["--detect-access-denied", "3",
                                     "--detect-access-denied-window", "60",
                                     "--detect-mass-delete", "5"]}

    def kms_from(self, source_ip, operation, payload, creds):
        """A KMS call over a connection from `source_ip` (127.0.0.2 is loopback too):
        (status, request id, parsed body)."""
        server = self.server
        body = json.dumps(payload).encode()
        path, headers = server.sign(body, target=f"TrentService.{operation}",
                                    access_key_id=creds[0], secret_access_key=creds[1])
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30,
                                          source_address=(source_ip, 0))
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, response.getheader("x-amzn-RequestId"), json.loads(data)
        finally:
            conn.close()

    def test_disable_key_is_detected(self):
        key_arn = self.kms.create_key(Description="to disable")["KeyMetadata"]["Arn"]
        self.assertEqual(self.detections(KEY_DISABLED, key_arn), [])
        response = self.kms.disable_key(KeyId=key_arn)
        finding = self.detection(KEY_DISABLED, key_arn)
        self.assertDetectionShape(finding, KEY_DISABLED, "MEDIUM", "AwsKmsKey", key_arn)
        self.assertEqual(triggering_ids(finding), [self.event_id(response)])
        self.assertEqual(detection_count(finding), 1)
        self.assertEqual(finding["Workflow"]["Status"], "NEW")
        # Enabling it again is not a detection.
        self.kms.enable_key(KeyId=key_arn)
        self.assertEqual(detection_count(self.detection(KEY_DISABLED, key_arn)), 1)

    def test_a_burst_of_access_denied_is_detected_at_the_threshold(self):
        creds = self.new_user("findings-prober")
        arn = self.user_arn("findings-prober")
        prober = self.client_as("kms", creds)
        refused = []
        for attempt in range(3):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                prober.list_keys()
            self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
            refused.append(self.event_id(cm.exception))
            if attempt < 2:
                self.assertEqual(self.detections(DENIED_BURST, arn), [],
                                 f"a burst after {attempt + 1} refusals (threshold 3)")
        finding = self.detection(DENIED_BURST, arn)
        self.assertDetectionShape(finding, DENIED_BURST, "MEDIUM", "AwsIamUser", arn)
        self.assertEqual(sorted(triggering_ids(finding)), sorted(refused))
        self.assertEqual(detection_count(finding), 1)

    def test_mass_deletion_is_detected(self):
        bucket = "findings-mass-delete"
        bucket_arn = f"arn:aws:s3:::{bucket}"
        self.s3.create_bucket(Bucket=bucket)
        for i in range(10):
            self.s3.put_object(Bucket=bucket, Key=f"doc-{i}", Body=b"x")
        cleaner = self.client_as("s3", self.new_user("findings-cleaner", allow("s3:*")))

        # Four objects: below the threshold of 5.
        first = cleaner.delete_objects(Bucket=bucket, Delete={
            "Objects": [{"Key": f"doc-{i}"} for i in range(4)]})
        self.assertEqual(len(first["Deleted"]), 4)
        self.assertEqual(self.detections(MASS_DELETE, bucket_arn), [])

        # Six more in one DeleteObjects: detected, about the bucket.
        second = cleaner.delete_objects(Bucket=bucket, Delete={
            "Objects": [{"Key": f"doc-{i}"} for i in range(4, 10)]})
        self.assertEqual(len(second["Deleted"]), 6)
        finding = self.detection(MASS_DELETE, bucket_arn)
        self.assertDetectionShape(finding, MASS_DELETE, "HIGH", "AwsS3Bucket", bucket_arn)
        ids = triggering_ids(finding)
        self.assertIn(self.event_id(second, "s3.amazonaws.com"), ids)
        self.assertIn("findings-cleaner", finding["Description"])

    def test_root_credential_usage_for_data_and_kms_crypto(self):
        account_resource = f"AWS::::Account:{self.account}"
        bucket = "findings-root-usage"
        key_arn = self.kms.create_key(Description="root usage")["KeyMetadata"]["Arn"]
        self.s3.create_bucket(Bucket=bucket)
        existing = self.detections(ROOT_USAGE, account_resource)
        count_before = detection_count(existing[0]) if existing else 0

        # Management calls by the root are not "data access".
        self.s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
        self.kms.describe_key(KeyId=key_arn)
        now = self.detections(ROOT_USAGE, account_resource)
        self.assertEqual(detection_count(now[0]) if now else 0, count_before)

        put = self.s3.put_object(Bucket=bucket, Key="root.txt", Body=b"by the root")
        encrypted = self.kms.encrypt(KeyId=key_arn, Plaintext=b"by the root")
        finding = self.detection(ROOT_USAGE, account_resource)
        self.assertDetectionShape(finding, ROOT_USAGE, "LOW", "AwsAccount", account_resource)
        self.assertEqual(detection_count(finding), count_before + 2)
        self.assertEqual(triggering_ids(finding)[-2:],
                         [self.event_id(put, "s3.amazonaws.com"), self.event_id(encrypted)])

        # The same calls by an IAM user are not root usage.
        user = self.new_user("findings-data-user", allow(["s3:*", "kms:*"]))
        self.client_as("s3", user).put_object(Bucket=bucket, Key="user.txt", Body=b"by a user")
        self.client_as("kms", user).encrypt(KeyId=key_arn, Plaintext=b"by a user")
        self.assertEqual(detection_count(self.detection(ROOT_USAGE, account_resource)),
                         count_before + 2)

    def test_bucket_block_public_access_off_and_anonymous_access_are_detected(self):
        bucket = "findings-exposed"
        arn = f"arn:aws:s3:::{bucket}"
        self.s3.create_bucket(Bucket=bucket)
        self.assertEqual(self.detections(BUCKET_BPA_DISABLED, arn), [])

        # Setting all four on again is not a detection; turning one off is.
        self.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=ALL_BLOCKED)
        self.assertEqual(self.detections(BUCKET_BPA_DISABLED, arn), [])
        off = self.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
            **ALL_BLOCKED, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
        finding = self.detection(BUCKET_BPA_DISABLED, arn)
        self.assertDetectionShape(finding, BUCKET_BPA_DISABLED, "LOW", "AwsS3Bucket", arn)
        self.assertEqual(triggering_ids(finding), [self.event_id(off, "s3.amazonaws.com")])

        # A policy naming the account only is not anonymous access.
        self.s3.put_bucket_policy(Bucket=bucket, Policy=policy_doc({
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{self.account}:root"},
            "Action": "s3:GetObject", "Resource": f"{arn}/*"}))
        self.assertEqual(self.detections(BUCKET_ANONYMOUS, arn), [])

        granted = self.s3.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
        finding = self.detection(BUCKET_ANONYMOUS, arn)
        self.assertDetectionShape(finding, BUCKET_ANONYMOUS, "HIGH", "AwsS3Bucket", arn)
        self.assertEqual(triggering_ids(finding), [self.event_id(granted, "s3.amazonaws.com")])

    def test_decrypt_from_a_new_source_address_is_detected(self):
        creds = self.new_user("findings-decryptor", allow("kms:*"))
        arn = self.user_arn("findings-decryptor")
        key_arn = self.kms.create_key(Description="new source")["KeyMetadata"]["Arn"]
        blob = base64.b64encode(self.kms.encrypt(KeyId=key_arn, Plaintext=b"secret")[
            "CiphertextBlob"]).decode()

        def decrypt(source_ip):
            status, rid, body = self.kms_from(source_ip, "Decrypt", {"CiphertextBlob": blob},
                                              creds)
            self.assertEqual(status, 200, body)
            self.assertEqual(base64.b64decode(body["Plaintext"]), b"secret")
            return rid

        # The baseline: two Decrypts from 127.0.0.1.
        decrypt("127.0.0.1")
        decrypt("127.0.0.1")
        self.assertEqual(self.detections(NEW_SOURCE_DECRYPT, arn), [])

        rid = decrypt("127.0.0.2")
        record = [r for r in trail_records(self.server.data_dir) if r.get("requestID") == rid]
        self.assertEqual(len(record), 1, record)
        self.assertEqual(record[0]["sourceIPAddress"], "127.0.0.2")
        finding = self.detection(NEW_SOURCE_DECRYPT, arn)
        self.assertDetectionShape(finding, NEW_SOURCE_DECRYPT, "LOW", "AwsIamUser", arn)
        self.assertEqual(triggering_ids(finding), [record[0]["eventID"]])
        self.assertIn("127.0.0.2", finding["Description"])

        # Seen now: neither address is new any more.
        decrypt("127.0.0.2")
        decrypt("127.0.0.1")
        self.assertEqual(detection_count(self.detection(NEW_SOURCE_DECRYPT, arn)), 1)

    def test_s3_read_under_a_key_pending_deletion_is_detected(self):
        key_arn = self.kms.create_key(Description="s3 pending")["KeyMetadata"]["Arn"]
        bucket = "findings-pending-key"
        self.s3.create_bucket(Bucket=bucket)
        self.s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"document",
                           ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
        self.kms.schedule_key_deletion(KeyId=key_arn, PendingWindowInDays=7)
        self.assertEqual(self.detections(PENDING_KEY_USED, key_arn), [])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.s3.get_object(Bucket=bucket, Key="doc.txt")
        self.assertEqual(cm.exception.response["Error"]["Code"], "KMS.KMSInvalidStateException")
        finding = self.detection(PENDING_KEY_USED, key_arn)
        self.assertDetectionShape(finding, PENDING_KEY_USED, "HIGH", "AwsKmsKey", key_arn)
        self.assertIn(self.event_id(cm.exception, "s3.amazonaws.com"), triggering_ids(finding))


# --- 4. the API ---------------------------------------------------------------------------------

def field_values(finding, field):
    """What a GetFindings string filter field reads from an ASFF finding, computed here."""
    resource = finding["Resources"][0]
    return {
        "Id": [finding["Id"]],
        "ProductArn": [finding["ProductArn"]],
        "GeneratorId": [finding["GeneratorId"]],
        "AwsAccountId": [finding["AwsAccountId"]],
        "Type": finding.get("Types", []),
        "Title": [finding["Title"]],
        "SeverityLabel": [finding["Severity"]["Label"]],
        "ComplianceStatus": [finding.get("Compliance", {}).get("Status", "")],
        "ComplianceSecurityControlId": [
            finding.get("Compliance", {}).get("SecurityControlId", "")],
        "WorkflowStatus": [finding["Workflow"]["Status"]],
        "RecordState": [finding["RecordState"]],
        "ResourceType": [resource["Type"]],
        "ResourceId": [resource["Id"]],
        "Region": [finding["Region"]],
    }[field]


def matches(finding, filters):
    """Security Hub's semantics: every field must match; on one field positive comparisons OR
    together, negative ones AND together."""
    tests = {"EQUALS": lambda a, v: a == v, "PREFIX": lambda a, v: a.startswith(v),
             "CONTAINS": lambda a, v: v in a}
    negated = {"NOT_EQUALS": "EQUALS", "PREFIX_NOT_EQUALS": "PREFIX", "NOT_CONTAINS": "CONTAINS"}
    for field, conditions in filters.items():
        values = field_values(finding, field)
        positive = [c for c in conditions if c["Comparison"] in tests]
        negative = [c for c in conditions if c["Comparison"] in negated]
        if positive and not any(tests[c["Comparison"]](a, c["Value"])
                                for c in positive for a in values):
            return False
        if any(tests[negated[c["Comparison"]]](a, c["Value"]) for c in negative for a in values):
            return False
    return True


def iso_seconds(epoch):
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


class FindingsApiTest(FindingsTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        kms = cls.kms
        cls.keys = [kms.create_key(Description=f"api {i}")["KeyMetadata"]["Arn"] for i in range(4)]
        kms.enable_key_rotation(KeyId=cls.keys[1])
        kms.schedule_key_deletion(KeyId=cls.keys[2], PendingWindowInDays=7)
        kms.disable_key(KeyId=cls.keys[3])
        cls.s3.create_bucket(Bucket="findings-api-bucket")
        cls.s3.delete_public_access_block(Bucket="findings-api-bucket")
        cls.new_user("findings-api-user", allow("kms:ListKeys"))
        cls.readers = {
            "reader": cls.new_user("findings-reader", allow("securityhub:GetFindings")),
            "nobody": cls.new_user("findings-nobody", allow(["kms:*", "cloudtrail:*"])),
        }

    def test_filters_select_what_the_same_predicate_selects_here(self):
        everything, _ = all_findings(self.hub)
        ids = [f["Id"] for f in everything]
        self.assertEqual(len(ids), len(set(ids)), "duplicate findings")
        self.assertGreater(len(everything), 20)
        self.assertEqual({f["AwsAccountId"] for f in everything}, {self.account})
        key = self.keys[2]
        cases = {
            "failed and critical": where(ComplianceStatus="FAILED", SeverityLabel="CRITICAL"),
            "KMS controls but KMS.4, active": where(
                GeneratorId=[("PREFIX", "security-control/KMS."),
                             ("NOT_EQUALS", "security-control/KMS.4")],
                RecordState="ACTIVE"),
            "HIGH or MEDIUM": where(SeverityLabel=[("EQUALS", "HIGH"), ("EQUALS", "MEDIUM")]),
            "neither keys nor buckets": where(ResourceType=[("NOT_EQUALS", "AwsKmsKey"),
                                                            ("NOT_EQUALS", "AwsS3Bucket")]),
            "detections": where(GeneratorId=[("PREFIX_NOT_EQUALS", "security-control/")]),
            "GuardDuty's": where(ProductArn=GUARDDUTY_PRODUCT),
            "titles about rotation": where(Title=[("CONTAINS", "rotation")]),
            "titles not about S3, passed": where(Title=[("NOT_CONTAINS", "S3")],
                                                 ComplianceStatus="PASSED"),
            "one key's KMS.3": where(ResourceId=key, ComplianceSecurityControlId="KMS.3"),
            "one key, archived": where(ResourceId=key, RecordState="ARCHIVED"),
            "TTP types": where(Type=[("PREFIX", "TTPs/")]),
            "bucket controls by prefix, not S3.8": where(
                ResourceId=[("PREFIX", "arn:aws:s3:::findings-api")],
                ComplianceSecurityControlId=[("NOT_EQUALS", "S3.8")]),
            "workflow NEW in the region": where(WorkflowStatus="NEW", Region=REGION),
        }
        for name, filters in cases.items():
            with self.subTest(name, filters=filters):
                expected = {f["Id"] for f in everything if matches(f, filters)}
                self.assertTrue(0 < len(expected) < len(everything),
                                f"a test case that selects {len(expected)} of "
                                f"{len(everything)} tells nothing")
                got, _ = all_findings(self.hub, filters)
                got_ids = [f["Id"] for f in got]
                self.assertEqual(len(got_ids), len(set(got_ids)), "duplicates")
                self.assertEqual(set(got_ids), expected)
                for finding in got:
                    self.assertTrue(matches(finding, filters), finding)
        # A filter that matches nothing.
        self.assertEqual(all_findings(self.hub, where(AwsAccountId="999999999999"))[0], [])

    def test_date_filters_and_sorting(self):
        everything, _ = all_findings(self.hub)
        created = [parse_timestamp(f["CreatedAt"]) for f in everything]
        day_range = {"CreatedAt": [{"DateRange": {"Value": 1, "Unit": "DAYS"}}]}
        self.assertEqual({f["Id"] for f in all_findings(self.hub, day_range)[0]},
                         {f["Id"] for f in everything})
        future = {"UpdatedAt": [{"Start": iso_seconds(max(created) + 3600),
                                 "End": iso_seconds(max(created) + 7200)}]}
        self.assertEqual(all_findings(self.hub, future)[0], [])
        # Whole seconds: the comparison is exact on both sides.
        start = math.floor(sorted(created)[len(created) // 2])
        window = {"CreatedAt": [{"Start": iso_seconds(start),
                                 "End": iso_seconds(math.ceil(max(created)) + 1)}]}
        expected = {f["Id"] for f, t in zip(everything, created) if t >= start}
        self.assertEqual({f["Id"] for f in all_findings(self.hub, window)[0]}, expected)

        by_severity, _ = all_findings(self.hub, sort=[{"Field": "SeverityLabel",
                                                       "SortOrder": "desc"}])
        ranks = [SEVERITY_RANK[f["Severity"]["Label"]] for f in by_severity]
        self.assertEqual(ranks, sorted(ranks, reverse=True))
        self.assertEqual(len(by_severity), len(everything))
        oldest_first, _ = all_findings(self.hub, sort=[{"Field": "UpdatedAt",
                                                        "SortOrder": "asc"}])
        updated = [parse_timestamp(f["UpdatedAt"]) for f in oldest_first]
        self.assertEqual(updated, sorted(updated))
        # Default: newest UpdatedAt first.
        default = [parse_timestamp(f["UpdatedAt"]) for f in everything]
        self.assertEqual(default, sorted(default, reverse=True))

    def test_pagination_returns_every_finding_once(self):
        one_call = self.hub.get_findings(MaxResults=100)
        self.assertNotIn("NextToken", one_call)
        expected = [f["Id"] for f in one_call["Findings"]]
        for page_size in (1, 4, 7):
            with self.subTest(page_size=page_size):
                pages = list(self.hub.get_paginator("get_findings").paginate(
                    PaginationConfig={"PageSize": page_size}))
                ids = [f["Id"] for page in pages for f in page["Findings"]]
                self.assertEqual(len(ids), len(set(ids)), "duplicate findings across pages")
                self.assertEqual(ids, expected)
                self.assertEqual(len(pages), math.ceil(len(expected) / page_size))
                self.assertTrue(all(len(p["Findings"]) <= page_size for p in pages))
        filters = where(ComplianceStatus="FAILED")
        filtered, pages = all_findings(self.hub, filters, page_size=3)
        self.assertEqual([f["Id"] for f in filtered],
                         [f["Id"] for f in self.hub.get_findings(Filters=filters,
                                                                 MaxResults=100)["Findings"]])
        self.assertGreater(pages, 1)

        # A token belongs to its query.
        first = self.hub.get_findings(Filters=filters, MaxResults=2)
        self.assertIn("NextToken", first)
        self.assertClientError("InvalidInputException", None, self.hub.get_findings,
                               Filters=where(ComplianceStatus="PASSED"), MaxResults=2,
                               NextToken=first["NextToken"])
        self.assertClientError("InvalidInputException", None, self.hub.get_findings,
                               NextToken="bm90IGEgdG9rZW4=")

    def test_invalid_input(self):
        server = self.server

        def raw(body):
            return server.raw_request(json.dumps(body), method="POST", path="/findings",
                                      service="securityhub",
                                      headers={"Content-Type": "application/json"})

        cases = {
            "unknown filter field": {"Filters": {"KeyColour": [{"Value": "blue",
                                                                "Comparison": "EQUALS"}]}},
            "unknown comparison": {"Filters": {"SeverityLabel": [{"Value": "HIGH",
                                                                  "Comparison": "LIKE"}]}},
            "MaxResults 101": {"MaxResults": 101},
            "MaxResults 0": {"MaxResults": 0},
        }
        for name, body in cases.items():
            with self.subTest(name):
                response = raw(body)
                self.assertEqual(response.status, 400, response.body)
                self.assertEqual(response.headers.get("x-amzn-errortype", "").split(":")[0],
                                 "InvalidInputException", response.body)
        # The same through boto3 (client-side validation off so that 101 reaches the server).
        unchecked = server.client("securityhub", validate=False)
        self.assertClientError("InvalidInputException", "MaxResults must be between 1 and 100.",
                               unchecked.get_findings, MaxResults=101)
        # And through the aws CLI.
        result = server.aws("securityhub", "get-findings", "--filters",
                            json.dumps({"SeverityLabel": [{"Value": "HIGH",
                                                           "Comparison": "SOUNDS_LIKE"}]}))
        self.assertCliError(result, "InvalidInputException")

    def test_workflow_and_note_persist_across_reevaluation_and_restart(self):
        server = self.server
        key_arn = self.kms.create_key(Description="triaged")["KeyMetadata"]["Arn"]
        finding = self.control("KMS.4", key_arn)
        identifier = {"Id": finding["Id"], "ProductArn": finding["ProductArn"]}

        # With the aws CLI.
        out = self.assertCliOk(server.aws(
            "securityhub", "batch-update-findings", "--finding-identifiers",
            json.dumps([identifier]), "--workflow", "Status=NOTIFIED",
            "--note", "Text=Rotation is owned by the platform team,UpdatedBy=kzax01"))
        self.assertEqual(out["ProcessedFindings"], [identifier])
        self.assertEqual(out["UnprocessedFindings"], [])

        def check(finding, workflow="NOTIFIED"):
            self.assertEqual(finding["Workflow"]["Status"], workflow, finding)
            self.assertEqual(finding["Note"]["Text"], "Rotation is owned by the platform team")
            self.assertEqual(finding["Note"]["UpdatedBy"], "kzax01")
            self.assertEqual(finding["Id"], identifier["Id"])
            self.assertEqual(finding["CreatedAt"], original["CreatedAt"])

        original = finding
        updated = self.control("KMS.4", key_arn)
        check(updated)
        self.assertFailed(updated, "MEDIUM", workflow="NOTIFIED")
        self.assertEqual(updated["WorkflowState"], "ASSIGNED")
        self.assertIn(updated["Id"], [f["Id"] for f in self.findings(WorkflowStatus="NOTIFIED")])

        # Re-evaluated after changes to the key that leave it failing.
        self.kms.update_key_description(KeyId=key_arn, Description="triaged, renamed")
        self.kms.disable_key(KeyId=key_arn)
        self.kms.enable_key(KeyId=key_arn)
        self.kms.tag_resource(KeyId=key_arn, Tags=[{"TagKey": "team", "TagValue": "platform"}])
        check(self.control("KMS.4", key_arn))

        # Across a restart (controls are evaluated again at start).
        server.restart()
        hub = server.client("securityhub")
        after_restart = self.control("KMS.4", key_arn, hub=hub)
        check(after_restart)
        self.assertFailed(after_restart, "MEDIUM", workflow="NOTIFIED")

        # Fixed: resolved and archived, the note kept; failing again: NEW (AWS resets NOTIFIED
        # and RESOLVED when a finding comes back), the note still kept.
        self.kms.enable_key_rotation(KeyId=key_arn)
        fixed = self.control("KMS.4", key_arn, hub=hub)
        self.assertPassed(fixed)
        check(fixed, workflow="RESOLVED")
        self.kms.disable_key_rotation(KeyId=key_arn)
        back = self.control("KMS.4", key_arn, hub=hub)
        self.assertFailed(back, "MEDIUM", workflow="NEW")
        check(back, workflow="NEW")

    def test_batch_update_reports_unprocessed_identifiers(self):
        kms3 = self.control("KMS.3", self.keys[2])
        good = {"Id": kms3["Id"], "ProductArn": kms3["ProductArn"]}
        missing = {"Id": kms3["Id"].rsplit("/", 1)[0] + "/00000000-0000-0000-0000-000000000000",
                   "ProductArn": SECURITYHUB_PRODUCT}
        wrong_product = {"Id": kms3["Id"], "ProductArn": GUARDDUTY_PRODUCT}
        out = self.hub.batch_update_findings(
            FindingIdentifiers=[missing, good, wrong_product],
            Workflow={"Status": "SUPPRESSED"})
        self.assertEqual(out["ProcessedFindings"], [good])
        self.assertEqual(
            sorted((u["FindingIdentifier"]["Id"], u["FindingIdentifier"]["ProductArn"],
                    u["ErrorCode"]) for u in out["UnprocessedFindings"]),
            sorted([(missing["Id"], missing["ProductArn"], "FindingNotFound"),
                    (wrong_product["Id"], wrong_product["ProductArn"], "FindingNotFound")]))
        self.assertEqual(self.control("KMS.3", self.keys[2])["Workflow"]["Status"], "SUPPRESSED")

        # Nothing to update, bad status, no identifiers: refused outright.
        self.assertClientError("InvalidInputException", None, self.hub.batch_update_findings,
                               FindingIdentifiers=[good])
        self.assertClientError("InvalidInputException", None,
                               self.server.client("securityhub", validate=False)
                               .batch_update_findings,
                               FindingIdentifiers=[good], Workflow={"Status": "DONE"})
        self.assertClientError("InvalidInputException", None,
                               self.server.client("securityhub", validate=False)
                               .batch_update_findings,
                               FindingIdentifiers=[], Workflow={"Status": "NEW"})
        self.assertEqual(self.control("KMS.3", self.keys[2])["Workflow"]["Status"], "SUPPRESSED")

    def test_batch_update_reports_duplicated_identifiers(self):
        # AWS: "DuplicatedFindingIdentifier - The request included two or more findings with the
        # same FindingIdentifier" (BatchUpdateFindingsUnprocessedFinding).
        finding = self.control("KMS.4", self.keys[0])
        identifier = {"Id": finding["Id"], "ProductArn": finding["ProductArn"]}
        out = self.hub.batch_update_findings(FindingIdentifiers=[identifier, identifier],
                                             Note={"Text": "twice", "UpdatedBy": "e2e"})
        self.assertLessEqual(out["ProcessedFindings"].count(identifier), 1, out)
        self.assertIn(("DuplicatedFindingIdentifier", identifier["Id"]),
                      [(u["ErrorCode"], u["FindingIdentifier"]["Id"])
                       for u in out["UnprocessedFindings"]], out)

    def test_another_account_sees_none_of_these_findings(self):
        server = self.server
        other = server.second_account()
        creds = dict(access_key_id=other["AccessKeyId"],
                     secret_access_key=other["SecretAccessKey"])
        other_key = server.client("kms", **creds).create_key()["KeyMetadata"]["Arn"]
        other_hub = server.client("securityhub", **creds)

        theirs, _ = all_findings(other_hub)
        self.assertIn(other_key, [f["Resources"][0]["Id"] for f in theirs])
        self.assertEqual({f["AwsAccountId"] for f in theirs}, {other["AccountId"]})
        mine, _ = all_findings(self.hub)
        self.assertEqual({f["Id"] for f in theirs} & {f["Id"] for f in mine}, set())
        self.assertNotIn(other_key, [f["Resources"][0]["Id"] for f in mine])
        # Asked by name.
        self.assertEqual(all_findings(other_hub, where(AwsAccountId=self.account))[0], [])
        self.assertEqual(all_findings(other_hub, where(ResourceId=self.keys[2]))[0], [])
        # Nor can it update them.
        target = self.control("KMS.3", self.keys[2])
        identifier = {"Id": target["Id"], "ProductArn": target["ProductArn"]}
        out = other_hub.batch_update_findings(FindingIdentifiers=[identifier],
                                              Workflow={"Status": "RESOLVED"},
                                              Note={"Text": "not yours", "UpdatedBy": "other"})
        self.assertEqual(out["ProcessedFindings"], [])
        self.assertEqual([u["ErrorCode"] for u in out["UnprocessedFindings"]],
                         ["FindingNotFound"])
        after = self.control("KMS.3", self.keys[2])
        self.assertEqual(after["Workflow"], target["Workflow"])
        self.assertEqual(after.get("Note"), target.get("Note"))

    def test_get_findings_needs_securityhub_permissions(self):
        account = self.account
        nobody = self.client_as("securityhub", self.readers["nobody"])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            nobody.get_findings()
        response = cm.exception.response
        self.assertEqual(response["Error"]["Code"], "AccessDeniedException")
        self.assertEqual(
            response["Error"]["Message"],
            f"User: arn:aws:iam::{account}:user/findings-nobody is not authorized to perform: "
            "securityhub:GetFindings on resource: * because no identity-based policy allows the "
            "securityhub:GetFindings action")
        with self.subTest("Security Hub's AccessDeniedException is HTTP 403 (its API model)"):
            self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 403, response)
        result = self.server.aws("securityhub", "get-findings", env={
            **self.server.aws_env(), "AWS_ACCESS_KEY_ID": self.readers["nobody"][0],
            "AWS_SECRET_ACCESS_KEY": self.readers["nobody"][1]})
        self.assertCliError(result, "AccessDeniedException")

        # With securityhub:GetFindings: the account's findings, all of them, but no updates.
        reader = self.client_as("securityhub", self.readers["reader"])
        seen, _ = all_findings(reader)
        self.assertEqual({f["Id"] for f in seen}, {f["Id"] for f in all_findings(self.hub)[0]})
        finding = self.control("KMS.4", self.keys[0])
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            reader.batch_update_findings(
                FindingIdentifiers=[{"Id": finding["Id"], "ProductArn": finding["ProductArn"]}],
                Workflow={"Status": "SUPPRESSED"})
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        self.assertIn("securityhub:BatchUpdateFindings",
                      cm.exception.response["Error"]["Message"])
        with self.subTest("BatchUpdateFindings' AccessDeniedException is HTTP 403"):
            self.assertEqual(cm.exception.response["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertEqual(self.control("KMS.4", self.keys[0])["Workflow"], finding["Workflow"])


# --- 5. evaluated at start; `hangar findings list` ----------------------------------------------

class FindingsRestartTest(FindingsTestCase):

    def list_findings(self, *args):
        proc = run_hangar("findings", "list", "--data-dir", self.server.data_dir, *args)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return proc.stdout

    def test_findings_survive_a_restart_and_controls_are_evaluated_at_start(self):
        server = self.server
        key_arn = self.kms.create_key(Description="pending at restart")["KeyMetadata"]["Arn"]
        self.kms.schedule_key_deletion(KeyId=key_arn, PendingWindowInDays=7)
        kept_arn = self.kms.create_key(Description="kept")["KeyMetadata"]["Arn"]
        self.kms.enable_key_rotation(KeyId=kept_arn)
        self.s3.create_bucket(Bucket="findings-restart")
        self.new_user("findings-restart-user", allow("s3:ListAllMyBuckets"))
        kms3 = self.control("KMS.3", key_arn)
        self.assertFailed(kms3, "CRITICAL")

        # `hangar findings list` beside the running server: the KMS.3 finding, most severe first.
        table = self.list_findings()
        lines = table.splitlines()
        kms3_lines = [line for line in lines
                      if "security-control/KMS.3" in line and key_arn in line]
        self.assertEqual(len(kms3_lines), 1, table)
        self.assertTrue(kms3_lines[0].split()[:2] == ["CRITICAL", "FAILED"], kms3_lines[0])
        self.assertNotIn(kept_arn, [line.split()[-1] for line in lines
                                    if "security-control/KMS.4" in line], table)
        active = [f for f in all_findings(self.hub, where(RecordState="ACTIVE"))[0]]
        self.assertEqual(lines[-1], f"{len(active)} findings", table)
        severities = [SEVERITY_RANK[line.split()[0]] for line in lines[1:-1]
                      if line and not line.startswith(" ")]
        self.assertEqual(severities, sorted(severities, reverse=True))
        as_json = [json.loads(line) for line in self.list_findings("--json").splitlines()]
        self.assertIn(kms3["Id"], [f["Id"] for f in as_json])
        self.assertEqual({f["Id"] for f in as_json}, {f["Id"] for f in active})
        with_archived = [json.loads(line) for line in
                         self.list_findings("--json", "--all").splitlines()]
        self.assertIn(self.control("KMS.4", kept_arn)["Id"], [f["Id"] for f in with_archived])

        before, _ = all_findings(self.hub)
        server.stop()

        # While it is down: the list still works, and an account is created.
        self.assertIn(key_arn, self.list_findings())
        proc = run_hangar("admin", "create-account", "--data-dir", server.data_dir)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        other = json.loads(proc.stdout)

        server.start()  # on a new port: new clients
        hub, kms = server.client("securityhub"), server.client("kms")
        after, _ = all_findings(hub)
        stable = ("Id", "GeneratorId", "Compliance", "Severity", "RecordState", "Workflow",
                  "Resources", "CreatedAt", "FirstObservedAt", "Title")
        self.assertEqual({f["Id"]: {k: f.get(k) for k in stable} for f in after},
                         {f["Id"]: {k: f.get(k) for k in stable} for f in before})
        self.assertFailed(self.control("KMS.3", key_arn, hub=hub), "CRITICAL")

        # The new account's account-level controls were evaluated at start.
        other_hub = server.client("securityhub", access_key_id=other["AccessKeyId"],
                                  secret_access_key=other["SecretAccessKey"])
        theirs = {f["Compliance"]["SecurityControlId"]: f for f in all_findings(other_hub)[0]}
        self.assertEqual(sorted(theirs), ["IAM.4", "S3.1"])
        for finding in theirs.values():
            self.assertEqual(finding["Resources"][0]["Id"], f"AWS::::Account:{other['AccountId']}")
            self.assertEqual(finding["AwsAccountId"], other["AccountId"])
            self.assertEqual(compliance(finding), "FAILED")
        self.assertIn(f"AWS::::Account:{other['AccountId']}",
                      self.list_findings("--account", other["AccountId"]))

        # Cancelled after the restart: the finding the list printed passes.
        kms.cancel_key_deletion(KeyId=key_arn)
        self.assertPassed(self.control("KMS.3", key_arn, hub=hub))
        self.assertNotIn(key_arn, [line.split()[-1] for line in self.list_findings().splitlines()
                                   if "security-control/KMS.3" in line])


if __name__ == "__main__":
    unittest.main()
