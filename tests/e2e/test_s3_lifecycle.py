"""S3 lifecycle end to end, with boto3 and raw signed requests, driven by the dev clock
(docs/reference/s3-data-protection.md §3, docs/s3-lifecycle.md).

Covered: Put/Get/DeleteBucketLifecycleConfiguration — every filter form (Prefix, Tag, And with
tags and sizes, an empty Filter, the legacy rule-level Prefix) and every action round-tripping
through boto3, transitions accepted and reported, x-amz-transition-default-minimum-object-size,
the 404 without a configuration, DELETE's 204, a re-created bucket starting without one, and every
invalid input of the reference's table (raw XML, with and without an integrity header). Then the
rules at work on the dev clock (advance_clock runs the due lifecycle pass before it answers):
Expiration by Days (rounded up to midnight UTC) and by Date on unversioned buckets, exact
selection by prefix, tags and strict sizes, disabled rules; a delete marker instead of removal in
versioned buckets (a null marker in Suspended ones); ExpiredObjectDeleteMarker;
NoncurrentVersionExpiration counted from when a version became noncurrent, keeping
NewerNoncurrentVersions; Object Lock winning over lifecycle; AbortIncompleteMultipartUpload; the
x-amz-expiration header on PUT, GET, HEAD, CopyObject and CompleteMultipartUpload; the demo with
the aws CLI; blobs of expired data collected after the grace time.

Rules run at most once per hour of lifecycle time (S3: about once a day), so every advance meant
to trigger a pass moves the clock at least two hours past the previous one. A pass covers every
bucket of the server, so each test works in buckets of its own. Expected dates are computed from
the server's clock (clock_now) and LastModified, never from the test machine's clock.
"""

import base64
import datetime
import email.utils
import glob
import hashlib
import json
import math
import os
import re
import unittest
import xml.etree.ElementTree as ET

import botocore.exceptions

from harness import HangarTestCase

DAY = 86400
HOUR = 3600
KIB = 1024
MIB = 1024 * KIB
# Lifecycle work is due at most hourly: a triggering advance lands this far past anything before.
SETTLE = 2 * HOUR
GRACE_CROSSING_SECONDS = 120  # released blobs go 60 s (lifecycle clock) after their release
S3_NS_URI = "http://s3.amazonaws.com/doc/2006-03-01/"

MALFORMED_XML = ("The XML you provided was not well-formed or did not validate against our "
                 "published schema")
NO_CONFIGURATION = "The lifecycle configuration does not exist"
NOT_MIDNIGHT = "'Date' must be at midnight GMT"
DUPLICATE_TAG_KEYS = "Duplicate Tag Keys are not allowed."
ABORT_WITH_TAGS = "AbortIncompleteMultipartUpload cannot be specified with Tags."
DAYS_NOT_POSITIVE = "'Days' for Expiration action must be a positive integer"
DUPLICATE_IDS = "Rule ID must be unique. Found same ID for more than one rule"
ID_TOO_LONG = "ID length should not exceed allowed limit of 255"
MD5_MISSING = "Missing required header for this request: Content-MD5"
MINIMUM_SIZE_HEADER = "x-amz-transition-default-minimum-object-size"
EXPIRATION = "x-amz-expiration"
_EXPIRATION_VALUE = re.compile(r'^expiry-date="([^"]+)", rule-id="([^"]*)"$')


def headers_of(response) -> dict:
    return response["ResponseMetadata"]["HTTPHeaders"]


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def error_fields(body: bytes) -> dict:
    return {child.tag: child.text for child in ET.fromstring(body)}


def lifecycle_xml(*rules: str) -> bytes:
    return (f'<LifecycleConfiguration xmlns="{S3_NS_URI}">{"".join(rules)}'
            "</LifecycleConfiguration>").encode()


def rule_xml(inner: str, status="Enabled", filter_xml="<Filter></Filter>") -> str:
    return f"<Rule>{filter_xml}<Status>{status}</Status>{inner}</Rule>"


def midnight_after(epoch: float) -> float:
    """`epoch` rounded up to the next 00:00 UTC, as S3 counts lifecycle days."""
    return math.ceil(epoch / DAY) * DAY


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


def utc(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)


class LifecycleTestCase(HangarTestCase):
    """One server per class, a boto3 S3 client, and helpers for rules and the dev clock."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3 = cls.server.s3_client()

    # --- the dev clock ------------------------------------------------------------------------

    def now(self) -> float:
        return self.server.clock_now()

    def advance_to(self, epoch: float) -> float:
        """Moves the server's clock to `epoch` (at least) and runs what is due."""
        delta = math.ceil(epoch - self.now())
        self.assertGreater(delta, 0, f"the clock is already past {utc(epoch)}")
        return self.server.advance_clock(delta)

    def advance_to_time_of_day(self, hours: float) -> float:
        """Moves the clock to the next `hours` o'clock UTC at least two hours away, so that a
        creation right after it lies far from midnight and rounding up is visible."""
        now = self.now()
        delta = (hours * HOUR - now % DAY) % DAY
        if delta < SETTLE:
            delta += DAY
        return self.server.advance_clock(math.ceil(delta))

    # --- buckets, objects, rules -------------------------------------------------------------

    def make_bucket(self, name, versioned=False, lock=False):
        if lock:
            self.s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        else:
            self.s3.create_bucket(Bucket=name)
        if versioned and not lock:
            self.s3.put_bucket_versioning(Bucket=name,
                                          VersioningConfiguration={"Status": "Enabled"})
        return name

    def set_rules(self, bucket, *rules, **kwargs):
        return self.s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)}, **kwargs)

    def put(self, bucket, key, body=b"lifecycle bytes", **kwargs):
        response = self.s3.put_object(Bucket=bucket, Key=key, Body=body, **kwargs)
        return response.get("VersionId")

    def created(self, bucket, key, version_id=None) -> float:
        """LastModified of a version in epoch seconds (whole seconds, as HTTP dates are)."""
        kwargs = {"VersionId": version_id} if version_id else {}
        return self.s3.head_object(Bucket=bucket, Key=key, **kwargs)["LastModified"].timestamp()

    def exists(self, bucket, key) -> bool:
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
            return True
        except botocore.exceptions.ClientError as e:
            self.assertEqual(e.response["Error"]["Code"], "404", e.response)
            return False

    def keys(self, bucket):
        return sorted(o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket).get("Contents", []))

    def versions(self, bucket, key=None):
        """(kind, key, version id, is latest) of every version and marker, sorted."""
        listed = self.s3.list_object_versions(Bucket=bucket, **({"Prefix": key} if key else {}))
        out = [("Version", v["Key"], v["VersionId"], v["IsLatest"])
               for v in listed.get("Versions", [])]
        out += [("DeleteMarker", m["Key"], m["VersionId"], m["IsLatest"])
                for m in listed.get("DeleteMarkers", [])]
        return sorted(e for e in out if key is None or e[1] == key)

    def version_ids(self, bucket, key):
        return {e[2] for e in self.versions(bucket, key) if e[0] == "Version"}

    def put_config_raw(self, bucket, body, md5=True, headers=None):
        hdrs = {"Content-MD5": md5_b64(body)} if md5 else {}
        hdrs.update(headers or {})
        return self.server.s3_request("PUT", f"/{bucket}", body, query="lifecycle", headers=hdrs)

    def assertRawError(self, response, status, code, message, **fields):
        self.assertEqual(response.status, status, response.body)
        got = error_fields(response.body)
        self.assertEqual((got.get("Code"), got.get("Message")), (code, message), got)
        for name, value in fields.items():
            self.assertEqual(got.get(name), value, f"{name} in {got}")

    def assertNoConfiguration(self, bucket):
        self.assertS3Error(404, "NoSuchLifecycleConfiguration", NO_CONFIGURATION,
                           self.s3.get_bucket_lifecycle_configuration, Bucket=bucket,
                           s3_fields={"BucketName": bucket})

    def expiration_of(self, response):
        """(expiry date in epoch seconds, rule id) from a response's x-amz-expiration, or None."""
        value = headers_of(response).get(EXPIRATION)
        if value is None:
            return None
        m = _EXPIRATION_VALUE.match(value)
        self.assertIsNotNone(m, f"malformed {EXPIRATION}: {value!r}")
        return email.utils.parsedate_to_datetime(m.group(1)).timestamp(), m.group(2)


