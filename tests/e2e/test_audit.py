"""The audit trail end to end (docs/reference/audit.md): every request the real binary serves or
refuses leaves one CloudTrail record (eventVersion 1.11) in DATA_DIR/audit/logs/*.jsonl before
its answer leaves the server; signed digests chain the closed log files; `hangar audit verify`
names what was tampered with; `hangar audit export` writes every record; CloudTrail LookupEvents
(`aws cloudtrail lookup-events`) shows an account its own management events, newest first.

  * AuditLabTest: the lab with the aws CLI — a key, its alias, an SSE-KMS bucket with a Bucket
    Key, an upload, a key administrator (Kzax01) who schedules the key's deletion and is refused
    a Decrypt; lookup-events by the key's ARN shows each of those steps with the right caller,
    and the AwsServiceEvent DeleteKey once the dev clock passes the 7-day window.
  * AuditIntegrityTest: verify passes at rest after SIGTERM, and names the file after each
    tamper (flipped byte, deleted log, deleted digest, inserted record, inserted file, altered
    digest), each on its own copy of the data directory.
  * AuditSecretsTest: no plaintext, data key, ciphertext blob, secret access key, session token
    or SSE-C key anywhere in DATA_DIR/audit — with markers proving the search finds what is
    recorded.
  * AuditCrashTest: kill -9 under concurrent KMS and S3 load loses no acknowledged request's
    record; the trail verifies after the next clean stop.
  * AuditLookupTest: LookupEvents pagination, its errors, account isolation, IAM authorisation,
    and requests refused for their signature recorded under the access key they claimed.
"""

import base64
import datetime
import glob
import hashlib
import json
import math
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request
import uuid

import botocore.exceptions

from harness import HANGAR_BIN, HangarTestCase

DAY = 86400
POLL_SECONDS = 30.0
KMS_KEY_TYPE = "AWS::KMS::Key"
KEY_ADMIN_ACTIONS = ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
                     "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
                     "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"]
SIGNATURE_MISMATCH_TEXT = ("The request signature we calculated does not match the signature you "
                           "provided.")


# --- reading the trail --------------------------------------------------------------------------

def audit_dir(data_dir):
    return os.path.join(data_dir, "audit")


def log_files(data_dir):
    return sorted(glob.glob(os.path.join(audit_dir(data_dir), "logs", "*.jsonl")))


def digest_files(data_dir):
    return sorted(glob.glob(os.path.join(audit_dir(data_dir), "digests", "*.json")))


def trail_records(data_dir):
    """Every complete record (a line ending in a newline) of every log file, in trail order."""
    records = []
    for path in log_files(data_dir):
        with open(path, "rb") as f:
            text = f.read()
        for line in text.split(b"\n")[:-1]:  # whatever follows the last newline is being written
            if line:
                records.append(json.loads(line))
    return records


def record_with_request_id(testcase, data_dir, request_id):
    matches = [r for r in trail_records(data_dir) if r.get("requestID") == request_id]
    testcase.assertEqual(len(matches), 1, f"records with requestID {request_id}: {matches}")
    return matches[0]


def run_hangar(*args, timeout=60):
    return subprocess.run([HANGAR_BIN, *args], capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def verify(data_dir):
    """`hangar audit verify`: (exit code, stdout, the FAILED lines in order)."""
    proc = run_hangar("audit", "verify", "--data-dir", data_dir)
    failed = [line for line in proc.stdout.splitlines() if line.startswith("FAILED: ")]
    return proc.returncode, proc.stdout + proc.stderr, failed


def export(data_dir, out_path):
    """`hangar audit export --out F`: the records it wrote, parsed."""
    proc = run_hangar("audit", "export", "--data-dir", data_dir, "--out", out_path)
    if proc.returncode != 0:
        raise AssertionError(f"hangar audit export failed ({proc.returncode}): {proc.stderr}")
    with open(out_path, "rb") as f:
        return [json.loads(line) for line in f.read().splitlines() if line]


def lookup_all(client, attribute=None, page_size=None):
    """LookupEvents through boto3's paginator: (events, number of pages)."""
    kwargs = {}
    if attribute is not None:
        kwargs["LookupAttributes"] = [{"AttributeKey": attribute[0],
                                       "AttributeValue": attribute[1]}]
    if page_size is not None:
        kwargs["PaginationConfig"] = {"PageSize": page_size}
    events, pages = [], 0
    for page in client.get_paginator("lookup_events").paginate(**kwargs):
        pages += 1
        if page_size is not None and len(page["Events"]) > page_size:
            raise AssertionError(f"a page of {len(page['Events'])} events for MaxResults "
                                 f"{page_size}")
        events.extend(page["Events"])
    return events, pages


def trail_event(event):
    """The CloudTrail record inside a LookupEvents event."""
    return json.loads(event["CloudTrailEvent"])


def account_policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions, resource="*"):
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def error_code_of(response):
    """The wire error code of a raw response: JSON's x-amzn-ErrorType, or the XML <Code>."""
    if "x-amzn-errortype" in response.headers:
        return response.headers["x-amzn-errortype"].split(":")[0]
    text = response.body.decode("utf-8", "replace")
    start = text.find("<Code>")
    return text[start + 6:text.find("</Code>")] if start >= 0 else None


def request_id_of(response):
    return response.headers.get("x-amzn-requestid") or response.headers.get("x-amz-request-id")


# --- 1. the lab with the aws CLI ----------------------------------------------------------------

