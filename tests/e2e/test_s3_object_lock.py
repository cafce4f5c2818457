"""S3 Object Lock end to end, with boto3 and raw signed requests
(docs/reference/s3-data-protection.md §2, docs/s3-object-lock.md).

Covered: turning Object Lock on at CreateBucket and on an existing versioned bucket, the
configuration's validation and round trip, versioning that can no longer be suspended; default
retention given to new versions (PutObject, CopyObject, CompleteMultipartUpload) and the integrity
header it requires; validation of the x-amz-object-lock-* request headers; COMPLIANCE (nobody,
the account root included, deletes, shortens or downgrades it; it expires on the dev clock),
GOVERNANCE (bypass with x-amz-bypass-governance-retention, only for callers allowed
s3:BypassGovernanceRetention), legal holds; retention and legal-hold calls on delete markers, on
buckets without Object Lock and with malformed bodies; CopyObject not carrying the source's lock;
and Hangar's x-hangar-kms-key-state / x-hangar-kms-key-deletion-date on locked versions whose KMS
key is no longer Enabled.

Expected codes, statuses and messages are AWS's as the reference records them, plus Hangar's
documented choices. Dates are computed from the server's dev clock (clock_now), since one class
moves it forward. A HEAD has no body, so botocore reports its HTTP status as the error code.
"""

import base64
import datetime
import hashlib
import json
import unittest
import xml.etree.ElementTree as ET

from harness import HangarTestCase, parse_timestamp

DAY = 86400
S3_NS_URI = "http://s3.amazonaws.com/doc/2006-03-01/"

PROTECTED = "Access Denied because object protected by object lock."
LOCK_CONFIG_NOT_FOUND = "Object Lock configuration does not exist for this bucket"
VERSIONING_NOT_ENABLED = ("Versioning must be 'Enabled' on the bucket to apply a Object Lock "
                          "configuration")
CANNOT_SUSPEND = ("An Object Lock configuration is present on this bucket, so the versioning "
                  "state cannot be changed.")
MALFORMED_XML = ("The XML you provided was not well-formed or did not validate against our "
                 "published schema")
PERIOD_NOT_POSITIVE = "Default retention period must be a positive integer value."
INTEGRITY_REQUIRED = ("Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object "
                      "requests with Object Lock parameters")
BOTH_REQUIRED = ("x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be "
                 "supplied")
UNKNOWN_MODE = "Unknown wormMode directive."
PUT_WITHOUT_LOCK = "Bucket is missing ObjectLockConfiguration"
CALL_WITHOUT_LOCK = "Bucket is missing Object Lock Configuration"
NO_LOCK_ON_OBJECT = "The specified object does not have a ObjectLock configuration"
DATE_IN_PAST = "The retain until date must be in the future!"
BYPASS_WITHOUT_LOCK = ("x-amz-bypass-governance-retention is only applicable to Object Lock "
                       "enabled buckets.")
METHOD_NOT_ALLOWED = "The specified method is not allowed against this resource."

MODE = "x-amz-object-lock-mode"
UNTIL = "x-amz-object-lock-retain-until-date"
HOLD = "x-amz-object-lock-legal-hold"
KEY_STATE = "x-hangar-kms-key-state"
KEY_DELETION_DATE = "x-hangar-kms-key-deletion-date"


def headers_of(response) -> dict:
    return response["ResponseMetadata"]["HTTPHeaders"]


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def iso(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def error_fields(body: bytes) -> dict:
    return {child.tag: child.text for child in ET.fromstring(body)}


def lock_config_xml(inner: str) -> bytes:
    return (f'<ObjectLockConfiguration xmlns="{S3_NS_URI}">{inner}'
            "</ObjectLockConfiguration>").encode()


def retention_xml(mode=None, until=None) -> bytes:
    inner = ""
    if mode is not None:
        inner += f"<Mode>{mode}</Mode>"
    if until is not None:
        inner += f"<RetainUntilDate>{until}</RetainUntilDate>"
    return f'<Retention xmlns="{S3_NS_URI}">{inner}</Retention>'.encode()


def policy(*actions) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": list(actions), "Resource": "*"}]})


# Everything an object writer and deleter needs, except s3:BypassGovernanceRetention.
WRITER_ACTIONS = ("s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject",
                  "s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:GetObjectRetention",
                  "s3:PutObjectLegalHold", "s3:GetObjectLegalHold", "s3:ListBucket",
                  "s3:ListBucketVersions")


class LockTestCase(HangarTestCase):
    """One server per class, a boto3 S3 client and helpers for Object Lock buckets."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()

    # --- time -------------------------------------------------------------------------------------

    def server_now(self) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(self.server.clock_now(), datetime.timezone.utc)

    def future(self, seconds) -> datetime.datetime:
        """The server's clock plus `seconds`, in whole seconds (round-trips exactly)."""
        return (self.server_now() + datetime.timedelta(seconds=seconds)).replace(microsecond=0)

    # --- buckets and objects ----------------------------------------------------------------------

    def lock_bucket(self, name, mode=None, days=None, years=None):
        """A bucket created with Object Lock on; with `mode`, a default retention."""
        self.s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        if mode is not None:
            self.set_default(name, mode, days=days, years=years)
        return name

    def set_default(self, bucket, mode, days=None, years=None):
        retention = {"Mode": mode}
        if days is not None:
            retention["Days"] = days
        if years is not None:
            retention["Years"] = years
        self.s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}})

    def put(self, bucket, key, body=b"locked bytes", mode=None, until=None, hold=None,
            client=None, **kwargs) -> str:
        """PutObject with a SHA-256 checksum (lock parameters need one); returns the version id."""
        if mode is not None:
            kwargs["ObjectLockMode"] = mode
        if until is not None:
            kwargs["ObjectLockRetainUntilDate"] = until
        if hold is not None:
            kwargs["ObjectLockLegalHoldStatus"] = hold
        response = (client or self.s3).put_object(Bucket=bucket, Key=key, Body=body,
                                                  ChecksumAlgorithm="SHA256", **kwargs)
        version_id = response.get("VersionId")
        self.assertTrue(version_id, response)
        return version_id

    def raw_put(self, bucket, key, body=b"raw bytes", headers=None):
        """PutObject as a raw signed request: exactly `headers`, no Content-MD5 or checksum
        unless given."""
        return self.server.s3_request("PUT", f"/{bucket}/{key}", body, headers=headers or {})

    def head(self, bucket, key, version_id=None, client=None):
        kwargs = {"VersionId": version_id} if version_id else {}
        return (client or self.s3).head_object(Bucket=bucket, Key=key, **kwargs)

    def lock_of(self, bucket, key, version_id=None):
        """(mode, retain-until in epoch seconds, legal hold) from HEAD's headers."""
        h = headers_of(self.head(bucket, key, version_id))
        until = h.get(UNTIL)
        return h.get(MODE), (parse_timestamp(until) if until else None), h.get(HOLD)

    def delete_version(self, bucket, key, version_id, bypass=None, client=None):
        kwargs = {"BypassGovernanceRetention": bypass} if bypass is not None else {}
        return (client or self.s3).delete_object(Bucket=bucket, Key=key, VersionId=version_id,
                                                 **kwargs)

    def assertProtected(self, call, *args, **kwargs):
        return self.assertS3Error(403, "AccessDenied", PROTECTED, call, *args, **kwargs)

    def assertRawError(self, response, status, code, message, **fields):
        self.assertEqual(response.status, status, response.body)
        got = error_fields(response.body)
        self.assertEqual((got.get("Code"), got.get("Message")), (code, message), got)
        for name, value in fields.items():
            self.assertEqual(got.get(name), value, f"{name} in {got}")

    def version_ids(self, bucket, key):
        listed = self.s3.list_object_versions(Bucket=bucket, Prefix=key)
        return [v["VersionId"] for v in listed.get("Versions", []) if v["Key"] == key]