# --- the configuration on the wire ----------------------------------------------------------------

class LifecycleConfigurationTest(LifecycleTestCase):

    def test_every_filter_form_and_action_round_trips_through_boto3(self):
        self.make_bucket("cfg-forms")
        date = datetime.datetime(2031, 3, 1, tzinfo=datetime.timezone.utc)
        rules = [
            {"ID": "by-prefix", "Filter": {"Prefix": "logs/"}, "Status": "Enabled",
             "Expiration": {"Days": 7}},
            {"ID": "by-tag", "Filter": {"Tag": {"Key": "class", "Value": "scratch"}},
             "Status": "Enabled", "Expiration": {"Date": date}},
            {"ID": "by-and", "Filter": {"And": {
                "Prefix": "data/", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
                "ObjectSizeGreaterThan": 100, "ObjectSizeLessThan": 9999}},
             "Status": "Enabled", "Expiration": {"Days": 30},
             "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"},
                             {"Days": 90, "StorageClass": "GLACIER"}]},
            {"ID": "by-and-sizes", "Filter": {"And": {
                "Prefix": "", "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 20}},
             "Status": "Disabled", "Expiration": {"Days": 3}},
            {"ID": "by-size", "Filter": {"ObjectSizeGreaterThan": 1048576}, "Status": "Enabled",
             "Transitions": [{"Date": date, "StorageClass": "DEEP_ARCHIVE"}]},
            {"ID": "whole-bucket", "Filter": {"Prefix": ""}, "Status": "Enabled",
             "Expiration": {"ExpiredObjectDeleteMarker": True},
             "NoncurrentVersionTransitions": [{"NoncurrentDays": 30, "StorageClass": "GLACIER_IR",
                                               "NewerNoncurrentVersions": 2}],
             "NoncurrentVersionExpiration": {"NoncurrentDays": 60,
                                             "NewerNoncurrentVersions": 3}},
            {"ID": "abort", "Filter": {"Prefix": "uploads/"}, "Status": "Enabled",
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 2}},
            {"ID": "legacy", "Prefix": "old/", "Status": "Enabled",
             "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
        ]
        put = self.set_rules("cfg-forms", *rules)
        self.assertEqual(put.get("TransitionDefaultMinimumObjectSize"), "all_storage_classes_128K")
        got = self.s3.get_bucket_lifecycle_configuration(Bucket="cfg-forms")
        self.assertEqual(got.get("TransitionDefaultMinimumObjectSize"), "all_storage_classes_128K")
        self.assertEqual([r.get("ID") for r in got["Rules"]], [r["ID"] for r in rules])
        for want, have in zip(rules, got["Rules"]):
            with self.subTest(rule=want["ID"]):
                self.assertEqual(have, want)

    def test_get_echoes_an_empty_filter_and_an_and_without_prefix_as_stored(self):
        # Reference §3.1: "GET echoes Filter as stored (<Filter/>, empty Prefix)".
        self.make_bucket("cfg-echo")
        rules = [
            {"ID": "empty-filter", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}},
            {"ID": "empty-prefix", "Filter": {"Prefix": ""}, "Status": "Enabled",
             "Expiration": {"Days": 2}},
            {"ID": "and-without-prefix", "Filter": {"And": {
                "Tags": [{"Key": "t", "Value": "v"}], "ObjectSizeGreaterThan": 10,
                "ObjectSizeLessThan": 20}}, "Status": "Enabled", "Expiration": {"Days": 3}},
        ]
        self.set_rules("cfg-echo", *rules)
        got = self.s3.get_bucket_lifecycle_configuration(Bucket="cfg-echo")["Rules"]
        for want, have in zip(rules, got):
            with self.subTest(rule=want["ID"]):
                self.assertEqual(have, want)

    def test_a_rule_without_an_id_is_given_one(self):
        self.make_bucket("cfg-no-id")
        self.set_rules("cfg-no-id", {"Filter": {"Prefix": "a/"}, "Status": "Enabled",
                                     "Expiration": {"Days": 1}})
        got = self.s3.get_bucket_lifecycle_configuration(Bucket="cfg-no-id")["Rules"]
        self.assertEqual(len(got), 1)
        self.assertTrue(got[0].get("ID"), got)
        self.assertLessEqual(len(got[0]["ID"]), 255)

    def test_put_replaces_the_whole_configuration(self):
        self.make_bucket("cfg-replace")
        self.set_rules("cfg-replace",
                       {"ID": "one", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}},
                       {"ID": "two", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 2}})
        self.set_rules("cfg-replace", {"ID": "three", "Filter": {"Prefix": "x"},
                                       "Status": "Enabled", "Expiration": {"Days": 3}})
        got = self.s3.get_bucket_lifecycle_configuration(Bucket="cfg-replace")["Rules"]
        self.assertEqual([r["ID"] for r in got], ["three"])

    def test_the_transition_minimum_size_header_is_kept_and_validated(self):
        self.make_bucket("cfg-min-size")
        rule = {"ID": "r", "Filter": {"Prefix": "cold/"}, "Status": "Enabled",
                "Transitions": [{"Days": 0, "StorageClass": "GLACIER"}]}
        put = self.set_rules("cfg-min-size", rule,
                             TransitionDefaultMinimumObjectSize="varies_by_storage_class")
        self.assertEqual(headers_of(put).get(MINIMUM_SIZE_HEADER), "varies_by_storage_class")
        got = self.s3.get_bucket_lifecycle_configuration(Bucket="cfg-min-size")
        self.assertEqual(got.get("TransitionDefaultMinimumObjectSize"), "varies_by_storage_class")
        self.assertEqual(got["Rules"], [rule])
        self.assertS3Error(400, "InvalidRequest",
                           "Invalid TransitionDefaultMinimumObjectSize found: everything",
                           self.set_rules, "cfg-min-size", rule,
                           TransitionDefaultMinimumObjectSize="everything")
        got = self.s3.get_bucket_lifecycle_configuration(Bucket="cfg-min-size")
        self.assertEqual(got.get("TransitionDefaultMinimumObjectSize"), "varies_by_storage_class")
        # Left out, it is the default again.
        self.set_rules("cfg-min-size", rule)
        got = self.s3.get_bucket_lifecycle_configuration(Bucket="cfg-min-size")
        self.assertEqual(got.get("TransitionDefaultMinimumObjectSize"), "all_storage_classes_128K")

    def test_get_without_configuration_is_no_such_lifecycle_configuration(self):
        self.make_bucket("cfg-absent")
        self.assertNoConfiguration("cfg-absent")
        r = self.server.s3_request("GET", "/cfg-absent", query="lifecycle")
        self.assertRawError(r, 404, "NoSuchLifecycleConfiguration", NO_CONFIGURATION,
                            BucketName="cfg-absent")

    def test_delete_is_204_with_or_without_a_configuration(self):
        self.make_bucket("cfg-delete")
        self.set_rules("cfg-delete", {"ID": "r", "Filter": {}, "Status": "Enabled",
                                      "Expiration": {"Days": 1}})
        gone = self.s3.delete_bucket_lifecycle(Bucket="cfg-delete")
        self.assertEqual(gone["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertNoConfiguration("cfg-delete")
        again = self.server.s3_request("DELETE", "/cfg-delete", query="lifecycle")
        self.assertEqual((again.status, again.body), (204, b""))
        self.assertNoConfiguration("cfg-delete")

    def test_a_recreated_bucket_starts_without_a_configuration(self):
        self.make_bucket("cfg-recreated")
        self.set_rules("cfg-recreated", {"ID": "r", "Filter": {}, "Status": "Enabled",
                                         "Expiration": {"Days": 1}})
        self.s3.delete_bucket(Bucket="cfg-recreated")
        self.make_bucket("cfg-recreated")
        self.assertNoConfiguration("cfg-recreated")

    def test_unknown_bucket_is_no_such_bucket(self):
        rule = {"ID": "r", "Filter": {}, "Status": "Enabled", "Expiration": {"Days": 1}}
        self.assertS3Error(404, "NoSuchBucket", None, self.set_rules, "cfg-missing", rule)
        self.assertS3Error(404, "NoSuchBucket", None, self.s3.get_bucket_lifecycle_configuration,
                           Bucket="cfg-missing")
        self.assertS3Error(404, "NoSuchBucket", None, self.s3.delete_bucket_lifecycle,
                           Bucket="cfg-missing")

    def test_the_configuration_needs_content_md5_or_a_checksum(self):
        self.make_bucket("cfg-integrity")
        body = lifecycle_xml(rule_xml("<Expiration><Days>1</Days></Expiration>"))
        self.assertRawError(self.put_config_raw("cfg-integrity", body, md5=False), 400,
                            "InvalidRequest", MD5_MISSING)
        self.assertNoConfiguration("cfg-integrity")
        sha256 = base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")
        r = self.put_config_raw("cfg-integrity", body, md5=False,
                                headers={"x-amz-checksum-sha256": sha256})
        self.assertEqual(r.status, 200, r.body)
        r = self.put_config_raw("cfg-integrity", body)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers.get(MINIMUM_SIZE_HEADER), "all_storage_classes_128K")

    def test_malformed_configurations_are_malformed_xml_and_change_nothing(self):
        self.make_bucket("cfg-malformed")
        self.set_rules("cfg-malformed", {"ID": "kept", "Filter": {}, "Status": "Enabled",
                                         "Expiration": {"Days": 9}})
        days = "<Expiration><Days>1</Days></Expiration>"
        cases = {
            "neither Filter nor Prefix": lifecycle_xml(
                f"<Rule><ID>x</ID><Status>Enabled</Status>{days}</Rule>"),
            "And beside a Prefix": lifecycle_xml(rule_xml(days, filter_xml=(
                "<Filter><Prefix>a/</Prefix><And><Prefix>b/</Prefix>"
                "<Tag><Key>k</Key><Value>v</Value></Tag></And></Filter>"))),
            "size and Prefix outside And": lifecycle_xml(rule_xml(days, filter_xml=(
                "<Filter><Prefix>a/</Prefix><ObjectSizeGreaterThan>5</ObjectSizeGreaterThan>"
                "</Filter>"))),
            "empty NoncurrentVersionExpiration": lifecycle_xml(rule_xml(
                "<NoncurrentVersionExpiration></NoncurrentVersionExpiration>")),
            "ExpiredObjectDeleteMarker with Days": lifecycle_xml(rule_xml(
                "<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true"
                "</ExpiredObjectDeleteMarker></Expiration>")),
            "Status enabled": lifecycle_xml(rule_xml(days, status="enabled")),
            "no Status": lifecycle_xml(f"<Rule><Filter></Filter>{days}</Rule>"),
            "no Rule": lifecycle_xml(),
            "not XML": b"<LifecycleConfiguration><Rule>",
        }
        for name, body in cases.items():
            with self.subTest(case=name):
                self.assertRawError(self.put_config_raw("cfg-malformed", body), 400,
                                    "MalformedXML", MALFORMED_XML)
        got = self.s3.get_bucket_lifecycle_configuration(Bucket="cfg-malformed")["Rules"]
        self.assertEqual([(r["ID"], r["Expiration"]) for r in got], [("kept", {"Days": 9})])

    def test_invalid_values_are_invalid_argument_or_invalid_request(self):
        self.make_bucket("cfg-invalid")
        tag = "<Tag><Key>k</Key><Value>{}</Value></Tag>"
        abort = "<AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation>" \
                "</AbortIncompleteMultipartUpload>"
        days = "<Expiration><Days>1</Days></Expiration>"
        cases = {
            "Date not at midnight": (
                lifecycle_xml(rule_xml("<Expiration><Date>2031-01-01T10:00:00Z</Date>"
                                       "</Expiration>")),
                "InvalidArgument", NOT_MIDNIGHT,
                {"ArgumentName": "Date", "ArgumentValue": "2031-01-01T10:00:00Z"}),
            "Days 0": (
                lifecycle_xml(rule_xml("<Expiration><Days>0</Days></Expiration>")),
                "InvalidArgument", DAYS_NOT_POSITIVE, {}),
            "duplicate rule IDs": (
                lifecycle_xml(f"<Rule><ID>same</ID><Filter></Filter><Status>Enabled</Status>"
                              f"{days}</Rule>" * 2),
                "InvalidArgument", DUPLICATE_IDS, {}),
            "ID over 255 characters": (
                lifecycle_xml(f"<Rule><ID>{'i' * 256}</ID><Filter></Filter>"
                              f"<Status>Enabled</Status>{days}</Rule>"),
                "InvalidArgument", ID_TOO_LONG, {}),
            "duplicate tag keys": (
                lifecycle_xml(rule_xml(days, filter_xml=(
                    f"<Filter><And>{tag.format('1')}{tag.format('2')}</And></Filter>"))),
                "InvalidRequest", DUPLICATE_TAG_KEYS, {}),
            "Abort with a Tag filter": (
                lifecycle_xml(rule_xml(abort, filter_xml=f"<Filter>{tag.format('v')}</Filter>")),
                "InvalidRequest", ABORT_WITH_TAGS, {}),
            "Abort with tags in And": (
                lifecycle_xml(rule_xml(abort, filter_xml=(
                    f"<Filter><And><Prefix>p/</Prefix>{tag.format('v')}</And></Filter>"))),
                "InvalidRequest", ABORT_WITH_TAGS, {}),
        }
        for name, (body, code, message, fields) in cases.items():
            with self.subTest(case=name):
                self.assertRawError(self.put_config_raw("cfg-invalid", body), 400, code, message,
                                    **fields)
        self.assertNoConfiguration("cfg-invalid")
        # The same refusals reach boto3 callers.
        self.assertS3Error(400, "InvalidArgument", DAYS_NOT_POSITIVE, self.set_rules,
                           "cfg-invalid", {"ID": "r", "Filter": {}, "Status": "Enabled",
                                           "Expiration": {"Days": 0}})
        self.assertS3Error(400, "InvalidArgument", NOT_MIDNIGHT, self.set_rules, "cfg-invalid",
                           {"ID": "r", "Filter": {}, "Status": "Enabled", "Expiration": {
                               "Date": datetime.datetime(2031, 1, 1, 10,
                                                         tzinfo=datetime.timezone.utc)}},
                           s3_fields={"ArgumentName": "Date"})


# --- Expiration on unversioned buckets ------------------------------------------------------------

class ExpirationTest(LifecycleTestCase):

    def test_days_expire_an_object_only_after_the_rounded_up_midnight(self):
        self.make_bucket("exp-days")
        self.set_rules("exp-days", {"ID": "two-days", "Filter": {"Prefix": "logs/"},
                                    "Status": "Enabled", "Expiration": {"Days": 2}})
        self.advance_to_time_of_day(10)
        self.put("exp-days", "logs/a", b"log line")
        self.put("exp-days", "data/b", b"kept")
        created = self.created("exp-days", "logs/a")
        due = midnight_after(created + 2 * DAY)
        self.assertGreater(due - (created + 2 * DAY), 12 * HOUR)  # created at about 10:00 UTC
        self.advance_to(created + 2 * DAY + SETTLE)  # two days have passed, midnight has not
        self.assertTrue(self.exists("exp-days", "logs/a"))
        self.advance_to(due + SETTLE)
        self.assertFalse(self.exists("exp-days", "logs/a"))
        self.assertEqual(self.keys("exp-days"), ["data/b"])
        self.assertS3Error(404, "NoSuchKey", None, self.s3.get_object, Bucket="exp-days",
                           Key="logs/a")

    def test_prefix_tag_and_strict_size_filters_select_exactly(self):
        self.make_bucket("exp-filters")
        self.set_rules(
            "exp-filters",
            {"ID": "prefix", "Filter": {"Prefix": "p/"}, "Status": "Enabled",
             "Expiration": {"Days": 1}},
            {"ID": "tag", "Filter": {"Tag": {"Key": "k", "Value": "v"}}, "Status": "Enabled",
             "Expiration": {"Days": 1}},
            {"ID": "sizes", "Filter": {"And": {"Prefix": "s/", "ObjectSizeGreaterThan": 20,
                                               "ObjectSizeLessThan": 100}},
             "Status": "Enabled", "Expiration": {"Days": 1}},
            {"ID": "all-tags", "Filter": {"And": {"Prefix": "",
                                                  "Tags": [{"Key": "a", "Value": "1"},
                                                           {"Key": "b", "Value": "2"}]}},
             "Status": "Enabled", "Expiration": {"Days": 1}},
            {"ID": "small", "Filter": {"ObjectSizeLessThan": 5}, "Status": "Enabled",
             "Expiration": {"Days": 1}})
        objects = {  # key: (size, tagging, expires)
            "p/x": (10, None, True),
            "q/p/x": (10, None, False),
            "P/x": (10, None, False),
            "t/match": (10, "k=v", True),
            "t/other-value": (10, "k=w", False),
            "t/other-key": (10, "kk=v", False),
            "s/15": (15, None, False),
            "s/20": (20, None, False),
            "s/21": (21, None, True),
            "s/99": (99, None, True),
            "s/100": (100, None, False),
            "r/21": (21, None, False),
            "ab/both": (10, "a=1&b=2&c=3", True),
            "ab/one": (10, "a=1", False),
            "ab/wrong": (10, "a=1&b=3", False),
            "tiny": (4, None, True),
            "five": (5, None, False),
        }
        for key, (size, tagging, expires) in objects.items():
            kwargs = {"Tagging": tagging} if tagging else {}
            response = self.s3.put_object(Bucket="exp-filters", Key=key, Body=b"x" * size,
                                          **kwargs)
            with self.subTest(key=key, header="PUT"):
                self.assertEqual(EXPIRATION in headers_of(response), expires, headers_of(response))
        self.advance_to(self.now() + 3 * DAY)
        self.assertEqual(self.keys("exp-filters"),
                         sorted(k for k, (_, _, expires) in objects.items() if not expires))

    def test_date_expires_matching_objects_once_the_date_passes(self):
        self.make_bucket("exp-date")
        date = midnight_after(self.now()) + 2 * DAY
        self.set_rules("exp-date", {"ID": "on-date", "Filter": {"Prefix": "tmp/"},
                                    "Status": "Enabled", "Expiration": {"Date": utc(date)}})
        self.put("exp-date", "tmp/a")
        self.put("exp-date", "keep/a")
        head = self.s3.head_object(Bucket="exp-date", Key="tmp/a")
        self.assertEqual(self.expiration_of(head), (date, "on-date"))
        self.advance_to(date - SETTLE)
        self.assertEqual(self.keys("exp-date"), ["keep/a", "tmp/a"])
        self.advance_to(date + SETTLE)
        self.assertEqual(self.keys("exp-date"), ["keep/a"])

    def test_a_disabled_rule_does_nothing(self):
        self.make_bucket("exp-disabled")
        self.set_rules("exp-disabled", {"ID": "off", "Filter": {}, "Status": "Disabled",
                                        "Expiration": {"Days": 1}})
        response = self.s3.put_object(Bucket="exp-disabled", Key="k", Body=b"stays")
        self.assertNotIn(EXPIRATION, headers_of(response))
        self.advance_to(self.now() + 3 * DAY)
        self.assertEqual(self.keys("exp-disabled"), ["k"])
        self.assertNotIn(EXPIRATION, headers_of(self.s3.head_object(Bucket="exp-disabled",
                                                                    Key="k")))

    def test_deleting_the_configuration_stops_expiration(self):
        self.make_bucket("exp-deleted-rules")
        self.set_rules("exp-deleted-rules", {"ID": "r", "Filter": {}, "Status": "Enabled",
                                             "Expiration": {"Days": 1}})
        self.put("exp-deleted-rules", "k")
        self.s3.delete_bucket_lifecycle(Bucket="exp-deleted-rules")
        self.advance_to(self.now() + 3 * DAY)
        self.assertEqual(self.keys("exp-deleted-rules"), ["k"])


# --- versioned buckets: Expiration, ExpiredObjectDeleteMarker, noncurrent versions ----------------

class VersionedLifecycleTest(LifecycleTestCase):

    def test_expiration_in_a_versioned_bucket_adds_a_delete_marker_and_keeps_the_versions(self):
        self.make_bucket("ver-expire", versioned=True)
        self.set_rules("ver-expire", {"ID": "r", "Filter": {"Prefix": "e/"}, "Status": "Enabled",
                                      "Expiration": {"Days": 1}})
        v1 = self.put("ver-expire", "e/k", b"one")
        v2 = self.put("ver-expire", "e/k", b"two")
        other = self.put("ver-expire", "o/k", b"other")
        self.advance_to(self.now() + 3 * DAY)
        self.assertS3Error(404, "NoSuchKey", None, self.s3.get_object, Bucket="ver-expire",
                           Key="e/k")
        entries = self.versions("ver-expire", "e/k")
        markers = [e for e in entries if e[0] == "DeleteMarker"]
        self.assertEqual(len(markers), 1, entries)
        self.assertTrue(markers[0][3])
        self.assertEqual({e[2] for e in entries if e[0] == "Version"}, {v1, v2})
        for version_id, body in ((v1, b"one"), (v2, b"two")):
            got = self.s3.get_object(Bucket="ver-expire", Key="e/k", VersionId=version_id)
            self.assertEqual(got["Body"].read(), body)
        self.assertEqual(self.s3.head_object(Bucket="ver-expire", Key="o/k")["VersionId"], other)
        # A current delete marker is not expired again: no second marker.
        self.advance_to(self.now() + 3 * DAY)
        self.assertEqual(self.versions("ver-expire", "e/k"), entries)

    def test_expiration_in_a_suspended_bucket_replaces_the_null_version_with_a_null_marker(self):
        self.make_bucket("ver-suspended", versioned=True)
        v1 = self.put("ver-suspended", "k", b"versioned")
        self.s3.put_bucket_versioning(Bucket="ver-suspended",
                                      VersioningConfiguration={"Status": "Suspended"})
        self.put("ver-suspended", "k", b"null version")
        self.set_rules("ver-suspended", {"ID": "r", "Filter": {}, "Status": "Enabled",
                                         "Expiration": {"Days": 1}})
        self.advance_to(self.now() + 3 * DAY)
        self.assertEqual(self.versions("ver-suspended", "k"),
                         [("DeleteMarker", "k", "null", True), ("Version", "k", v1, False)])
        got = self.s3.get_object(Bucket="ver-suspended", Key="k", VersionId=v1)
        self.assertEqual(got["Body"].read(), b"versioned")

    def test_expired_object_delete_marker_goes_only_with_nothing_behind_it(self):
        self.make_bucket("ver-eodm", versioned=True)
        self.set_rules("ver-eodm", {"ID": "markers", "Filter": {}, "Status": "Enabled",
                                    "Expiration": {"ExpiredObjectDeleteMarker": True}})
        lonely = self.put("ver-eodm", "lonely", b"soon deleted for good")
        self.s3.delete_object(Bucket="ver-eodm", Key="lonely")
        self.s3.delete_object(Bucket="ver-eodm", Key="lonely", VersionId=lonely)
        backed = self.put("ver-eodm", "backed", b"still behind the marker")
        marker = self.s3.delete_object(Bucket="ver-eodm", Key="backed")["VersionId"]
        self.assertEqual(len(self.versions("ver-eodm", "lonely")), 1)
        self.advance_to(self.now() + SETTLE)
        self.assertEqual(self.versions("ver-eodm", "lonely"), [])
        self.assertEqual(self.versions("ver-eodm", "backed"),
                         [("DeleteMarker", "backed", marker, True),
                          ("Version", "backed", backed, False)])

    def test_noncurrent_expiration_then_the_marker_left_alone(self):
        self.make_bucket("ver-cleanup", versioned=True)
        self.set_rules("ver-cleanup", {"ID": "tidy", "Filter": {}, "Status": "Enabled",
                                       "Expiration": {"ExpiredObjectDeleteMarker": True},
                                       "NoncurrentVersionExpiration": {"NoncurrentDays": 1}})
        self.put("ver-cleanup", "k", b"one")
        self.put("ver-cleanup", "k", b"two")
        self.s3.delete_object(Bucket="ver-cleanup", Key="k")
        self.advance_to(self.now() + 3 * DAY)
        self.advance_to(self.now() + SETTLE)
        self.assertEqual(self.versions("ver-cleanup", "k"), [])

    def test_newer_noncurrent_versions_keeps_the_newest_noncurrent_ones(self):
        self.make_bucket("ver-keep", versioned=True)
        self.set_rules("ver-keep", {"ID": "keep-two", "Filter": {}, "Status": "Enabled",
                                    "NoncurrentVersionExpiration": {
                                        "NoncurrentDays": 1, "NewerNoncurrentVersions": 2}})
        ids = [self.put("ver-keep", "k", f"version {n}".encode()) for n in range(1, 6)]
        single = self.put("ver-keep", "single", b"only")
        self.advance_to(self.now() + 3 * DAY)
        self.assertEqual(self.version_ids("ver-keep", "k"), set(ids[2:]))
        self.assertEqual(self.s3.head_object(Bucket="ver-keep", Key="k")["VersionId"], ids[-1])
        self.assertS3Error(404, "NoSuchVersion", None, self.s3.get_object, Bucket="ver-keep",
                           Key="k", VersionId=ids[0])
        self.assertEqual(self.version_ids("ver-keep", "single"), {single})

    def test_noncurrent_days_count_from_when_the_version_became_noncurrent(self):
        self.make_bucket("ver-since", versioned=True)
        self.set_rules("ver-since", {"ID": "nc", "Filter": {}, "Status": "Enabled",
                                     "NoncurrentVersionExpiration": {"NoncurrentDays": 2}})
        self.advance_to_time_of_day(10)
        v1 = self.put("ver-since", "k", b"one")
        self.advance_to(self.now() + 5 * DAY)  # v1 is 5 days old, still current
        v2 = self.put("ver-since", "k", b"two")
        replaced = self.created("ver-since", "k", v2)
        due = midnight_after(replaced + 2 * DAY)
        self.assertGreater(due - (replaced + 2 * DAY), 12 * HOUR)
        self.advance_to(replaced + SETTLE)
        self.assertEqual(self.version_ids("ver-since", "k"), {v1, v2})
        self.advance_to(replaced + 2 * DAY + SETTLE)  # two days noncurrent, before midnight
        self.assertEqual(self.version_ids("ver-since", "k"), {v1, v2})
        self.advance_to(due + SETTLE)
        self.assertEqual(self.version_ids("ver-since", "k"), {v2})

    def test_noncurrent_expiration_respects_the_filter(self):
        self.make_bucket("ver-filtered", versioned=True)
        self.set_rules("ver-filtered", {"ID": "nc", "Filter": {"Prefix": "tmp/"},
                                        "Status": "Enabled",
                                        "NoncurrentVersionExpiration": {"NoncurrentDays": 1}})
        tmp = [self.put("ver-filtered", "tmp/k", b"x") for _ in range(2)]
        kept = [self.put("ver-filtered", "keep/k", b"x") for _ in range(2)]
        self.advance_to(self.now() + 3 * DAY)
        self.assertEqual(self.version_ids("ver-filtered", "tmp/k"), {tmp[1]})
        self.assertEqual(self.version_ids("ver-filtered", "keep/k"), set(kept))


# --- Object Lock wins -----------------------------------------------------------------------------

class LifecycleObjectLockTest(LifecycleTestCase):

    def put_locked(self, bucket, key, body=b"locked", **kwargs):
        return self.s3.put_object(Bucket=bucket, Key=key, Body=body, ChecksumAlgorithm="SHA256",
                                  **kwargs)["VersionId"]

    def test_locked_noncurrent_versions_stay_until_their_lock_ends(self):
        self.make_bucket("lock-nc", lock=True)
        self.set_rules("lock-nc",
                       {"ID": "nc", "Filter": {}, "Status": "Enabled",
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
                       {"ID": "current", "Filter": {"Prefix": "cur/"}, "Status": "Enabled",
                        "Expiration": {"Days": 1}})
        until = utc(math.floor(self.now()) + 5 * DAY)
        retained = self.put_locked("lock-nc", "k", ObjectLockMode="COMPLIANCE",
                                   ObjectLockRetainUntilDate=until)
        held = self.put_locked("lock-nc", "k", ObjectLockLegalHoldStatus="ON")
        plain = self.put_locked("lock-nc", "k")
        current = self.put_locked("lock-nc", "k")
        locked_current = self.put_locked("lock-nc", "cur/x", ObjectLockMode="COMPLIANCE",
                                         ObjectLockRetainUntilDate=until)
        self.advance_to(self.now() + 3 * DAY)
        self.assertEqual(self.version_ids("lock-nc", "k"), {retained, held, current})
        self.assertNotIn(plain, self.version_ids("lock-nc", "k"))
        # Expiration of a locked current version only hides it under a delete marker.
        entries = self.versions("lock-nc", "cur/x")
        self.assertEqual([(e[0], e[3]) for e in entries],
                         [("DeleteMarker", True), ("Version", False)], entries)
        got = self.s3.get_object(Bucket="lock-nc", Key="cur/x", VersionId=locked_current)
        self.assertEqual(got["Body"].read(), b"locked")
        # The hold is lifted: its version goes at the next pass; the retention still holds.
        self.s3.put_object_legal_hold(Bucket="lock-nc", Key="k", VersionId=held,
                                      LegalHold={"Status": "OFF"})
        self.advance_to(self.now() + SETTLE)
        self.assertEqual(self.version_ids("lock-nc", "k"), {retained, current})
        self.advance_to(until.timestamp() + SETTLE)
        self.assertEqual(self.version_ids("lock-nc", "k"), {current})
        self.assertEqual(self.version_ids("lock-nc", "cur/x"), set())


# --- AbortIncompleteMultipartUpload ---------------------------------------------------------------

class LifecycleAuditTest(LifecycleTestCase):
    """Every lifecycle action is an AwsServiceEvent in the audit trail (issue 9): a data event on
    the object, with the action and the version or upload it removed."""

    def service_events(self, bucket):
        records = []
        for path in sorted(glob.glob(os.path.join(self.server.data_dir, "audit", "logs",
                                                  "*.jsonl"))):
            with open(path, "rb") as f:
                lines = f.read().split(b"\n")[:-1]
            records += [json.loads(line) for line in lines if line]
        return [r for r in records if r["eventType"] == "AwsServiceEvent"
                and r["eventSource"] == "s3.amazonaws.com"
                and r["requestParameters"]["bucketName"] == bucket]

    def test_each_lifecycle_action_is_recorded_as_a_service_event(self):
        bucket = self.make_bucket("audited-rules", versioned=True)
        self.set_rules(bucket, {"ID": "tidy", "Filter": {}, "Status": "Enabled",
                                "Expiration": {"Days": 1},
                                "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})
        old = self.put(bucket, "flight.log", b"one")
        self.put(bucket, "flight.log", b"two")
        upload = self.s3.create_multipart_upload(Bucket=bucket, Key="big.bin")["UploadId"]
        # Before any rule is due, user requests leave no service event behind.
        self.assertEqual(self.service_events(bucket), [])
        self.advance_to(self.now() + 3 * DAY)
        self.advance_to(self.now() + SETTLE)
        events = self.service_events(bucket)
        actions = sorted((e["eventName"], e["additionalEventData"]["lifecycleAction"],
                          e["requestParameters"]["key"]) for e in events)
        self.assertIn(("DeleteObject", "Expiration", "flight.log"), actions)
        self.assertIn(("DeleteObject", "NoncurrentVersionExpiration", "flight.log"), actions)
        self.assertIn(("AbortMultipartUpload", "AbortIncompleteMultipartUpload", "big.bin"),
                      actions)
        noncurrent = [e for e in events
                      if e["additionalEventData"]["lifecycleAction"] == "NoncurrentVersionExpiration"]
        self.assertIn(old, [e["requestParameters"]["versionId"] for e in noncurrent])
        aborted = [e for e in events if e["eventName"] == "AbortMultipartUpload"]
        self.assertEqual(aborted[0]["requestParameters"]["uploadId"], upload)
        for e in events:
            self.assertEqual(e["userIdentity"]["accountId"], self.server.account_id)
            self.assertFalse(e["managementEvent"])
            self.assertEqual(e["recipientAccountId"], self.server.account_id)
            self.assertIn({"type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}",
                           "accountId": self.server.account_id}, e["resources"])


class AbortIncompleteUploadTest(LifecycleTestCase):

    def start_upload(self, bucket, key):
        upload = self.s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        self.s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1,
                            Body=b"p" * (5 * MIB))
        return upload

    def uploads(self, bucket):
        listed = self.s3.list_multipart_uploads(Bucket=bucket)
        return sorted((u["Key"], u["UploadId"]) for u in listed.get("Uploads", []))

    def test_a_stale_upload_is_aborted_and_a_fresh_one_is_not(self):
        self.make_bucket("abort")
        self.set_rules("abort", {"ID": "stale", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                                 "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})
        self.advance_to_time_of_day(10)
        old = self.start_upload("abort", "tmp/old")
        outside = self.start_upload("abort", "keep/old")
        started = self.now()
        due = midnight_after(started + DAY)  # about 38 h after 10:00
        self.advance_to(started + 20 * HOUR)
        self.assertEqual(self.uploads("abort"), sorted([("tmp/old", old), ("keep/old", outside)]))
        fresh = self.start_upload("abort", "tmp/new")  # due a day after `old`
        self.assertGreater(midnight_after(self.now() + DAY), due + SETTLE)
        self.advance_to(due + SETTLE)
        self.assertEqual(self.uploads("abort"), sorted([("tmp/new", fresh), ("keep/old", outside)]))
        self.assertS3Error(404, "NoSuchUpload", None, self.s3.upload_part, Bucket="abort",
                           Key="tmp/old", UploadId=old, PartNumber=2, Body=b"late")
        # The fresh upload still completes.
        etag = self.s3.upload_part(Bucket="abort", Key="tmp/new", UploadId=fresh, PartNumber=2,
                                   Body=b"tail")["ETag"]
        parts = self.s3.list_parts(Bucket="abort", Key="tmp/new", UploadId=fresh)["Parts"]
        self.s3.complete_multipart_upload(
            Bucket="abort", Key="tmp/new", UploadId=fresh,
            MultipartUpload={"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]}
                                       for p in parts]})
        self.assertIn(etag, [p["ETag"] for p in parts])
        self.assertEqual(self.s3.head_object(Bucket="abort", Key="tmp/new")["ContentLength"],
                         5 * MIB + 4)

    def test_a_disabled_abort_rule_does_nothing(self):
        self.make_bucket("abort-off")
        self.set_rules("abort-off", {"ID": "off", "Filter": {}, "Status": "Disabled",
                                     "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}})
        upload = self.start_upload("abort-off", "k")
        self.advance_to(self.now() + 3 * DAY)  # within the 7 days before the reaper takes it
        self.assertEqual(self.uploads("abort-off"), [("k", upload)])


# --- x-amz-expiration ---------------------------------------------------------------------------

class ExpirationHeaderTest(LifecycleTestCase):
    """No clock moves in this class: expected dates come from LastModified."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3.create_bucket(Bucket="hdr")
        cls.date = midnight_after(cls.server.clock_now()) + 10 * DAY
        rule = {"Status": "Enabled"}
        cls.s3.put_bucket_lifecycle_configuration(Bucket="hdr", LifecycleConfiguration={"Rules": [
            dict(rule, ID="long", Filter={"Prefix": "a/"}, Expiration={"Days": 30}),
            dict(rule, ID="short rule", Filter={"Prefix": "a/s/"}, Expiration={"Days": 5}),
            dict(rule, ID="tie-first", Filter={"Prefix": "t/"}, Expiration={"Days": 10}),
            dict(rule, ID="tie-second", Filter={"Prefix": "t/"}, Expiration={"Days": 10}),
            dict(rule, ID="on-date", Filter={"Prefix": "d/"},
                 Expiration={"Date": utc(cls.date)}),
            dict(rule, ID="markers-only", Filter={"Prefix": "m/"},
                 Expiration={"ExpiredObjectDeleteMarker": True}),
            dict(rule, ID="noncurrent-only", Filter={"Prefix": "n/"},
                 NoncurrentVersionExpiration={"NoncurrentDays": 1}),
            dict(rule, ID="off", Filter={"Prefix": "off/"}, Expiration={"Days": 1},
                 Status="Disabled"),
            dict(rule, ID="big", Filter={"And": {"Prefix": "z/", "ObjectSizeGreaterThan": 1000}},
                 Expiration={"Days": 3}),
            dict(rule, ID="tagged", Filter={"Tag": {"Key": "env", "Value": "tmp"}},
                 Expiration={"Days": 2}),
        ]})

    def assertExpiry(self, response, created, days=None, rule_id=None, date=None):
        """x-amz-expiration names `rule_id` and LastModified + `days` rounded up to midnight
        (or exactly `date`); with neither, no such header."""
        got = self.expiration_of(response)
        if rule_id is None:
            self.assertIsNone(got, headers_of(response))
            return
        self.assertIsNotNone(got, headers_of(response))
        at, got_rule = got
        self.assertEqual(got_rule, rule_id)
        self.assertEqual(at % DAY, 0, http_date(at))
        if date is not None:
            self.assertEqual(at, date)
        else:
            # LastModified drops the milliseconds of the creation time.
            self.assertIn(at, (midnight_after(created + days * DAY),
                               midnight_after(created + 1 + days * DAY)), http_date(at))

    def test_put_head_and_get_name_the_earliest_matching_rule(self):
        cases = [  # key, size, tagging, (days, rule id) or ("date", rule id) or None
            ("a/x", 10, None, (30, "long")),
            ("a/s/x", 10, None, (5, "short%20rule")),  # earliest wins, not document order
            ("t/x", 10, None, (10, "tie-first")),      # a tie: the first rule in the document
            ("d/x", 10, None, ("date", "on-date")),
            ("m/x", 10, None, None),
            ("n/x", 10, None, None),
            ("off/x", 10, None, None),
            ("z/small", 1000, None, None),
            ("z/big", 1001, None, (3, "big")),
            ("g/tmp", 10, "env=tmp", (2, "tagged")),
            ("g/prod", 10, "env=prod", None),
            ("none/x", 10, None, None),
        ]
        for key, size, tagging, expected in cases:
            with self.subTest(key=key):
                kwargs = {"Tagging": tagging} if tagging else {}
                put = self.s3.put_object(Bucket="hdr", Key=key, Body=b"h" * size, **kwargs)
                head = self.s3.head_object(Bucket="hdr", Key=key)
                get = self.s3.get_object(Bucket="hdr", Key=key)
                get["Body"].read()
                created = head["LastModified"].timestamp()
                for name, response in (("PUT", put), ("HEAD", head), ("GET", get)):
                    with self.subTest(response=name):
                        if expected is None:
                            self.assertExpiry(response, created)
                        elif expected[0] == "date":
                            self.assertExpiry(response, created, rule_id=expected[1],
                                              date=self.date)
                        else:
                            self.assertExpiry(response, created, days=expected[0],
                                              rule_id=expected[1])

    def test_a_read_by_version_id_has_no_header(self):
        self.put("hdr", "a/by-id")
        head = self.s3.head_object(Bucket="hdr", Key="a/by-id")
        self.assertIsNotNone(self.expiration_of(head))
        self.assertExpiry(self.s3.head_object(Bucket="hdr", Key="a/by-id", VersionId="null"),
                          None)
        self.make_bucket("hdr-versioned", versioned=True)
        self.set_rules("hdr-versioned", {"ID": "week", "Filter": {}, "Status": "Enabled",
                                         "Expiration": {"Days": 7}})
        v1 = self.put("hdr-versioned", "k", b"one")
        v2 = self.put("hdr-versioned", "k", b"two")
        head = self.s3.head_object(Bucket="hdr-versioned", Key="k")
        self.assertExpiry(head, head["LastModified"].timestamp(), days=7, rule_id="week")
        for version_id in (v2, v1):  # the current version by id, and a noncurrent one
            with self.subTest(version_id=version_id):
                self.assertExpiry(self.s3.head_object(Bucket="hdr-versioned", Key="k",
                                                      VersionId=version_id), None)
                self.assertExpiry(self.s3.get_object(Bucket="hdr-versioned", Key="k",
                                                     VersionId=version_id), None)

    def test_objects_older_than_the_rule_get_the_header_too(self):
        self.make_bucket("hdr-older")
        self.put("hdr-older", "k")
        self.assertExpiry(self.s3.head_object(Bucket="hdr-older", Key="k"), None)
        self.set_rules("hdr-older", {"ID": "later", "Filter": {}, "Status": "Enabled",
                                     "Expiration": {"Days": 4}})
        head = self.s3.head_object(Bucket="hdr-older", Key="k")
        self.assertExpiry(head, head["LastModified"].timestamp(), days=4, rule_id="later")
        self.s3.delete_bucket_lifecycle(Bucket="hdr-older")
        self.assertExpiry(self.s3.head_object(Bucket="hdr-older", Key="k"), None)

    def test_copy_object_carries_the_header(self):
        # Reference §3.2: PUT, CopyObject and CompleteMultipartUpload responses carry it.
        self.put("hdr", "a/source")
        copy = self.s3.copy_object(Bucket="hdr", Key="a/copy",
                                   CopySource={"Bucket": "hdr", "Key": "a/source"})
        created = self.s3.head_object(Bucket="hdr", Key="a/copy")["LastModified"].timestamp()
        self.assertExpiry(copy, created, days=30, rule_id="long")

    def test_complete_multipart_upload_carries_the_header(self):
        upload = self.s3.create_multipart_upload(Bucket="hdr", Key="a/mpu")["UploadId"]
        etag = self.s3.upload_part(Bucket="hdr", Key="a/mpu", UploadId=upload, PartNumber=1,
                                   Body=b"only part")["ETag"]
        done = self.s3.complete_multipart_upload(
            Bucket="hdr", Key="a/mpu", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        created = self.s3.head_object(Bucket="hdr", Key="a/mpu")["LastModified"].timestamp()
        self.assertExpiry(done, created, days=30, rule_id="long")


# --- the demo, with the aws CLI -------------------------------------------------------------------

class LifecycleCliDemoTest(LifecycleTestCase):

    def test_noncurrent_versions_expire_and_a_stale_upload_is_aborted_when_the_clock_moves(self):
        aws = self.server.aws
        self.assertCliOk(aws("s3api", "create-bucket", "--bucket", "demo"))
        self.assertCliOk(aws("s3api", "put-bucket-versioning", "--bucket", "demo",
                             "--versioning-configuration", "Status=Enabled"))
        # (An empty Filter's echo is pinned by LifecycleConfigurationTest.)
        rules = {"Rules": [{"ID": "tidy", "Filter": {"Prefix": ""}, "Status": "Enabled",
                            "NoncurrentVersionExpiration": {"NoncurrentDays": 1},
                            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]}
        config = os.path.join(self.server.tmp_dir, "lifecycle.json")
        with open(config, "w") as f:
            json.dump(rules, f)
        self.assertCliOk(aws("s3api", "put-bucket-lifecycle-configuration", "--bucket", "demo",
                             "--lifecycle-configuration", f"file://{config}"))
        got = self.assertCliOk(aws("s3api", "get-bucket-lifecycle-configuration",
                                   "--bucket", "demo"))
        self.assertEqual(got["Rules"], rules["Rules"])
        body = os.path.join(self.server.tmp_dir, "body.txt")
        ids = []
        for n in range(3):
            with open(body, "w") as f:
                f.write(f"report, draft {n}")
            out = self.assertCliOk(aws("s3api", "put-object", "--bucket", "demo",
                                       "--key", "report.txt", "--body", body))
            ids.append(out["VersionId"])
        upload = self.assertCliOk(aws("s3api", "create-multipart-upload", "--bucket", "demo",
                                      "--key", "big.bin"))["UploadId"]
        listed = self.assertCliOk(aws("s3api", "list-object-versions", "--bucket", "demo"))
        self.assertEqual(len(listed["Versions"]), 3)

        self.server.advance_clock(3 * DAY)
        listed = self.assertCliOk(aws("s3api", "list-object-versions", "--bucket", "demo"))
        self.assertEqual([(v["VersionId"], v["IsLatest"]) for v in listed["Versions"]],
                         [(ids[-1], True)])
        uploads = self.assertCliOk(aws("s3api", "list-multipart-uploads", "--bucket", "demo"))
        self.assertEqual((uploads or {}).get("Uploads", []), [])
        self.assertCliError(aws("s3api", "upload-part", "--bucket", "demo", "--key", "big.bin",
                                "--upload-id", upload, "--part-number", "1", "--body", body),
                            "NoSuchUpload")


# --- garbage of expired data ----------------------------------------------------------------------

class LifecycleGarbageTest(LifecycleTestCase):
    """Blob files of what lifecycle removes go after the grace time; hidden versions keep theirs."""

    def blob_files(self):
        return {os.path.basename(p) for p in
                glob.glob(os.path.join(self.server.data_dir, "blobs", "objects", "*", "*"))}

    def put_tracked(self, bucket, key, body):
        """PutObject; returns (version id, the one blob file the write added)."""
        before = self.blob_files()
        version_id = self.put(bucket, key, body)
        added = self.blob_files() - before
        self.assertEqual(len(added), 1, added)
        return version_id, added.pop()

    def test_blobs_of_expired_objects_and_versions_are_collected(self):
        self.make_bucket("gc-plain")
        self.set_rules("gc-plain", {"ID": "r", "Filter": {"Prefix": "e/"}, "Status": "Enabled",
                                    "Expiration": {"Days": 1}})
        _, expired = self.put_tracked("gc-plain", "e/k", os.urandom(100 * KIB))
        _, kept = self.put_tracked("gc-plain", "k/k", os.urandom(100 * KIB))

        self.make_bucket("gc-versioned", versioned=True)
        self.set_rules("gc-versioned",
                       {"ID": "nc", "Filter": {"Prefix": "nc/"}, "Status": "Enabled",
                        "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
                       {"ID": "cur", "Filter": {"Prefix": "cur/"}, "Status": "Enabled",
                        "Expiration": {"Days": 1}})
        _, old = self.put_tracked("gc-versioned", "nc/k", os.urandom(100 * KIB))
        newest, new = self.put_tracked("gc-versioned", "nc/k", os.urandom(100 * KIB))
        hidden, behind_marker = self.put_tracked("gc-versioned", "cur/k", os.urandom(100 * KIB))

        self.advance_to(self.now() + 3 * DAY)
        self.server.advance_clock(GRACE_CROSSING_SECONDS)
        files = self.blob_files()
        self.assertNotIn(expired, files)
        self.assertNotIn(old, files)
        self.assertLessEqual({kept, new, behind_marker}, files)
        self.assertEqual(self.keys("gc-plain"), ["k/k"])
        self.assertEqual(self.version_ids("gc-versioned", "nc/k"), {newest})
        got = self.s3.get_object(Bucket="gc-versioned", Key="cur/k", VersionId=hidden)
        self.assertEqual(len(got["Body"].read()), 100 * KIB)
        self.assertEqual(self.server.documents("s3.garbage"), [])


if __name__ == "__main__":
    unittest.main()