class AuditLabTest(HangarTestCase):
    ALIAS = "alias/cloud_user"
    BUCKET = "audit-lab-bucket"
    OBJECT_KEY = "reports/flight-plan.txt"

    def cli(self, *args, env=None):
        return self.assertCliOk(self.server.aws(*args, env=env))

    def lookup_cli(self, key, value):
        out = self.cli("cloudtrail", "lookup-events", "--lookup-attributes",
                       f"AttributeKey={key},AttributeValue={value}")
        return out["Events"]

    def test_lab_steps_show_in_lookup_events_and_key_destruction_is_a_service_event(self):
        server = self.server
        account = server.account_id
        files = tempfile.mkdtemp(dir=server.tmp_dir)

        # The key, its alias, the bucket with SSE-KMS + Bucket Key by default, an upload.
        meta = self.cli("kms", "create-key", "--description", "audit lab key")["KeyMetadata"]
        key_id, key_arn = meta["KeyId"], meta["Arn"]
        self.cli("kms", "create-alias", "--alias-name", self.ALIAS, "--target-key-id", key_id)
        self.cli("s3api", "create-bucket", "--bucket", self.BUCKET)
        self.cli("s3api", "put-bucket-encryption", "--bucket", self.BUCKET,
                 "--server-side-encryption-configuration", json.dumps({"Rules": [{
                     "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                            "KMSMasterKeyID": self.ALIAS},
                     "BucketKeyEnabled": True}]}))
        body_path = os.path.join(files, "flight-plan.txt")
        with open(body_path, "wb") as f:
            f.write(b"waypoints of the lab\n" * 100)
        self.cli("s3", "cp", body_path, f"s3://{self.BUCKET}/{self.OBJECT_KEY}")
        head = self.cli("s3api", "head-object", "--bucket", self.BUCKET, "--key", self.OBJECT_KEY)
        self.assertEqual(head["SSEKMSKeyId"], key_arn)

        # Kzax01, a key administrator by the key policy: manages the key, may not use it.
        self.cli("iam", "create-user", "--user-name", "Kzax01")
        access = self.cli("iam", "create-access-key", "--user-name", "Kzax01")["AccessKey"]
        kzax_env = server.aws_env()
        kzax_env.update(AWS_ACCESS_KEY_ID=access["AccessKeyId"],
                        AWS_SECRET_ACCESS_KEY=access["SecretAccessKey"])
        policy = account_policy(
            {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*",
             "Resource": "*"},
            {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{account}:user/Kzax01"},
             "Action": KEY_ADMIN_ACTIONS, "Resource": "*"})
        self.cli("kms", "put-key-policy", "--key-id", key_id, "--policy-name", "default",
                 "--policy", policy)
        ciphertext = base64.b64decode(self.cli(
            "kms", "encrypt", "--key-id", self.ALIAS, "--plaintext", "fileb://" + body_path,
        )["CiphertextBlob"])
        ciphertext_path = os.path.join(files, "ciphertext.bin")
        with open(ciphertext_path, "wb") as f:
            f.write(ciphertext)

        # Kzax01 schedules the deletion (7 days), then tries to decrypt: refused.
        scheduled = self.cli("kms", "schedule-key-deletion", "--key-id", key_arn,
                             "--pending-window-in-days", "7", env=kzax_env)
        self.assertEqual(scheduled["KeyState"], "PendingDeletion")
        denied = server.aws("kms", "decrypt", "--ciphertext-blob", "fileb://" + ciphertext_path,
                            env=kzax_env)
        self.assertCliError(
            denied, "AccessDeniedException",
            f"User: arn:aws:iam::{account}:user/Kzax01 is not authorized to perform: kms:Decrypt "
            f"on resource: {key_arn} because no identity-based policy allows the kms:Decrypt "
            "action")

        # lookup-events by the key's ARN: each step, with its caller.
        events = self.lookup_cli("ResourceName", key_arn)
        by_name = {}
        for event in events:
            by_name.setdefault(event["EventName"], []).append(event)
            self.assertIn({"ResourceType": KMS_KEY_TYPE, "ResourceName": key_arn},
                          event["Resources"], event)
        times = [event["EventTime"] for event in events]
        self.assertEqual(times, sorted(times, reverse=True), "events are not newest first")
        names = [event["EventName"] for event in events]

        def one(name, predicate=lambda record: True):
            matching = [trail_event(e) for e in by_name.get(name, []) if
                        predicate(trail_event(e))]
            self.assertTrue(matching, f"no {name} event under {key_arn}; events: {names}")
            return matching[0]

        with self.subTest("CreateKey"):
            record = one("CreateKey")
            self.assertEqual(record["userIdentity"]["type"], "Root")
            self.assertEqual(record["userIdentity"]["arn"], f"arn:aws:iam::{account}:root")
            self.assertEqual(record["responseElements"]["keyMetadata"]["arn"], key_arn)
            self.assertEqual(record["eventVersion"], "1.11")
            self.assertIs(record["readOnly"], False)
            self.assertEqual(by_name["CreateKey"][0]["Username"], "root")
        with self.subTest("CreateAlias"):
            record = one("CreateAlias")
            self.assertEqual(record["requestParameters"]["aliasName"], self.ALIAS)
        with self.subTest("GenerateDataKey made by S3 for the upload"):
            record = one("GenerateDataKey",
                         lambda r: r["userIdentity"].get("invokedBy") == "s3.amazonaws.com")
            self.assertEqual(record["userIdentity"]["type"], "Root")
            self.assertEqual(record["userIdentity"]["arn"], f"arn:aws:iam::{account}:root")
            self.assertEqual(record["sourceIPAddress"], "s3.amazonaws.com")
            self.assertEqual(record["eventSource"], "kms.amazonaws.com")
            self.assertEqual(record["requestParameters"]["encryptionContext"],
                             {"aws:s3:arn": f"arn:aws:s3:::{self.BUCKET}"})  # the Bucket Key's
            self.assertNotIn("errorCode", record)
        with self.subTest("PutKeyPolicy"):
            record = one("PutKeyPolicy")
            self.assertEqual(record["userIdentity"]["type"], "Root")
        with self.subTest("ScheduleKeyDeletion by Kzax01"):
            record = one("ScheduleKeyDeletion")
            self.assertEqual(record["userIdentity"]["type"], "IAMUser")
            self.assertEqual(record["userIdentity"]["userName"], "Kzax01")
            self.assertEqual(record["userIdentity"]["accessKeyId"], access["AccessKeyId"])
            self.assertEqual(record["requestParameters"]["pendingWindowInDays"], 7)
            self.assertEqual(record["responseElements"]["keyState"], "PendingDeletion")
            self.assertEqual(by_name["ScheduleKeyDeletion"][0]["Username"], "Kzax01")
            self.assertLess(names.index("ScheduleKeyDeletion"), names.index("CreateKey"))
        with self.subTest("the refused Decrypt by Kzax01"):
            record = one("Decrypt", lambda r: r.get("errorCode") is not None)
            self.assertEqual(record["errorCode"], "AccessDeniedException")
            self.assertIn("kms:Decrypt", record["errorMessage"])
            self.assertEqual(record["userIdentity"]["userName"], "Kzax01")
            self.assertEqual(record["userIdentity"]["type"], "IAMUser")
            # As AWS records Decrypt: the key resolved from the ciphertext, the algorithm.
            self.assertEqual(record["requestParameters"].get("keyId"), key_arn)
            self.assertEqual(record["requestParameters"].get("encryptionAlgorithm"),
                             "SYMMETRIC_DEFAULT")

        # PutBucketEncryption by EventName; the upload is a data event: in the trail, not here.
        bucket_events = self.lookup_cli("EventName", "PutBucketEncryption")
        self.assertEqual(len(bucket_events), 1, bucket_events)
        self.assertEqual(bucket_events[0]["Username"], "root")
        self.assertIn(f"arn:aws:s3:::{self.BUCKET}",
                      [r["ResourceName"] for r in bucket_events[0]["Resources"]])
        self.assertEqual(trail_event(bucket_events[0])["requestParameters"]["bucketName"],
                         self.BUCKET)
        self.assertEqual(self.lookup_cli("EventName", "PutObject"), [])
        puts = [r for r in trail_records(server.data_dir) if r["eventName"] == "PutObject"
                and (r["requestParameters"] or {}).get("key") == self.OBJECT_KEY]
        self.assertEqual(len(puts), 1, puts)
        self.assertIs(puts[0]["managementEvent"], False)
        self.assertEqual(puts[0]["eventCategory"], "Data")
        # Listings of a bucket's objects are data events too, versions included.
        self.cli("s3api", "list-object-versions", "--bucket", self.BUCKET)
        listings = [r for r in trail_records(server.data_dir)
                    if r["eventName"] == "ListObjectVersions"]
        self.assertEqual([r["managementEvent"] for r in listings], [False])
        self.assertEqual(self.lookup_cli("EventName", "ListObjectVersions"), [])

        # Past the window on the dev clock: KMS destroys the key and says so as a service event.
        server.advance_clock(8 * DAY)
        deadline = time.monotonic() + POLL_SECONDS
        while True:
            events = self.lookup_cli("ResourceName", key_arn)
            deletions = [e for e in events if e["EventName"] == "DeleteKey"]
            if deletions or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(len(deletions), 1, f"DeleteKey events: {[e['EventName'] for e in events]}")
        self.assertIs(events[0], deletions[0], "DeleteKey is not the newest event of the key")
        record = trail_event(deletions[0])
        self.assertEqual(record["eventType"], "AwsServiceEvent")
        self.assertEqual(record["eventSource"], "kms.amazonaws.com")
        self.assertEqual(record["userIdentity"], {"accountId": account,
                                                  "invokedBy": "AWS Internal"})
        self.assertEqual(record["responseElements"], {"keyId": key_arn})
        self.assertEqual([(r["type"], r["ARN"]) for r in record["resources"]],
                         [(KMS_KEY_TYPE, key_arn)])
        self.assertEqual(record["recipientAccountId"], account)
        self.assertCliError(server.aws("kms", "describe-key", "--key-id", key_arn),
                            "NotFoundException")