# --- turning it on, the bucket's configuration ----------------------------------------------------

class BucketLockConfigurationTest(LockTestCase):

    def put_config_raw(self, bucket, body, **headers):
        hdrs = {"Content-MD5": md5_b64(body)}
        hdrs.update(headers)
        return self.server.s3_request("PUT", f"/{bucket}", body, query="object-lock", headers=hdrs)

    def test_creating_with_object_lock_enables_versioning_and_reports_no_rule(self):
        self.lock_bucket("cfg-created")
        self.assertEqual(self.s3.get_bucket_versioning(Bucket="cfg-created").get("Status"),
                         "Enabled")
        config = self.s3.get_object_lock_configuration(Bucket="cfg-created")
        self.assertEqual(config["ObjectLockConfiguration"], {"ObjectLockEnabled": "Enabled"})
        r = self.server.s3_request("GET", "/cfg-created", query="object-lock")
        self.assertEqual(r.status, 200, r.body)
        self.assertNotIn(b"<Rule>", r.body)

    def test_a_bucket_without_lock_has_no_configuration(self):
        self.s3.create_bucket(Bucket="cfg-none")
        self.assertS3Error(404, "ObjectLockConfigurationNotFoundError", LOCK_CONFIG_NOT_FOUND,
                           self.s3.get_object_lock_configuration, Bucket="cfg-none",
                           s3_fields={"BucketName": "cfg-none"})
        self.assertS3Error(404, "NoSuchBucket", None, self.s3.get_object_lock_configuration,
                           Bucket="cfg-missing")

    def test_lock_on_an_existing_bucket_needs_versioning_enabled_and_then_keeps_it(self):
        self.s3.create_bucket(Bucket="cfg-existing")
        enabled = {"ObjectLockEnabled": "Enabled"}
        self.assertS3Error(409, "InvalidBucketState", VERSIONING_NOT_ENABLED,
                           self.s3.put_object_lock_configuration, Bucket="cfg-existing",
                           ObjectLockConfiguration=enabled)
        self.s3.put_bucket_versioning(Bucket="cfg-existing",
                                      VersioningConfiguration={"Status": "Suspended"})
        self.assertS3Error(409, "InvalidBucketState", VERSIONING_NOT_ENABLED,
                           self.s3.put_object_lock_configuration, Bucket="cfg-existing",
                           ObjectLockConfiguration=enabled)
        self.assertS3Error(404, "ObjectLockConfigurationNotFoundError", LOCK_CONFIG_NOT_FOUND,
                           self.s3.get_object_lock_configuration, Bucket="cfg-existing")

        self.s3.put_bucket_versioning(Bucket="cfg-existing",
                                      VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_object_lock_configuration(Bucket="cfg-existing",
                                              ObjectLockConfiguration=enabled)
        got = self.s3.get_object_lock_configuration(Bucket="cfg-existing")
        self.assertEqual(got["ObjectLockConfiguration"], enabled)
        # Versioning can no longer be suspended; re-sending Enabled is accepted.
        self.assertS3Error(409, "InvalidBucketState", CANNOT_SUSPEND,
                           self.s3.put_bucket_versioning, Bucket="cfg-existing",
                           VersioningConfiguration={"Status": "Suspended"})
        self.s3.put_bucket_versioning(Bucket="cfg-existing",
                                      VersioningConfiguration={"Status": "Enabled"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket="cfg-existing").get("Status"),
                         "Enabled")
        # The lock works on the converted bucket.
        version_id = self.put("cfg-existing", "k", mode="COMPLIANCE", until=self.future(DAY))
        self.assertProtected(self.delete_version, "cfg-existing", "k", version_id)

    def test_a_bucket_created_with_lock_cannot_be_suspended_either(self):
        self.lock_bucket("cfg-no-suspend")
        self.assertS3Error(409, "InvalidBucketState", CANNOT_SUSPEND,
                           self.s3.put_bucket_versioning, Bucket="cfg-no-suspend",
                           VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket="cfg-no-suspend").get("Status"),
                         "Enabled")

    def test_the_rule_round_trips_and_dropping_it_removes_the_default(self):
        self.lock_bucket("cfg-rule")
        for retention in ({"Mode": "GOVERNANCE", "Days": 3},
                          {"Mode": "COMPLIANCE", "Years": 2}):
            with self.subTest(retention=retention):
                self.set_default("cfg-rule", **{k.lower(): v for k, v in retention.items()})
                got = self.s3.get_object_lock_configuration(Bucket="cfg-rule")
                self.assertEqual(got["ObjectLockConfiguration"], {
                    "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}})
        self.s3.put_object_lock_configuration(
            Bucket="cfg-rule", ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
        got = self.s3.get_object_lock_configuration(Bucket="cfg-rule")
        self.assertEqual(got["ObjectLockConfiguration"], {"ObjectLockEnabled": "Enabled"})
        # No default any more: a new version carries no retention.
        version_id = self.put("cfg-rule", "after-drop")
        self.assertEqual(self.lock_of("cfg-rule", "after-drop", version_id), (None, None, None))

    def test_malformed_configurations_are_malformed_xml_and_change_nothing(self):
        self.lock_bucket("cfg-bad", "GOVERNANCE", days=1)
        rule = "<Rule><DefaultRetention>{}</DefaultRetention></Rule>"
        enabled = "<ObjectLockEnabled>Enabled</ObjectLockEnabled>"
        cases = {
            "no ObjectLockEnabled": lock_config_xml(rule.format("<Mode>GOVERNANCE</Mode>"
                                                                "<Days>1</Days>")),
            "empty body": b"",
            "empty Rule": lock_config_xml(enabled + "<Rule></Rule>"),
            "empty DefaultRetention": lock_config_xml(enabled + rule.format("")),
            "Mode without a period": lock_config_xml(enabled + rule.format(
                "<Mode>GOVERNANCE</Mode>")),
            "unknown Mode": lock_config_xml(enabled + rule.format("<Mode>FOREVER</Mode>"
                                                                  "<Days>1</Days>")),
            "lower-case Mode": lock_config_xml(enabled + rule.format("<Mode>governance</Mode>"
                                                                     "<Days>1</Days>")),
            "Days and Years": lock_config_xml(enabled + rule.format(
                "<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>")),
            "Disabled": lock_config_xml("<ObjectLockEnabled>Disabled</ObjectLockEnabled>"),
        }
        for name, body in cases.items():
            with self.subTest(case=name):
                self.assertRawError(self.put_config_raw("cfg-bad", body), 400, "MalformedXML",
                                    MALFORMED_XML)
        got = self.s3.get_object_lock_configuration(Bucket="cfg-bad")
        self.assertEqual(got["ObjectLockConfiguration"]["Rule"],
                         {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}})

    def test_a_period_of_zero_or_less_is_invalid_argument(self):
        self.lock_bucket("cfg-zero")
        for days in (0, -1):
            with self.subTest(days=days):
                body = lock_config_xml("<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule>"
                                       "<DefaultRetention><Mode>GOVERNANCE</Mode>"
                                       f"<Days>{days}</Days></DefaultRetention></Rule>")
                self.assertRawError(self.put_config_raw("cfg-zero", body), 400, "InvalidArgument",
                                    PERIOD_NOT_POSITIVE, ArgumentName="Days")
        self.assertS3Error(400, "InvalidArgument", PERIOD_NOT_POSITIVE,
                           self.s3.put_object_lock_configuration, Bucket="cfg-zero",
                           ObjectLockConfiguration={
                               "ObjectLockEnabled": "Enabled",
                               "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 0}}})
        got = self.s3.get_object_lock_configuration(Bucket="cfg-zero")
        self.assertEqual(got["ObjectLockConfiguration"], {"ObjectLockEnabled": "Enabled"})

    def test_the_configuration_needs_content_md5_or_a_checksum(self):
        self.lock_bucket("cfg-md5")
        body = lock_config_xml("<ObjectLockEnabled>Enabled</ObjectLockEnabled>")
        r = self.server.s3_request("PUT", "/cfg-md5", body, query="object-lock")
        self.assertEqual(r.status, 400, r.body)
        self.assertEqual(error_fields(r.body).get("Code"), "InvalidRequest", r.body)
        self.assertEqual(self.put_config_raw("cfg-md5", body).status, 200)


# --- default retention ----------------------------------------------------------------------------

class DefaultRetentionTest(LockTestCase):

    def test_default_days_give_a_new_version_creation_time_plus_the_period(self):
        self.lock_bucket("def-days", "GOVERNANCE", days=2)
        before = self.server.clock_now()
        version_id = self.put("def-days", "k")
        after = self.server.clock_now()
        mode, until, hold = self.lock_of("def-days", "k", version_id)
        self.assertEqual((mode, hold), ("GOVERNANCE", None))
        # Not rounded to a day or a second: creation time (on the server's clock) plus 2 days.
        self.assertGreaterEqual(until, before + 2 * DAY - 0.001)
        self.assertLessEqual(until, after + 2 * DAY + 0.001)
        got = self.s3.get_object_retention(Bucket="def-days", Key="k", VersionId=version_id)
        self.assertEqual(got["Retention"]["Mode"], "GOVERNANCE")
        self.assertAlmostEqual(got["Retention"]["RetainUntilDate"].timestamp(), until, delta=0.001)
        got = self.s3.get_object(Bucket="def-days", Key="k")
        self.assertEqual((got["ObjectLockMode"], got["ObjectLockRetainUntilDate"].timestamp()),
                         ("GOVERNANCE", until))
        self.assertProtected(self.delete_version, "def-days", "k", version_id)

    def test_default_years_count_whole_years(self):
        self.lock_bucket("def-years", "COMPLIANCE", years=1)
        before = self.server.clock_now()
        version_id = self.put("def-years", "k")
        mode, until, _ = self.lock_of("def-years", "k", version_id)
        self.assertEqual(mode, "COMPLIANCE")
        self.assertGreaterEqual(until, before + 365 * DAY - 0.001)
        self.assertLessEqual(until, self.server.clock_now() + 366 * DAY)

    def test_explicit_headers_win_over_the_default(self):
        self.lock_bucket("def-explicit", "COMPLIANCE", days=30)
        until = self.future(3 * DAY)
        version_id = self.put("def-explicit", "k", mode="GOVERNANCE", until=until)
        self.assertEqual(self.lock_of("def-explicit", "k", version_id),
                         ("GOVERNANCE", until.timestamp(), None))

    def test_a_version_written_before_the_default_keeps_none(self):
        self.lock_bucket("def-later")
        old = self.put("def-later", "k", b"before the rule")
        self.set_default("def-later", "GOVERNANCE", days=1)
        new = self.put("def-later", "k", b"after the rule")
        self.assertEqual(self.lock_of("def-later", "k", old), (None, None, None))
        self.assertEqual(self.lock_of("def-later", "k", new)[0], "GOVERNANCE")
        self.delete_version("def-later", "k", old)
        self.assertEqual(self.version_ids("def-later", "k"), [new])

    def test_a_put_under_a_default_needs_content_md5_or_a_checksum(self):
        self.lock_bucket("def-md5", "GOVERNANCE", days=1)
        r = self.raw_put("def-md5", "k", b"no digest")
        self.assertRawError(r, 400, "InvalidRequest", INTEGRITY_REQUIRED)
        self.assertEqual(self.version_ids("def-md5", "k"), [])
        r = self.raw_put("def-md5", "k", b"with md5", {"Content-MD5": md5_b64(b"with md5")})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(self.lock_of("def-md5", "k", r.headers["x-amz-version-id"])[0],
                         "GOVERNANCE")
        sha = base64.b64encode(hashlib.sha256(b"with sha").digest()).decode()
        r = self.raw_put("def-md5", "k", b"with sha", {"x-amz-checksum-sha256": sha})
        self.assertEqual(r.status, 200, r.body)
        # boto3 with a checksum algorithm (the way `put` writes) and with ContentMD5.
        self.put("def-md5", "k", b"boto3 sha")
        self.s3.put_object(Bucket="def-md5", Key="k", Body=b"boto3 md5",
                           ContentMD5=md5_b64(b"boto3 md5"))
        self.assertEqual(len(self.version_ids("def-md5", "k")), 4)

    def test_a_lock_bucket_without_a_default_takes_a_plain_put_without_digest(self):
        self.lock_bucket("def-none")
        r = self.raw_put("def-none", "k", b"plain")
        self.assertEqual(r.status, 200, r.body)
        self.assertNotIn(MODE, r.headers)
        # ... but not one with lock headers (a legal hold alone included).
        r = self.raw_put("def-none", "k", b"held", {HOLD: "ON"})
        self.assertRawError(r, 400, "InvalidRequest", INTEGRITY_REQUIRED)
        r = self.raw_put("def-none", "k", b"kept", {MODE: "GOVERNANCE",
                                                    UNTIL: iso(self.future(DAY))})
        self.assertRawError(r, 400, "InvalidRequest", INTEGRITY_REQUIRED)
        self.assertEqual(len(self.version_ids("def-none", "k")), 1)


# --- lock headers on writes -----------------------------------------------------------------------

class LockHeaderValidationTest(LockTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="hdr", ObjectLockEnabledForBucket=True)
        cls.s3.create_bucket(Bucket="hdr-plain")

    def raw_put_md5(self, bucket, key, headers, body=b"header checks"):
        hdrs = {"Content-MD5": md5_b64(body)}
        hdrs.update(headers)
        return self.raw_put(bucket, key, body, hdrs)

    def test_mode_and_date_must_come_together(self):
        until = iso(self.future(DAY))
        cases = [({MODE: "GOVERNANCE"}, UNTIL), ({UNTIL: until}, MODE),
                 # checked before the mode's value
                 ({MODE: "FOREVER"}, UNTIL)]
        for headers, missing in cases:
            with self.subTest(headers=headers):
                r = self.raw_put_md5("hdr", "k", headers)
                self.assertRawError(r, 400, "InvalidArgument", BOTH_REQUIRED,
                                    ArgumentName=missing)
        self.assertS3Error(400, "InvalidArgument", BOTH_REQUIRED, self.s3.put_object,
                           Bucket="hdr", Key="k", Body=b"x", ChecksumAlgorithm="SHA256",
                           ObjectLockMode="COMPLIANCE")
        self.assertEqual(self.version_ids("hdr", "k"), [])

    def test_an_unknown_mode_is_refused(self):
        until = iso(self.future(DAY))
        for mode in ("FOREVER", "governance"):
            with self.subTest(mode=mode):
                r = self.raw_put_md5("hdr", "k", {MODE: mode, UNTIL: until})
                self.assertRawError(r, 400, "InvalidArgument", UNKNOWN_MODE,
                                    ArgumentName=MODE, ArgumentValue=mode)
        r = self.server.s3_request("POST", "/hdr/mpu", query="uploads",
                                   headers={MODE: "FOREVER", UNTIL: until})
        self.assertRawError(r, 400, "InvalidArgument", UNKNOWN_MODE, ArgumentName=MODE)
        self.assertEqual(self.version_ids("hdr", "k"), [])
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket="hdr"))

    def test_lock_headers_on_a_bucket_without_lock_are_refused(self):
        until = self.future(DAY)
        self.s3.put_object(Bucket="hdr-plain", Key="src", Body=b"source")
        calls = {
            "PutObject": lambda **kw: self.s3.put_object(
                Bucket="hdr-plain", Key="k", Body=b"x", ChecksumAlgorithm="SHA256", **kw),
            "CopyObject": lambda **kw: self.s3.copy_object(
                Bucket="hdr-plain", Key="k", CopySource={"Bucket": "hdr-plain", "Key": "src"},
                **kw),
            "CreateMultipartUpload": lambda **kw: self.s3.create_multipart_upload(
                Bucket="hdr-plain", Key="k", **kw),
        }
        headers = [{"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": until},
                   {"ObjectLockLegalHoldStatus": "ON"}]
        for name, call in calls.items():
            for kwargs in headers:
                with self.subTest(operation=name, headers=kwargs):
                    self.assertS3Error(400, "InvalidRequest", PUT_WITHOUT_LOCK, call, **kwargs)
        self.assertEqual([o["Key"] for o in
                          self.s3.list_objects_v2(Bucket="hdr-plain").get("Contents", [])],
                         ["src"])
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket="hdr-plain"))

    def test_put_with_lock_headers_reports_them_on_head_and_get(self):
        until = self.future(5 * DAY)
        version_id = self.put("hdr", "both", mode="COMPLIANCE", until=until, hold="ON")
        h = headers_of(self.head("hdr", "both", version_id))
        self.assertEqual((h.get(MODE), h.get(HOLD)), ("COMPLIANCE", "ON"))
        self.assertEqual(parse_timestamp(h[UNTIL]), until.timestamp())
        got = self.s3.get_object(Bucket="hdr", Key="both", VersionId=version_id)
        self.assertEqual((got["ObjectLockMode"], got["ObjectLockRetainUntilDate"],
                          got["ObjectLockLegalHoldStatus"]), ("COMPLIANCE", until, "ON"))
        self.assertEqual(got["Body"].read(), b"locked bytes")
        # A version without any lock shows no lock header at all.
        plain = self.put("hdr", "none")
        h = headers_of(self.head("hdr", "none", plain))
        self.assertFalse({MODE, UNTIL, HOLD} & set(h), h)