# --- 2. tamper evidence -------------------------------------------------------------------------

class AuditIntegrityTest(HangarTestCase):

    def some_requests(self, round_no):
        kms = self.server.client("kms")
        key = kms.create_key(Description=f"integrity round {round_no}")["KeyMetadata"]["KeyId"]
        kms.encrypt(KeyId=key, Plaintext=b"integrity")
        s3 = self.server.s3_client()
        s3.put_object(Bucket="integrity-bucket", Key=f"round-{round_no}.txt", Body=b"x" * 100)
        self.server.client("sts").get_caller_identity()

    def test_verify_passes_at_rest_and_names_each_tampered_file(self):
        server = self.server
        server.s3_client().create_bucket(Bucket="integrity-bucket")
        # Three runs; each SIGTERM closes the run's log file and signs a digest.
        for round_no in range(3):
            self.some_requests(round_no)
            if round_no < 2:
                self.assertEqual(server.restart(), 0)
        self.assertEqual(server.stop(), 0)

        digests = digest_files(server.data_dir)
        self.assertGreaterEqual(len(digests), 3, digests)
        rc, out, failed = verify(server.data_dir)
        self.assertEqual((rc, failed), (0, []), out)
        self.assertIn("OK: the trail is intact", out)
        self.assertNotIn("not yet digested", out)

        rel = lambda path: os.path.relpath(path, audit_dir(server.data_dir))  # noqa: E731
        first, middle, last = rel(digests[0]), rel(digests[1]), rel(digests[-1])
        with open(digests[1]) as f:
            middle_digest = json.load(f)
        listed = [entry["s3Object"] for entry in middle_digest["logFiles"]]
        self.assertTrue(listed, f"{middle} lists no log file")
        log = listed[0]
        self.assertTrue(os.path.isfile(os.path.join(audit_dir(server.data_dir), log)), log)
        self.assertEqual(middle_digest["previousDigestS3Object"], first)

        copies = tempfile.mkdtemp(dir=server.tmp_dir)

        def tampered(name, tamper):
            data = os.path.join(copies, name)
            shutil.copytree(server.data_dir, data)
            tamper(audit_dir(data))
            rc, out, failed = verify(data)
            self.assertEqual(rc, 1, f"{name}: verify did not fail\n{out}")
            self.assertTrue(failed, f"{name}: no FAILED line\n{out}")
            self.assertNotIn("OK: the trail is intact", out)
            return failed

        def flip_byte(audit):
            path = os.path.join(audit, log)
            with open(path, "r+b") as f:
                data = f.read()
                f.seek(len(data) // 2)
                f.write(bytes([data[len(data) // 2] ^ 0x01]))

        failed = tampered("flipped", flip_byte)
        self.assertEqual(failed[0], f"FAILED: log file {log} was altered (its SHA-256 is not "
                                    f"the one {middle} lists)")

        failed = tampered("deleted-log", lambda audit: os.remove(os.path.join(audit, log)))
        self.assertTrue(failed[0].startswith(f"FAILED: log file {log} listed in {middle} was "
                                             "deleted"), failed)

        def delete_digest(audit):
            os.remove(os.path.join(audit, middle))
            os.remove(os.path.join(audit, middle + ".sig"))

        failed = tampered("deleted-digest", delete_digest)
        after_middle = rel(digests[2])
        self.assertTrue(failed[0].startswith(
            f"FAILED: digest {middle} was deleted: the chain breaks between {first} and "
            f"{after_middle} (no digest covers "), failed)

        def insert_record(audit):
            path = os.path.join(audit, log)
            with open(path, "rb") as f:
                lines = f.read().splitlines(keepends=True)
            forged = json.loads(lines[0])
            forged.update(eventName="DisableKey", eventID=str(uuid.uuid4()),
                          requestID=str(uuid.uuid4()))
            lines.insert(len(lines) // 2, json.dumps(forged).encode() + b"\n")
            with open(path, "wb") as f:
                f.write(b"".join(lines))

        failed = tampered("inserted-record", insert_record)
        self.assertTrue(failed[0].startswith(f"FAILED: log file {log} was altered"), failed)

        # A whole log file slipped in among the digested ones (its sequence number is covered):
        # named one second after the listed one, with the same sequence number.
        stem, sequence = os.path.basename(log)[:-len(".jsonl")].split("-")
        later = datetime.datetime.strptime(stem, "%Y%m%dT%H%M%SZ") + datetime.timedelta(seconds=1)
        inserted = f"logs/{later.strftime('%Y%m%dT%H%M%SZ')}-{sequence}.jsonl"

        def insert_file(audit):
            shutil.copyfile(os.path.join(audit, log), os.path.join(audit, inserted))

        failed = tampered("inserted-file", insert_file)
        self.assertEqual(failed, [f"FAILED: log file {inserted} is not listed by any digest: "
                                  "it was inserted"])

        # A forger alters a log and rewrites its hash in the digest: the signature gives it away.
        def alter_log_and_digest(audit):
            flip_byte(audit)
            path = os.path.join(audit, middle)
            with open(path) as f:
                digest = json.load(f)
            with open(os.path.join(audit, log), "rb") as f:
                digest["logFiles"][0]["hashValue"] = hashlib.sha256(f.read()).hexdigest()
            with open(path, "w") as f:
                f.write(json.dumps(digest, indent=2) + "\n")

        failed = tampered("altered-digest", alter_log_and_digest)
        self.assertEqual(failed[0], f"FAILED: digest {middle} was altered or is not signed by "
                                    "the trail's digest key")
        self.assertNotIn(f"FAILED: log file {log} was altered (its SHA-256 is not the one "
                         f"{middle} lists)", failed)

        # The original, untouched by all of this, still verifies; and the last digest is there.
        rc, out, failed = verify(server.data_dir)
        self.assertEqual((rc, failed), (0, []), out)
        self.assertTrue(os.path.isfile(os.path.join(audit_dir(server.data_dir), last + ".sig")))


class AuditRetentionTest(HangarTestCase):
    """--audit-retention-days: expired digests go with their log files, and the shortened chain
    still verifies (docs/audit.md, Retention)."""

    server_options = {"extra_args": ["--audit-retention-days", "1"]}

    def test_expired_logs_go_with_their_digests_and_the_chain_still_verifies(self):
        server = self.server
        kms = server.client("kms")
        old = kms.create_key(Description="before the cut")["KeyMetadata"]["Arn"]
        self.assertEqual(server.restart(), 0)  # the first digest lists the first log file
        first_logs = log_files(server.data_dir)
        self.assertTrue(first_logs)
        # Two days later (dev clock), a new digest: the first one has expired.
        server.advance_clock(2 * DAY)
        kms = server.client("kms")
        new = kms.create_key(Description="after the cut")["KeyMetadata"]["Arn"]
        self.assertEqual(server.stop(), 0)

        remaining = log_files(server.data_dir)
        for path in first_logs:
            self.assertNotIn(path, remaining, "an expired log file was kept")
        marker = os.path.join(audit_dir(server.data_dir), "digests", "retention.json")
        self.assertTrue(os.path.isfile(marker) and os.path.isfile(marker + ".sig"))
        rc, out, failed = verify(server.data_dir)
        self.assertEqual((rc, failed), (0, []), out)
        arns = {((r.get("responseElements") or {}).get("keyMetadata") or {}).get("arn")
                for r in trail_records(server.data_dir) if r.get("eventName") == "CreateKey"}
        self.assertIn(new, arns)
        self.assertNotIn(old, arns, "the expired record is still in the trail")

        # Retention is no cover for someone else's deletion: remove the first digest kept.
        with open(marker) as f:
            first_kept = json.load(f)["firstDigestS3Object"]
        path = os.path.join(audit_dir(server.data_dir), first_kept)
        os.remove(path)
        os.remove(path + ".sig")
        rc, out, failed = verify(server.data_dir)
        self.assertEqual(rc, 1, out)
        self.assertIn("was deleted", failed[0])


# --- 3. no secrets in the trail -----------------------------------------------------------------

class AuditSecretsTest(HangarTestCase):

    def audit_files_containing(self, needle: bytes):
        hits = []
        for root, _, names in os.walk(audit_dir(self.server.data_dir)):
            for name in names:
                path = os.path.join(root, name)
                with open(path, "rb") as f:
                    if needle in f.read():
                        hits.append(os.path.relpath(path, self.server.data_dir))
        return hits

    def test_no_secret_is_recorded_but_what_is_recorded_is_found(self):
        server = self.server
        account = server.account_id
        unique = uuid.uuid4().hex
        kms = server.client("kms")
        s3 = server.s3_client()
        iam = server.client("iam")
        secrets = {}  # what -> bytes that must not be in DATA_DIR/audit
        request_ids = {}  # what -> the request id of a call whose record must be there

        def b64s(data):
            return base64.b64encode(data)

        # Markers: an object key and a key description are recorded; the search finds them.
        marker_description = f"audit-marker-description-{unique}"
        marker_object = f"audit-marker-object-{unique}.txt"
        key = kms.create_key(Description=marker_description)["KeyMetadata"]
        s3.create_bucket(Bucket="secrets-bucket")
        s3.put_bucket_encryption(Bucket="secrets-bucket", ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]},
                "BucketKeyEnabled": False}]})

        # KMS: Encrypt's plaintext (and the CiphertextBlob), Decrypt's answer, a data key.
        plaintext = f"kms-plaintext-{unique}".encode()
        encrypted = kms.encrypt(KeyId=key["KeyId"], Plaintext=plaintext)
        request_ids["Encrypt"] = encrypted["ResponseMetadata"]["RequestId"]
        decrypted = kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"])
        self.assertEqual(decrypted["Plaintext"], plaintext)
        request_ids["Decrypt"] = decrypted["ResponseMetadata"]["RequestId"]
        secrets["KMS plaintext"] = plaintext
        secrets["KMS plaintext (base64)"] = b64s(plaintext)
        secrets["Encrypt CiphertextBlob (base64)"] = b64s(encrypted["CiphertextBlob"])
        data_key = kms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256")
        request_ids["GenerateDataKey"] = data_key["ResponseMetadata"]["RequestId"]
        secrets["data key (base64)"] = b64s(data_key["Plaintext"])
        secrets["data key (raw)"] = data_key["Plaintext"]
        secrets["data key CiphertextBlob (base64)"] = b64s(data_key["CiphertextBlob"])

        # S3: an SSE-KMS body (bucket default) and an SSE-C body with its key, written and read.
        kms_body = f"sse-kms-object-body-{unique}".encode()
        put = s3.put_object(Bucket="secrets-bucket", Key=marker_object, Body=kms_body)
        request_ids["PutObject SSE-KMS"] = put["ResponseMetadata"]["RequestId"]
        self.assertEqual(put["ServerSideEncryption"], "aws:kms")
        self.assertEqual(s3.get_object(Bucket="secrets-bucket", Key=marker_object)["Body"].read(),
                         kms_body)
        secrets["SSE-KMS object body"] = kms_body
        customer_key = os.urandom(32)
        ssec = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": customer_key}
        ssec_body = f"sse-c-object-body-{unique}".encode()
        put = s3.put_object(Bucket="secrets-bucket", Key="ssec.txt", Body=ssec_body, **ssec)
        request_ids["PutObject SSE-C"] = put["ResponseMetadata"]["RequestId"]
        got = s3.get_object(Bucket="secrets-bucket", Key="ssec.txt", **ssec)
        self.assertEqual(got["Body"].read(), ssec_body)
        request_ids["GetObject SSE-C"] = got["ResponseMetadata"]["RequestId"]
        s3.head_object(Bucket="secrets-bucket", Key="ssec.txt", **ssec)
        s3.copy_object(Bucket="secrets-bucket", Key="ssec-copy.txt",
                       CopySource={"Bucket": "secrets-bucket", "Key": "ssec.txt"},
                       CopySourceSSECustomerAlgorithm="AES256",
                       CopySourceSSECustomerKey=customer_key, **ssec)
        secrets["SSE-C object body"] = ssec_body
        secrets["SSE-C key (base64)"] = b64s(customer_key)
        secrets["SSE-C key (raw)"] = customer_key

        # IAM and STS: a user's secret access key, temporary credentials and their tokens.
        secrets["root secret access key"] = server.secret_access_key.encode()
        iam.create_user(UserName="secret-keeper")
        iam.put_user_policy(UserName="secret-keeper", PolicyName="all", PolicyDocument=(
            account_policy(allow(["sts:*", "kms:*", "s3:*"]))))
        created = iam.create_access_key(UserName="secret-keeper")
        request_ids["CreateAccessKey"] = created["ResponseMetadata"]["RequestId"]
        user_key = created["AccessKey"]
        secrets["IAM user secret access key"] = user_key["SecretAccessKey"].encode()
        iam.create_role(RoleName="audited-role", AssumeRolePolicyDocument=account_policy({
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
            "Action": "sts:AssumeRole"}))
        user_sts = server.client("sts", access_key_id=user_key["AccessKeyId"],
                                 secret_access_key=user_key["SecretAccessKey"])
        assumed = user_sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/audited-role",
                                       RoleSessionName="audited-session")
        request_ids["AssumeRole"] = assumed["ResponseMetadata"]["RequestId"]
        session = user_sts.get_session_token()
        request_ids["GetSessionToken"] = session["ResponseMetadata"]["RequestId"]
        for what, creds in (("AssumeRole", assumed["Credentials"]),
                            ("GetSessionToken", session["Credentials"])):
            secrets[f"{what} session token"] = creds["SessionToken"].encode()
            secrets[f"{what} secret access key"] = creds["SecretAccessKey"].encode()
            # The token travels in each request signed with these credentials.
            temp = dict(access_key_id=creds["AccessKeyId"],
                        secret_access_key=creds["SecretAccessKey"],
                        session_token=creds["SessionToken"])
            identity = server.client("sts", **temp).get_caller_identity()
            request_ids[f"GetCallerIdentity with {what} credentials"] = (
                identity["ResponseMetadata"]["RequestId"])
        # ... and in the query string of a presigned URL made with temporary credentials.
        temp_s3 = server.s3_client(access_key_id=session["Credentials"]["AccessKeyId"],
                                   secret_access_key=session["Credentials"]["SecretAccessKey"],
                                   session_token=session["Credentials"]["SessionToken"],
                                   signature_version="s3v4")
        url = temp_s3.generate_presigned_url("get_object", Params={
            "Bucket": "secrets-bucket", "Key": marker_object}, ExpiresIn=300)
        self.assertIn("X-Amz-Security-Token=", url)
        with urllib.request.urlopen(url, timeout=30) as response:
            self.assertEqual(response.read(), kms_body)
            request_ids["presigned GetObject"] = response.headers["x-amz-request-id"]

        # Every one of those requests is in the trail ...
        for what, request_id in request_ids.items():
            with self.subTest(recorded=what):
                record_with_request_id(self, server.data_dir, request_id)
        # ... the search finds what is recorded ...
        for marker in (marker_description, marker_object, user_key["AccessKeyId"],
                       session["Credentials"]["AccessKeyId"]):
            self.assertTrue(self.audit_files_containing(marker.encode()),
                            f"{marker!r} is recorded, yet the search did not find it")
        # ... and finds none of the secrets, neither in the logs nor anywhere else in the trail.
        for what, secret in secrets.items():
            with self.subTest(secret=what):
                self.assertEqual(self.audit_files_containing(secret), [],
                                 f"{what} found in the audit trail")
        # Also after the final digest is written.
        self.assertEqual(server.stop(), 0)
        for what, secret in secrets.items():
            with self.subTest(secret=what, after="stop"):
                self.assertEqual(self.audit_files_containing(secret), [],
                                 f"{what} found in the audit trail")


# --- 4. kill -9 under load ----------------------------------------------------------------------

class AuditCrashTest(HangarTestCase):
    THREADS_PER_KIND = 3
    ACKED_BEFORE_KILL = 400
    LOAD_DEADLINE_SECONDS = 60.0

    def test_kill_9_under_load_loses_no_acknowledged_record(self):
        server = self.server
        kms = server.client("kms")
        key_arn = kms.create_key(Description="crash load")["KeyMetadata"]["Arn"]
        s3 = server.s3_client()
        s3.create_bucket(Bucket="crash-plain")
        s3.create_bucket(Bucket="crash-kms")
        s3.put_bucket_encryption(Bucket="crash-kms", ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}, "BucketKeyEnabled": False}]})

        lock = threading.Lock()
        acked = []  # (request id, eventName, object key or None)
        errors_before_kill = []
        killing = threading.Event()

        def kms_worker(index, client):
            n = 0
            while not killing.is_set():
                n += 1
                try:
                    if n % 5 == 0:
                        out = client.create_key(Description=f"crash {index}-{n}")
                        entry = (out["ResponseMetadata"]["RequestId"], "CreateKey", None)
                    else:
                        out = client.encrypt(KeyId=key_arn, Plaintext=b"load %d" % n)
                        entry = (out["ResponseMetadata"]["RequestId"], "Encrypt", None)
                except Exception as exc:  # noqa: BLE001 — after the kill every call fails
                    if not killing.is_set():
                        errors_before_kill.append(repr(exc))
                    return
                with lock:
                    acked.append(entry)

        def s3_worker(index, client):
            n = 0
            while not killing.is_set():
                n += 1
                bucket = "crash-kms" if n % 2 else "crash-plain"
                key = f"w{index}/object-{n}"
                try:
                    out = client.put_object(Bucket=bucket, Key=key, Body=os.urandom(2048))
                except Exception as exc:  # noqa: BLE001
                    if not killing.is_set():
                        errors_before_kill.append(repr(exc))
                    return
                with lock:
                    acked.append((out["ResponseMetadata"]["RequestId"], "PutObject", key))

        threads = []
        for i in range(self.THREADS_PER_KIND):
            threads.append(threading.Thread(target=kms_worker, args=(i, server.client(
                "kms", connect_timeout=5, read_timeout=20)), daemon=True))
            threads.append(threading.Thread(target=s3_worker, args=(i, server.s3_client(
                connect_timeout=5, read_timeout=20)), daemon=True))
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + self.LOAD_DEADLINE_SECONDS
        while time.monotonic() < deadline and not errors_before_kill:
            with lock:
                if len(acked) >= self.ACKED_BEFORE_KILL:
                    break
            time.sleep(0.02)
        # The workers are mid-request: SIGKILL, with no chance to flush or digest anything.
        killing.set()
        server.kill()
        for thread in threads:
            thread.join(30)
        self.assertEqual(errors_before_kill, [], "requests failed before the kill")
        self.assertFalse(any(t.is_alive() for t in threads), "a worker did not stop")
        self.assertGreaterEqual(len(acked), self.ACKED_BEFORE_KILL, "too little load to test")

        # Restart on the same data dir; every acknowledged request has its record.
        server.start()
        after = server.client("kms").encrypt(KeyId=key_arn, Plaintext=b"after the crash")
        for path in log_files(server.data_dir):
            with open(path, "rb") as f:
                data = f.read()
            # The live log file is zero-filled ahead of its records (docs/audit.md); the files
            # the crash left were cut back to their whole records at the restart.
            records_end = len(data.rstrip(b"\0"))
            self.assertNotIn(b"\0", data[:records_end], f"{path} has zeros between records")
            data = data[:records_end]
            if not data:
                continue
            self.assertTrue(data.endswith(b"\n"), f"{path} ends with a torn record")
            for line in data.splitlines():
                json.loads(line)  # every line is one whole record
        records = export(server.data_dir, os.path.join(server.tmp_dir, "export.jsonl"))
        by_request = {}
        for record in records:
            by_request.setdefault(record["requestID"], []).append(record)
        event_ids = [record["eventID"] for record in records]
        self.assertEqual(len(event_ids), len(set(event_ids)), "duplicate eventIDs")
        missing = [entry for entry in acked if entry[0] not in by_request]
        self.assertEqual(missing, [], f"{len(missing)} of {len(acked)} acknowledged requests "
                                      "have no record")
        for request_id, name, key in acked:
            (record,) = by_request[request_id]
            self.assertEqual(record["eventName"], name, record)
            self.assertNotIn("errorCode", record)
            if key is not None:
                self.assertEqual(record["requestParameters"]["key"], key)
        self.assertIn(after["ResponseMetadata"]["RequestId"], by_request)

        # A clean stop: the next digest covers the crashed run's file too, and verify passes.
        self.assertEqual(server.stop(), 0)
        rc, out, failed = verify(server.data_dir)
        self.assertEqual((rc, failed), (0, []), out)
        self.assertIn("OK: the trail is intact", out)
        self.assertNotIn("not yet digested", out)
        listed = set()
        for path in digest_files(server.data_dir):
            with open(path) as f:
                listed.update(entry["s3Object"] for entry in json.load(f)["logFiles"])
        on_disk = {os.path.relpath(path, audit_dir(server.data_dir))
                   for path in log_files(server.data_dir)}
        self.assertEqual(on_disk - listed, set(), "log files no digest lists")