# --- COMPLIANCE -----------------------------------------------------------------------------------

class ComplianceTest(LockTestCase):
    """The default credentials are the account root: COMPLIANCE refuses even it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="comp", ObjectLockEnabledForBucket=True)

    def test_the_root_cannot_delete_a_compliance_version_even_with_bypass(self):
        version_id = self.put("comp", "del", mode="COMPLIANCE", until=self.future(DAY))
        self.assertProtected(self.delete_version, "comp", "del", version_id)
        self.assertProtected(self.delete_version, "comp", "del", version_id, bypass=True)
        r = self.server.s3_request("DELETE", "/comp/del", query=f"versionId={version_id}",
                                   headers={"x-amz-bypass-governance-retention": "true"})
        self.assertRawError(r, 403, "AccessDenied", PROTECTED)
        self.assertEqual(self.version_ids("comp", "del"), [version_id])
        self.assertEqual(self.s3.get_object(Bucket="comp", Key="del", VersionId=version_id)
                         ["Body"].read(), b"locked bytes")

    def test_compliance_can_be_extended_but_not_shortened_removed_or_downgraded(self):
        until = self.future(2 * DAY)
        version_id = self.put("comp", "ret", mode="COMPLIANCE", until=until)
        shorter = {"Mode": "COMPLIANCE", "RetainUntilDate": until - datetime.timedelta(days=1)}
        later_governance = {"Mode": "GOVERNANCE",
                            "RetainUntilDate": until + datetime.timedelta(days=1)}
        for retention in (shorter, later_governance):
            for bypass in (False, True):
                with self.subTest(retention=retention, bypass=bypass):
                    self.assertProtected(self.s3.put_object_retention, Bucket="comp", Key="ret",
                                         VersionId=version_id, Retention=retention,
                                         BypassGovernanceRetention=bypass)
        r = self.server.s3_request("PUT", "/comp/ret", retention_xml(),
                                   query=f"retention&versionId={version_id}",
                                   headers={"Content-MD5": md5_b64(retention_xml()),
                                            "x-amz-bypass-governance-retention": "true"})
        self.assertRawError(r, 403, "AccessDenied", PROTECTED)
        self.assertEqual(self.lock_of("comp", "ret", version_id),
                         ("COMPLIANCE", until.timestamp(), None))

        longer = until + datetime.timedelta(days=10)
        self.s3.put_object_retention(Bucket="comp", Key="ret", VersionId=version_id,
                                     Retention={"Mode": "COMPLIANCE", "RetainUntilDate": longer})
        got = self.s3.get_object_retention(Bucket="comp", Key="ret", VersionId=version_id)
        self.assertEqual(got["Retention"], {"Mode": "COMPLIANCE", "RetainUntilDate": longer})
        self.assertEqual(self.lock_of("comp", "ret", version_id),
                         ("COMPLIANCE", longer.timestamp(), None))

    def test_delete_without_a_version_id_adds_a_marker_and_the_version_stays(self):
        version_id = self.put("comp", "marker", b"still here", mode="COMPLIANCE",
                              until=self.future(DAY))
        response = self.s3.delete_object(Bucket="comp", Key="marker")
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertTrue(response.get("DeleteMarker"))
        marker = response["VersionId"]
        self.assertNotEqual(marker, version_id)
        self.assertS3Error(404, "NoSuchKey", None, self.s3.get_object, Bucket="comp",
                           Key="marker")
        got = self.s3.get_object(Bucket="comp", Key="marker", VersionId=version_id)
        self.assertEqual(got["Body"].read(), b"still here")
        self.assertEqual(got["ObjectLockMode"], "COMPLIANCE")
        # The marker itself is not locked: deleting it brings the version back.
        self.s3.delete_object(Bucket="comp", Key="marker", VersionId=marker)
        self.assertEqual(self.head("comp", "marker")["VersionId"], version_id)

    def test_delete_objects_reports_access_denied_for_the_locked_version_only(self):
        locked = self.put("comp", "batch-locked", mode="COMPLIANCE", until=self.future(DAY))
        for bypass in (False, True):
            with self.subTest(bypass=bypass):
                free = self.put("comp", "batch-free")
                response = self.s3.delete_objects(
                    Bucket="comp", BypassGovernanceRetention=bypass, Delete={"Objects": [
                        {"Key": "batch-locked", "VersionId": locked},
                        {"Key": "batch-free", "VersionId": free}]})
                self.assertEqual(response.get("Errors"), [{
                    "Key": "batch-locked", "VersionId": locked, "Code": "AccessDenied",
                    "Message": PROTECTED}])
                self.assertEqual([(d["Key"], d["VersionId"]) for d in response["Deleted"]],
                                 [("batch-free", free)])
        self.assertEqual(self.version_ids("comp", "batch-locked"), [locked])
        self.assertEqual(self.version_ids("comp", "batch-free"), [])

    def test_a_retain_until_date_in_the_past_is_refused(self):
        version_id = self.put("comp", "past")
        past = self.future(-DAY)
        error = self.assertS3Error(400, "InvalidArgument", DATE_IN_PAST,
                                   self.s3.put_object_retention, Bucket="comp", Key="past",
                                   VersionId=version_id,
                                   Retention={"Mode": "COMPLIANCE", "RetainUntilDate": past})
        self.assertEqual(error["Error"].get("ArgumentName"), "RetainUntilDate")
        self.assertS3Error(404, "NoSuchObjectLockConfiguration", NO_LOCK_ON_OBJECT,
                           self.s3.get_object_retention, Bucket="comp", Key="past",
                           VersionId=version_id)

    def test_the_version_can_be_deleted_once_the_retention_has_passed(self):
        # Moves the server's clock a day forward; the other tests take their dates from it.
        version_id = self.put("comp", "expire", mode="COMPLIANCE", until=self.future(DAY))
        self.assertProtected(self.delete_version, "comp", "expire", version_id)
        self.server.advance_clock(DAY + 60)
        # Expired: HEAD still reports the (past) retention, and GetObjectRetention returns it.
        self.assertEqual(self.lock_of("comp", "expire", version_id)[0], "COMPLIANCE")
        got = self.s3.get_object_retention(Bucket="comp", Key="expire", VersionId=version_id)
        self.assertEqual(got["Retention"]["Mode"], "COMPLIANCE")
        response = self.delete_version("comp", "expire", version_id)
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.version_ids("comp", "expire"), [])


# --- GOVERNANCE -----------------------------------------------------------------------------------

class GovernanceTest(LockTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="gov", ObjectLockEnabledForBucket=True)
        cls.iam = cls.server.client("iam")

    def make_user(self, name, *actions):
        self.iam.create_user(UserName=name)
        self.iam.put_user_policy(UserName=name, PolicyName="objects",
                                 PolicyDocument=policy(*actions))
        key = self.iam.create_access_key(UserName=name)["AccessKey"]
        return self.server.s3_client(access_key_id=key["AccessKeyId"],
                                     secret_access_key=key["SecretAccessKey"])

    def test_the_root_deletes_a_governance_version_only_with_bypass(self):
        version_id = self.put("gov", "root", mode="GOVERNANCE", until=self.future(DAY))
        self.assertProtected(self.delete_version, "gov", "root", version_id)
        self.assertProtected(self.delete_version, "gov", "root", version_id, bypass=False)
        response = self.delete_version("gov", "root", version_id, bypass=True)
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(response.get("VersionId"), version_id)
        self.assertEqual(self.version_ids("gov", "root"), [])

    def test_delete_objects_with_bypass_removes_governance_versions(self):
        version_id = self.put("gov", "batch", mode="GOVERNANCE", until=self.future(DAY))
        objects = {"Objects": [{"Key": "batch", "VersionId": version_id}]}
        response = self.s3.delete_objects(Bucket="gov", Delete=objects)
        self.assertEqual(response.get("Errors"), [{"Key": "batch", "VersionId": version_id,
                                                   "Code": "AccessDenied", "Message": PROTECTED}])
        response = self.s3.delete_objects(Bucket="gov", Delete=objects,
                                          BypassGovernanceRetention=True)
        self.assertNotIn("Errors", response)
        self.assertEqual([(d["Key"], d["VersionId"]) for d in response["Deleted"]],
                         [("batch", version_id)])

    def test_a_user_needs_s3_bypass_governance_retention_to_bypass(self):
        user = self.make_user("no-bypass", *WRITER_ACTIONS)
        until = self.future(DAY)
        version_id = self.put("gov", "user", mode="GOVERNANCE", until=until, client=user)
        # The policy does allow deleting versions: an unlocked one goes.
        free = self.put("gov", "user-free", client=user)
        self.delete_version("gov", "user-free", free, client=user)
        self.assertEqual(self.version_ids("gov", "user-free"), [])

        self.assertProtected(self.delete_version, "gov", "user", version_id, client=user)
        self.assertProtected(self.delete_version, "gov", "user", version_id, bypass=True,
                             client=user)
        response = user.delete_objects(Bucket="gov", BypassGovernanceRetention=True, Delete={
            "Objects": [{"Key": "user", "VersionId": version_id}]})
        self.assertEqual([(e["Code"], e["Message"]) for e in response.get("Errors", [])],
                         [("AccessDenied", PROTECTED)])
        shorter = {"Mode": "GOVERNANCE", "RetainUntilDate": until - datetime.timedelta(hours=1)}
        self.assertProtected(user.put_object_retention, Bucket="gov", Key="user",
                             VersionId=version_id, Retention=shorter,
                             BypassGovernanceRetention=True)
        # Extending needs no bypass.
        longer = until + datetime.timedelta(hours=1)
        user.put_object_retention(Bucket="gov", Key="user", VersionId=version_id,
                                  Retention={"Mode": "GOVERNANCE", "RetainUntilDate": longer})
        self.assertEqual(self.lock_of("gov", "user", version_id),
                         ("GOVERNANCE", longer.timestamp(), None))
        self.assertEqual(self.version_ids("gov", "user"), [version_id])

        # Granted s3:BypassGovernanceRetention, the same calls succeed.
        self.iam.put_user_policy(UserName="no-bypass", PolicyName="objects",
                                 PolicyDocument=policy(*WRITER_ACTIONS,
                                                       "s3:BypassGovernanceRetention"))
        self.assertProtected(self.delete_version, "gov", "user", version_id, client=user)
        user.put_object_retention(Bucket="gov", Key="user", VersionId=version_id,
                                  Retention=shorter, BypassGovernanceRetention=True)
        self.assertEqual(self.lock_of("gov", "user", version_id),
                         ("GOVERNANCE", shorter["RetainUntilDate"].timestamp(), None))
        response = self.delete_version("gov", "user", version_id, bypass=True, client=user)
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.version_ids("gov", "user"), [])

    def test_shortening_governance_needs_the_bypass_and_extending_does_not(self):
        until = self.future(2 * DAY)
        version_id = self.put("gov", "short", mode="GOVERNANCE", until=until)
        shorter = until - datetime.timedelta(days=1)
        self.assertProtected(self.s3.put_object_retention, Bucket="gov", Key="short",
                             VersionId=version_id,
                             Retention={"Mode": "GOVERNANCE", "RetainUntilDate": shorter})
        self.assertEqual(self.lock_of("gov", "short", version_id)[1], until.timestamp())
        self.s3.put_object_retention(Bucket="gov", Key="short", VersionId=version_id,
                                     Retention={"Mode": "GOVERNANCE", "RetainUntilDate": shorter},
                                     BypassGovernanceRetention=True)
        self.assertEqual(self.lock_of("gov", "short", version_id)[1], shorter.timestamp())
        longer = until + datetime.timedelta(days=1)
        self.s3.put_object_retention(Bucket="gov", Key="short", VersionId=version_id,
                                     Retention={"Mode": "GOVERNANCE", "RetainUntilDate": longer})
        self.assertEqual(self.lock_of("gov", "short", version_id)[1], longer.timestamp())
        # Governance may be raised to COMPLIANCE without bypass; it is then for good.
        self.s3.put_object_retention(Bucket="gov", Key="short", VersionId=version_id,
                                     Retention={"Mode": "COMPLIANCE", "RetainUntilDate": longer})
        self.assertProtected(self.delete_version, "gov", "short", version_id, bypass=True)

    def test_an_empty_retention_with_bypass_removes_it(self):
        version_id = self.put("gov", "clear", mode="GOVERNANCE", until=self.future(DAY))
        body = retention_xml()
        query = f"retention&versionId={version_id}"
        r = self.server.s3_request("PUT", "/gov/clear", body, query=query,
                                   headers={"Content-MD5": md5_b64(body)})
        self.assertRawError(r, 403, "AccessDenied", PROTECTED)
        r = self.server.s3_request("PUT", "/gov/clear", body, query=query,
                                   headers={"Content-MD5": md5_b64(body),
                                            "x-amz-bypass-governance-retention": "true"})
        self.assertEqual(r.status, 200, r.body)
        self.assertS3Error(404, "NoSuchObjectLockConfiguration", NO_LOCK_ON_OBJECT,
                           self.s3.get_object_retention, Bucket="gov", Key="clear",
                           VersionId=version_id)
        self.assertEqual(self.lock_of("gov", "clear", version_id), (None, None, None))
        self.delete_version("gov", "clear", version_id)
        self.assertEqual(self.version_ids("gov", "clear"), [])

    def test_retention_without_a_version_id_addresses_the_current_version(self):
        old = self.put("gov", "current", b"old")
        new = self.put("gov", "current", b"new")
        until = self.future(DAY)
        self.s3.put_object_retention(Bucket="gov", Key="current",
                                     Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})
        self.assertEqual(self.lock_of("gov", "current", new)[0], "GOVERNANCE")
        self.assertEqual(self.lock_of("gov", "current", old), (None, None, None))
        got = self.s3.get_object_retention(Bucket="gov", Key="current")
        self.assertEqual(got["Retention"], {"Mode": "GOVERNANCE", "RetainUntilDate": until})

    def test_malformed_retention_bodies_are_malformed_xml(self):
        version_id = self.put("gov", "malformed")
        until = iso(self.future(DAY))
        for body in (retention_xml(mode="GOVERNANCE"), retention_xml(until=until),
                     retention_xml("FOREVER", until), retention_xml("governance", until),
                     b"<Retention"):
            with self.subTest(body=body):
                r = self.server.s3_request("PUT", "/gov/malformed", body,
                                           query=f"retention&versionId={version_id}",
                                           headers={"Content-MD5": md5_b64(body)})
                self.assertRawError(r, 400, "MalformedXML", MALFORMED_XML)
        self.assertEqual(self.lock_of("gov", "malformed", version_id), (None, None, None))


# --- legal hold, delete markers, buckets without lock ---------------------------------------------

class LegalHoldTest(LockTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="hold", ObjectLockEnabledForBucket=True)
        cls.s3.create_bucket(Bucket="hold-plain")

    def test_a_legal_hold_blocks_deletion_even_with_bypass_until_it_is_released(self):
        version_id = self.put("hold", "gov", mode="GOVERNANCE", until=self.future(DAY))
        self.assertS3Error(404, "NoSuchObjectLockConfiguration", NO_LOCK_ON_OBJECT,
                           self.s3.get_object_legal_hold, Bucket="hold", Key="gov",
                           VersionId=version_id)
        self.assertNotIn(HOLD, headers_of(self.head("hold", "gov", version_id)))
        self.s3.put_object_legal_hold(Bucket="hold", Key="gov", VersionId=version_id,
                                      LegalHold={"Status": "ON"})
        self.assertEqual(self.s3.get_object_legal_hold(Bucket="hold", Key="gov",
                                                       VersionId=version_id)["LegalHold"],
                         {"Status": "ON"})
        self.assertEqual(headers_of(self.head("hold", "gov", version_id)).get(HOLD), "ON")
        self.assertProtected(self.delete_version, "hold", "gov", version_id)
        self.assertProtected(self.delete_version, "hold", "gov", version_id, bypass=True)
        response = self.s3.delete_objects(Bucket="hold", BypassGovernanceRetention=True, Delete={
            "Objects": [{"Key": "gov", "VersionId": version_id}]})
        self.assertEqual([(e["Code"], e["Message"]) for e in response.get("Errors", [])],
                         [("AccessDenied", PROTECTED)])

        self.s3.put_object_legal_hold(Bucket="hold", Key="gov", VersionId=version_id,
                                      LegalHold={"Status": "OFF"})
        self.assertEqual(self.s3.get_object_legal_hold(Bucket="hold", Key="gov",
                                                       VersionId=version_id)["LegalHold"],
                         {"Status": "OFF"})
        self.assertEqual(headers_of(self.head("hold", "gov", version_id)).get(HOLD), "OFF")
        # Released: the GOVERNANCE retention is all that is left, and bypass lifts it.
        self.assertProtected(self.delete_version, "hold", "gov", version_id)
        self.delete_version("hold", "gov", version_id, bypass=True)
        self.assertEqual(self.version_ids("hold", "gov"), [])

    def test_a_legal_hold_alone_blocks_deletion(self):
        version_id = self.put("hold", "alone", hold="ON")
        self.assertEqual(self.lock_of("hold", "alone", version_id), (None, None, "ON"))
        self.assertS3Error(404, "NoSuchObjectLockConfiguration", NO_LOCK_ON_OBJECT,
                           self.s3.get_object_retention, Bucket="hold", Key="alone",
                           VersionId=version_id)
        self.assertProtected(self.delete_version, "hold", "alone", version_id)
        self.assertProtected(self.delete_version, "hold", "alone", version_id, bypass=True)
        self.s3.put_object_legal_hold(Bucket="hold", Key="alone", VersionId=version_id,
                                      LegalHold={"Status": "OFF"})
        self.delete_version("hold", "alone", version_id)
        self.assertEqual(self.version_ids("hold", "alone"), [])

    def test_a_malformed_legal_hold_is_malformed_xml(self):
        version_id = self.put("hold", "bad-body")
        for body in (b'<LegalHold xmlns="' + S3_NS_URI.encode() + b'"><Status>on</Status>'
                     b"</LegalHold>", b"<LegalHold/>", b""):
            with self.subTest(body=body):
                r = self.server.s3_request("PUT", "/hold/bad-body", body,
                                           query=f"legal-hold&versionId={version_id}",
                                           headers={"Content-MD5": md5_b64(body)})
                self.assertRawError(r, 400, "MalformedXML", MALFORMED_XML)
        self.assertNotIn(HOLD, headers_of(self.head("hold", "bad-body", version_id)))

    def test_lock_calls_on_a_delete_marker_are_method_not_allowed(self):
        self.put("hold", "marked")
        marker = self.s3.delete_object(Bucket="hold", Key="marked")["VersionId"]
        until = self.future(DAY)
        calls = {
            "PutObjectRetention": lambda: self.s3.put_object_retention(
                Bucket="hold", Key="marked", VersionId=marker,
                Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}),
            "GetObjectRetention": lambda: self.s3.get_object_retention(
                Bucket="hold", Key="marked", VersionId=marker),
            "PutObjectLegalHold": lambda: self.s3.put_object_legal_hold(
                Bucket="hold", Key="marked", VersionId=marker, LegalHold={"Status": "ON"}),
            "GetObjectLegalHold": lambda: self.s3.get_object_legal_hold(
                Bucket="hold", Key="marked", VersionId=marker),
        }
        for name, call in calls.items():
            with self.subTest(operation=name):
                self.assertS3Error(405, "MethodNotAllowed", METHOD_NOT_ALLOWED, call,
                                   s3_fields={"ResourceType": "DeleteMarker"})
        # The marker is still an ordinary marker: deleting it needs no bypass.
        self.s3.delete_object(Bucket="hold", Key="marked", VersionId=marker)
        self.head("hold", "marked")

    def test_lock_calls_on_a_bucket_without_lock_are_invalid_request(self):
        self.s3.put_object(Bucket="hold-plain", Key="k", Body=b"plain")
        until = self.future(DAY)
        calls = {
            "PutObjectRetention": lambda: self.s3.put_object_retention(
                Bucket="hold-plain", Key="k",
                Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until}),
            "GetObjectRetention": lambda: self.s3.get_object_retention(
                Bucket="hold-plain", Key="k"),
            "PutObjectLegalHold": lambda: self.s3.put_object_legal_hold(
                Bucket="hold-plain", Key="k", LegalHold={"Status": "ON"}),
            "GetObjectLegalHold": lambda: self.s3.get_object_legal_hold(
                Bucket="hold-plain", Key="k"),
        }
        for name, call in calls.items():
            with self.subTest(operation=name):
                self.assertS3Error(400, "InvalidRequest", CALL_WITHOUT_LOCK, call)
        h = headers_of(self.head("hold-plain", "k"))
        self.assertFalse({MODE, UNTIL, HOLD} & set(h), h)

    def test_lock_calls_on_a_missing_key_or_bucket(self):
        self.assertS3Error(404, "NoSuchKey", None, self.s3.get_object_legal_hold,
                           Bucket="hold", Key="never")
        self.assertS3Error(404, "NoSuchKey", None, self.s3.put_object_legal_hold,
                           Bucket="hold", Key="never", LegalHold={"Status": "ON"})
        self.assertS3Error(404, "NoSuchKey", None, self.s3.get_object_retention,
                           Bucket="hold", Key="never")
        self.assertS3Error(404, "NoSuchBucket", None, self.s3.get_object_retention,
                           Bucket="hold-missing", Key="k")

    def test_the_bypass_header_on_a_bucket_without_lock_is_invalid_argument(self):
        self.s3.put_object(Bucket="hold-plain", Key="bypass", Body=b"x")
        self.assertS3Error(400, "InvalidArgument", BYPASS_WITHOUT_LOCK, self.s3.delete_object,
                           Bucket="hold-plain", Key="bypass", BypassGovernanceRetention=True,
                           s3_fields={"ArgumentName": "x-amz-bypass-governance-retention"})
        r = self.server.s3_request("DELETE", "/hold-plain/bypass",
                                   headers={"x-amz-bypass-governance-retention": "false"})
        self.assertRawError(r, 400, "InvalidArgument", BYPASS_WITHOUT_LOCK)
        self.assertS3Error(400, "InvalidArgument", BYPASS_WITHOUT_LOCK, self.s3.delete_objects,
                           Bucket="hold-plain", BypassGovernanceRetention=True,
                           Delete={"Objects": [{"Key": "bypass"}]})
        self.assertEqual(self.s3.get_object(Bucket="hold-plain", Key="bypass")["Body"].read(),
                         b"x")


# --- copies and multipart uploads -----------------------------------------------------------------

class CopyAndMultipartLockTest(LockTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="cm-src", ObjectLockEnabledForBucket=True)

    def test_a_copy_does_not_carry_the_source_lock(self):
        source = self.put("cm-src", "src", b"locked source", mode="COMPLIANCE",
                          until=self.future(DAY), hold="ON")
        copied = self.s3.copy_object(Bucket="cm-src", Key="dst",
                                     CopySource={"Bucket": "cm-src", "Key": "src",
                                                 "VersionId": source})
        version_id = copied["VersionId"]
        self.assertEqual(self.lock_of("cm-src", "dst", version_id), (None, None, None))
        self.assertEqual(self.s3.get_object(Bucket="cm-src", Key="dst")["Body"].read(),
                         b"locked source")
        self.delete_version("cm-src", "dst", version_id)
        self.assertProtected(self.delete_version, "cm-src", "src", source)

    def test_a_copy_takes_its_own_lock_headers(self):
        source = self.put("cm-src", "src-plain", b"plain source")
        until = self.future(2 * DAY)
        copied = self.s3.copy_object(Bucket="cm-src", Key="dst-locked", ObjectLockMode="GOVERNANCE",
                                     ObjectLockRetainUntilDate=until,
                                     ObjectLockLegalHoldStatus="ON",
                                     CopySource={"Bucket": "cm-src", "Key": "src-plain"})
        self.assertEqual(self.lock_of("cm-src", "dst-locked", copied["VersionId"]),
                         ("GOVERNANCE", until.timestamp(), "ON"))
        self.assertEqual(self.lock_of("cm-src", "src-plain", source), (None, None, None))

    def test_a_copy_into_a_bucket_with_a_default_gets_the_default(self):
        self.lock_bucket("cm-default", "GOVERNANCE", days=1)
        self.s3.put_object(Bucket="cm-src", Key="to-default", Body=b"x", ChecksumAlgorithm="SHA256")
        copied = self.s3.copy_object(Bucket="cm-default", Key="copy",
                                     CopySource={"Bucket": "cm-src", "Key": "to-default"})
        self.assertEqual(self.lock_of("cm-default", "copy", copied["VersionId"])[0],
                         "GOVERNANCE")

    def multipart(self, bucket, key, **create_kwargs):
        upload = self.s3.create_multipart_upload(Bucket=bucket, Key=key,
                                                 **create_kwargs)["UploadId"]
        parts = [b"a" * (5 * 1024 * 1024), b"tail"]
        etags = [self.s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=n,
                                     Body=part)["ETag"] for n, part in enumerate(parts, 1)]
        # Before the Complete there is no object, hence nothing to read a lock from.
        self.assertEqual(self.version_ids(bucket, key), [])
        done = self.s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e}
                                       for n, e in enumerate(etags, 1)]})
        return done["VersionId"]

    def test_a_multipart_upload_created_with_lock_headers_gives_the_object_its_lock(self):
        until = self.future(3 * DAY)
        version_id = self.multipart("cm-src", "mpu", ObjectLockMode="COMPLIANCE",
                                    ObjectLockRetainUntilDate=until,
                                    ObjectLockLegalHoldStatus="ON")
        self.assertEqual(self.lock_of("cm-src", "mpu", version_id),
                         ("COMPLIANCE", until.timestamp(), "ON"))
        got = self.s3.get_object_retention(Bucket="cm-src", Key="mpu", VersionId=version_id)
        self.assertEqual(got["Retention"], {"Mode": "COMPLIANCE", "RetainUntilDate": until})
        self.assertProtected(self.delete_version, "cm-src", "mpu", version_id, bypass=True)

    def test_a_multipart_upload_into_a_bucket_with_a_default_gets_the_default(self):
        self.lock_bucket("cm-mpu-default", "COMPLIANCE", days=1)
        version_id = self.multipart("cm-mpu-default", "mpu")
        self.assertEqual(self.lock_of("cm-mpu-default", "mpu", version_id)[0], "COMPLIANCE")
        self.assertProtected(self.delete_version, "cm-mpu-default", "mpu", version_id)


# --- a locked version whose KMS key is no longer Enabled (docs/s3-object-lock.md) -----------------

class LockedKeyStateTest(LockTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kms = cls.server.client("kms")
        cls.iam = cls.server.client("iam")

    def kms_put(self, bucket, key, kms_key, body, **lock):
        return self.put(bucket, key, body, ServerSideEncryption="aws:kms",
                        SSEKMSKeyId=kms_key["KeyId"], **lock)

    def test_a_key_pending_deletion_is_shown_on_the_locked_version_only(self):
        kms_key = self.kms.create_key(Description="locked data")["KeyMetadata"]
        self.lock_bucket("kms-lock")
        locked = self.kms_put("kms-lock", "locked", kms_key, b"locked secret",
                              mode="COMPLIANCE", until=self.future(30 * DAY))
        held = self.kms_put("kms-lock", "held", kms_key, b"held secret", hold="ON")
        plain = self.kms_put("kms-lock", "plain", kms_key, b"plain secret")
        for key, version_id in (("locked", locked), ("held", held), ("plain", plain)):
            h = headers_of(self.head("kms-lock", key, version_id))
            self.assertNotIn(KEY_STATE, h)
            self.assertNotIn(KEY_DELETION_DATE, h)

        scheduled = self.kms.schedule_key_deletion(KeyId=kms_key["KeyId"], PendingWindowInDays=7)
        deletion_date = scheduled["DeletionDate"].timestamp()
        for key, version_id in (("locked", locked), ("held", held)):
            with self.subTest(key=key):
                head = self.head("kms-lock", key, version_id)
                h = headers_of(head)
                self.assertEqual(h.get(KEY_STATE), "PendingDeletion", h)
                self.assertAlmostEqual(parse_timestamp(h[KEY_DELETION_DATE]), deletion_date,
                                       delta=1.0)
                self.assertEqual((head["ServerSideEncryption"], head["SSEKMSKeyId"]),
                                 ("aws:kms", kms_key["Arn"]))
                # The current version too (HEAD without a version id).
                self.assertEqual(headers_of(self.head("kms-lock", key)).get(KEY_STATE),
                                 "PendingDeletion")
                self.assertS3Error(400, "KMS.KMSInvalidStateException",
                                   f"{kms_key['Arn']} is pending deletion.", self.s3.get_object,
                                   Bucket="kms-lock", Key=key, VersionId=version_id)
                self.assertProtected(self.delete_version, "kms-lock", key, version_id,
                                     bypass=True)
        # An unlocked object under the same key: no key state, though it is unreadable too.
        h = headers_of(self.head("kms-lock", "plain", plain))
        self.assertNotIn(KEY_STATE, h)
        self.assertNotIn(KEY_DELETION_DATE, h)
        self.assertS3Error(400, "KMS.KMSInvalidStateException",
                           f"{kms_key['Arn']} is pending deletion.", self.s3.get_object,
                           Bucket="kms-lock", Key="plain", VersionId=plain)
        self.assertEqual(self.version_ids("kms-lock", "locked"), [locked])

        # Cancelling the deletion (the key is then Disabled) keeps the header, without a date.
        self.kms.cancel_key_deletion(KeyId=kms_key["KeyId"])
        h = headers_of(self.head("kms-lock", "locked", locked))
        self.assertEqual(h.get(KEY_STATE), "Disabled", h)
        self.assertNotIn(KEY_DELETION_DATE, h)
        # Enabled again: no header, and the data reads.
        self.kms.enable_key(KeyId=kms_key["KeyId"])
        got = self.s3.get_object(Bucket="kms-lock", Key="locked", VersionId=locked)
        self.assertNotIn(KEY_STATE, headers_of(got))
        self.assertEqual(got["Body"].read(), b"locked secret")

    def test_the_failing_get_of_a_locked_version_carries_the_key_state(self):
        # docs/s3-object-lock.md: "HEAD and GET of a locked version ... carry" the headers; a
        # GET of such a version always fails at KMS, so the error response is where they go.
        kms_key = self.kms.create_key(Description="locked data, GET")["KeyMetadata"]
        self.lock_bucket("kms-lock-get")
        locked = self.kms_put("kms-lock-get", "locked", kms_key, b"secret",
                              mode="GOVERNANCE", until=self.future(30 * DAY))
        scheduled = self.kms.schedule_key_deletion(KeyId=kms_key["KeyId"], PendingWindowInDays=7)
        error = self.assertS3Error(400, "KMS.KMSInvalidStateException",
                                   f"{kms_key['Arn']} is pending deletion.", self.s3.get_object,
                                   Bucket="kms-lock-get", Key="locked", VersionId=locked)
        h = headers_of(error)
        self.assertEqual(h.get(KEY_STATE), "PendingDeletion", h)
        self.assertAlmostEqual(parse_timestamp(h.get(KEY_DELETION_DATE, "0")),
                               scheduled["DeletionDate"].timestamp(), delta=1.0)

    def test_a_caller_who_may_not_describe_the_key_sees_no_key_state(self):
        kms_key = self.kms.create_key(Description="locked data, reader")["KeyMetadata"]
        self.lock_bucket("kms-lock-reader")
        locked = self.kms_put("kms-lock-reader", "locked", kms_key, b"secret",
                              mode="COMPLIANCE", until=self.future(30 * DAY))
        self.iam.create_user(UserName="reader")
        self.iam.put_user_policy(UserName="reader", PolicyName="read",
                                 PolicyDocument=policy("s3:GetObject", "s3:GetObjectVersion"))
        key = self.iam.create_access_key(UserName="reader")["AccessKey"]
        reader = self.server.s3_client(access_key_id=key["AccessKeyId"],
                                       secret_access_key=key["SecretAccessKey"])
        self.kms.schedule_key_deletion(KeyId=kms_key["KeyId"], PendingWindowInDays=7)
        self.assertEqual(headers_of(self.head("kms-lock-reader", "locked", locked)).get(KEY_STATE),
                         "PendingDeletion")
        h = headers_of(self.head("kms-lock-reader", "locked", locked, client=reader))
        self.assertEqual(h.get(MODE), "COMPLIANCE")
        self.assertNotIn(KEY_STATE, h)
        self.assertNotIn(KEY_DELETION_DATE, h)


if __name__ == "__main__":
    unittest.main()