# --- 5 and 6. LookupEvents, and requests refused for their signature ----------------------------

class AuditLookupTest(HangarTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        iam = cls.server.client("iam")
        cls.users = {}
        for name, actions in (("pager", ["kms:*"]), ("reader", ["cloudtrail:LookupEvents"]),
                              ("no-lookup", ["kms:*", "s3:*", "cloudtrail:DescribeTrails"])):
            iam.create_user(UserName=name)
            iam.put_user_policy(UserName=name, PolicyName="p",
                                PolicyDocument=account_policy(allow(actions)))
            key = iam.create_access_key(UserName=name)["AccessKey"]
            cls.users[name] = (key["AccessKeyId"], key["SecretAccessKey"])

    def as_user(self, name, service):
        key_id, secret = self.users[name]
        return self.server.client(service, access_key_id=key_id, secret_access_key=secret)

    def test_pagination_returns_every_event_once_newest_first(self):
        server = self.server
        key_arn = server.client("kms").create_key()["KeyMetadata"]["Arn"]
        issued = []
        pager = self.as_user("pager", "kms")
        for i in range(23):
            if i == 11:
                server.restart()  # the events span two log files
                pager = self.as_user("pager", "kms")
            out = pager.encrypt(KeyId=key_arn, Plaintext=b"p%d" % i)
            issued.append(out["ResponseMetadata"]["RequestId"])
        self.assertGreaterEqual(len(log_files(server.data_dir)), 2)
        newest_first = issued[::-1]
        cloudtrail = server.client("cloudtrail")

        events, pages = lookup_all(cloudtrail, ("Username", "pager"), page_size=5)
        self.assertEqual(pages, math.ceil(23 / 5))
        self.assertEqual([trail_event(e)["requestID"] for e in events], newest_first)
        self.assertEqual(len({e["EventId"] for e in events}), 23, "duplicate events")
        for event in events:
            self.assertEqual(event["Username"], "pager")
            self.assertEqual(event["EventName"], "Encrypt")
            self.assertEqual(event["AccessKeyId"], self.users["pager"][0])

        # By hand, with MaxResults and NextToken; the token is bound to its query.
        seen, token, calls = [], None, 0
        query = {"LookupAttributes": [{"AttributeKey": "AccessKeyId",
                                       "AttributeValue": self.users["pager"][0]}],
                 "MaxResults": 7}
        while True:
            page = cloudtrail.lookup_events(**query, **({"NextToken": token} if token else {}))
            calls += 1
            self.assertLessEqual(len(page["Events"]), 7)
            seen.extend(trail_event(e)["requestID"] for e in page["Events"])
            token = page.get("NextToken")
            if not token:
                break
            if calls == 1:
                self.assertClientError(
                    "InvalidNextTokenException", None, cloudtrail.lookup_events,
                    LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "pager"}],
                    MaxResults=7, NextToken=token)
        self.assertEqual(seen, newest_first)
        self.assertEqual(calls, math.ceil(23 / 7))

        # Unfiltered: every management event of the account once, the pager's among them.
        events, pages = lookup_all(cloudtrail, page_size=10)
        ids = [e["EventId"] for e in events]
        self.assertEqual(len(ids), len(set(ids)), "duplicate events without a filter")
        self.assertGreater(pages, 1)
        mine = [trail_event(e)["requestID"] for e in events if e.get("Username") == "pager"]
        self.assertEqual(mine, newest_first)

    def test_more_than_one_lookup_attribute_is_refused(self):
        cloudtrail = self.server.client("cloudtrail")
        self.assertClientError(
            "InvalidLookupAttributesException",
            "You cannot specify more than one lookup attribute.", cloudtrail.lookup_events,
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "CreateKey"},
                              {"AttributeKey": "Username", "AttributeValue": "root"}])
        result = self.server.aws("cloudtrail", "lookup-events", "--lookup-attributes",
                                 "AttributeKey=EventName,AttributeValue=CreateKey",
                                 "AttributeKey=Username,AttributeValue=root")
        self.assertCliError(result, "InvalidLookupAttributesException")

    def test_another_account_sees_none_of_the_first_accounts_events(self):
        server = self.server
        first_key = server.client("kms").create_key(Description="first account's")["KeyMetadata"]
        other = server.second_account()
        creds = dict(access_key_id=other["AccessKeyId"],
                     secret_access_key=other["SecretAccessKey"])
        other_key = server.client("kms", **creds).create_key(
            Description="second account's")["KeyMetadata"]
        other_cloudtrail = server.client("cloudtrail", **creds)
        cloudtrail = server.client("cloudtrail")

        events, _ = lookup_all(other_cloudtrail)
        self.assertTrue(events, "the second account sees not even its own events")
        self.assertIn(other_key["Arn"], [r["ResourceName"] for e in events
                                         for r in e["Resources"]])
        for event in events:
            record = trail_event(event)
            self.assertIn(other["AccountId"], (record["recipientAccountId"],
                                               record["userIdentity"].get("accountId")), record)
            self.assertNotIn(server.account_id, (record["recipientAccountId"],
                                                 record["userIdentity"].get("accountId")), record)
        # Asked by name: the first account's key is invisible to the second, and vice versa.
        self.assertEqual(lookup_all(other_cloudtrail, ("ResourceName", first_key["Arn"]))[0], [])
        other_roots = lookup_all(other_cloudtrail, ("Username", "root"))[0]
        self.assertIn("CreateKey", [e["EventName"] for e in other_roots])
        self.assertEqual({trail_event(e)["userIdentity"]["accountId"] for e in other_roots},
                         {other["AccountId"]})
        self.assertEqual(lookup_all(cloudtrail, ("ResourceName", other_key["Arn"]))[0], [])
        self.assertEqual(
            [e["EventName"] for e in lookup_all(cloudtrail, ("ResourceName", first_key["Arn"]))[0]],
            ["CreateKey"])

    def test_lookup_with_the_javascript_sdks_short_target(self):
        # The AWS SDK for JavaScript v3 (the console's) names the operation
        # "CloudTrail_20131101.LookupEvents"; botocore uses the long form. AWS takes both.
        key_arn = self.server.client("kms").create_key(Description="short target")["KeyMetadata"]["Arn"]
        body = json.dumps({"LookupAttributes": [{"AttributeKey": "ResourceName",
                                                 "AttributeValue": key_arn}]})
        for target in ("CloudTrail_20131101.LookupEvents",
                       "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"):
            with self.subTest(target=target):
                r = self.server.raw_request(body, service="cloudtrail", target=target)
                self.assertEqual(r.status, 200, r.body)
                self.assertEqual([e["EventName"] for e in r.json()["Events"]], ["CreateKey"])

    def test_lookup_needs_cloudtrail_lookup_events_permission(self):
        server = self.server
        account = server.account_id
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.as_user("no-lookup", "cloudtrail").lookup_events()
        response = cm.exception.response
        self.assertEqual(response["Error"]["Code"], "AccessDeniedException")
        self.assertEqual(
            response["Error"]["Message"],
            f"User: arn:aws:iam::{account}:user/no-lookup is not authorized to perform: "
            "cloudtrail:LookupEvents on resource: * because no identity-based policy allows the "
            "cloudtrail:LookupEvents action")
        # The refusal itself is recorded.
        record = record_with_request_id(self, server.data_dir,
                                        response["ResponseMetadata"]["RequestId"])
        self.assertEqual(record["eventSource"], "cloudtrail.amazonaws.com")
        self.assertEqual(record["eventName"], "LookupEvents")
        self.assertEqual(record["errorCode"], "AccessDeniedException")
        self.assertEqual(record["userIdentity"]["userName"], "no-lookup")
        # With the permission: allowed, and it sees the account's events, not only its own.
        events, _ = lookup_all(self.as_user("reader", "cloudtrail"), ("EventName", "CreateUser"))
        self.assertEqual(sorted(trail_event(e)["requestParameters"]["userName"] for e in events),
                         ["no-lookup", "pager", "reader"])

    def test_kms_calls_s3_makes_are_recorded_with_the_caller_and_the_key(self):
        # SSE-KMS without a Bucket Key: PutObject makes S3 call GenerateDataKey, GetObject
        # Decrypt, each recorded as the caller's call invoked by s3.amazonaws.com, under the key.
        server = self.server
        account = server.account_id
        key_arn = server.client("kms").create_key(Description="s3 calls")["KeyMetadata"]["Arn"]
        s3 = server.s3_client()
        s3.create_bucket(Bucket="s3-kms-calls")
        s3.put_object(Bucket="s3-kms-calls", Key="doc.txt", Body=b"document",
                      ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn)
        self.assertEqual(s3.get_object(Bucket="s3-kms-calls", Key="doc.txt")["Body"].read(),
                         b"document")
        events, _ = lookup_all(server.client("cloudtrail"), ("ResourceName", key_arn))
        names = [e["EventName"] for e in events]
        for name in ("GenerateDataKey", "Decrypt"):
            with self.subTest(name):
                found = [trail_event(e) for e in events if e["EventName"] == name]
                self.assertEqual(len(found), 1, f"{name} under {key_arn}; events: {names}")
                record = found[0]
                self.assertEqual(record["userIdentity"]["arn"], f"arn:aws:iam::{account}:root")
                self.assertEqual(record["userIdentity"]["invokedBy"], "s3.amazonaws.com")
                self.assertEqual(record["sourceIPAddress"], "s3.amazonaws.com")
                self.assertEqual(record["requestParameters"]["encryptionContext"],
                                 {"aws:s3:arn": "arn:aws:s3:::s3-kms-calls/doc.txt"})
                self.assertEqual(record["requestParameters"].get("keyId"), key_arn)
                self.assertEqual([(r["type"], r["ARN"]) for r in record["resources"]],
                                 [(KMS_KEY_TYPE, key_arn)])
                self.assertEqual(record["recipientAccountId"], account)

    def test_bad_signatures_are_recorded_under_the_claimed_access_key(self):
        server = self.server
        wrong = "wrongSecretKey0123456789abcdefghijklmnop"
        user_key = self.users["pager"][0]
        unknown = "AKIAAUDITNOSUCHKEY01"
        form = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
        agent = {"User-Agent": "audit-e2e-bad-signature"}
        cases = [
            # (what, claimed key, secret, send, expected status, expected wire code, source, name)
            ("KMS Encrypt, wrong secret", server.access_key_id, wrong,
             lambda k, s: server.kms_call("Encrypt", {"KeyId": "alias/none", "Plaintext": "eA=="},
                                          access_key_id=k, secret_access_key=s, headers=agent),
             400, "InvalidSignatureException", "kms.amazonaws.com", "Encrypt"),
            ("KMS Encrypt, IAM user's key with a wrong secret", user_key, wrong,
             lambda k, s: server.kms_call("Encrypt", {"KeyId": "alias/none", "Plaintext": "eA=="},
                                          access_key_id=k, secret_access_key=s, headers=agent),
             400, "InvalidSignatureException", "kms.amazonaws.com", "Encrypt"),
            ("KMS ListKeys, unknown access key", unknown, wrong,
             lambda k, s: server.kms_call("ListKeys", {}, access_key_id=k, secret_access_key=s,
                                          headers=agent),
             400, "UnrecognizedClientException", "kms.amazonaws.com", "ListKeys"),
            ("S3 GetObject, wrong secret", server.access_key_id, wrong,
             lambda k, s: server.s3_request("GET", "/some-bucket/some-key", access_key_id=k,
                                            secret_access_key=s, headers=agent),
             403, "SignatureDoesNotMatch", "s3.amazonaws.com", "GetObject"),
            ("S3 ListBuckets, unknown access key", unknown, wrong,
             lambda k, s: server.s3_request("GET", "/", access_key_id=k, secret_access_key=s,
                                            headers=agent),
             403, "InvalidAccessKeyId", "s3.amazonaws.com", "ListBuckets"),
            ("STS GetCallerIdentity, wrong secret", server.access_key_id, wrong,
             lambda k, s: server.raw_request(
                 "Action=GetCallerIdentity&Version=2011-06-15", service="sts",
                 headers={**form, **agent}, access_key_id=k, secret_access_key=s),
             403, "SignatureDoesNotMatch", "sts.amazonaws.com", "GetCallerIdentity"),
            ("IAM ListUsers, wrong secret", server.access_key_id, wrong,
             lambda k, s: server.raw_request(
                 "Action=ListUsers&Version=2010-05-08", service="iam",
                 headers={**form, **agent}, access_key_id=k, secret_access_key=s),
             403, "SignatureDoesNotMatch", "iam.amazonaws.com", "ListUsers"),
            ("CloudTrail LookupEvents, wrong secret", server.access_key_id, wrong,
             lambda k, s: server.raw_request(
                 "{}", service="cloudtrail", headers=agent, access_key_id=k, secret_access_key=s,
                 target="com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"),
             400, "InvalidSignatureException", "cloudtrail.amazonaws.com", "LookupEvents"),
        ]
        for what, claimed, secret, send, status, code, source, name in cases:
            with self.subTest(what):
                response = send(claimed, secret)
                self.assertEqual((response.status, error_code_of(response)), (status, code),
                                 response.body)
                record = record_with_request_id(self, server.data_dir, request_id_of(response))
                self.assertEqual(record["userIdentity"], {"type": "Unknown",
                                                          "accessKeyId": claimed})
                self.assertEqual(record["errorCode"], code)
                if code in ("InvalidSignatureException", "SignatureDoesNotMatch"):
                    self.assertTrue(record["errorMessage"].startswith(SIGNATURE_MISMATCH_TEXT),
                                    record["errorMessage"])
                self.assertEqual(record["eventSource"], source)
                self.assertEqual(record["eventName"], name)
                self.assertEqual(record["userAgent"], agent["User-Agent"])
                self.assertEqual(record["sourceIPAddress"], "127.0.0.1")
                self.assertNotIn(secret, json.dumps(record))


if __name__ == "__main__":
    unittest.main()
