"""Metrics and request logs end to end (issue 9, "Metrics and logs"; docs/audit.md §Metrics).

The real server with `--request-log -` (JSON lines on standard error, which the harness keeps in
server.log) is driven with boto3; its operator listener is scraped over HTTP (GET /metrics,
Prometheus text format) and every figure is checked against what the test itself did:

  * requests by service, operation and status, request bytes and latency histograms;
  * KMS calls by caller: direct, and S3's on a caller's behalf — with and without a Bucket Key,
    so the Bucket Key's effect shows as a difference in hangar_kms_calls_total{caller="s3"};
  * the audit trail's records, batches, write latency and queue depth; open connections;
  * a request log line per request, carrying the request id of the response and of the audit
    record (LookupEvents), and no secret: the test first finds its marker where it must be (the
    audit record of a failed request names the key alias it planted), then not in the log;
  * /metrics is served on the operator listener only.

A server answers only once a request's record is written, and counts the request right after its
response's last byte: a scrape that follows a response can trail it by that instant, so counts
are read by polling the scrape until they match or a deadline passes (no fixed sleeps).
"""

import http.client
import json
import re
import socket
import time
import unittest

import botocore.exceptions

from harness import HangarTestCase

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
POLL_SECONDS = 10


def parse_prometheus(text):
    """{(name, frozenset(labels)): value} from Prometheus' text format; raises on a bad line."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError(f"not a Prometheus sample line: {line!r}")
        labels = frozenset(LABEL.findall(m.group(2) or ""))
        samples[(m.group(1), labels)] = float(m.group(3))
    return samples


class MetricsTest(HangarTestCase):
    server_options = {"extra_args": ["--request-log", "-"]}

    # --- helpers ---------------------------------------------------------------------------------

    def scrape_text(self, port=None):
        conn = http.client.HTTPConnection("127.0.0.1", port or self.server.admin_port, timeout=30)
        try:
            conn.request("GET", "/metrics")
            resp = conn.getresponse()
            return resp.status, resp.getheader("Content-Type"), resp.read().decode()
        finally:
            conn.close()

    def scrape(self):
        status, _, text = self.scrape_text()
        self.assertEqual(status, 200)
        return parse_prometheus(text)

    @staticmethod
    def value(samples, name, **labels):
        return samples.get((name, frozenset(labels.items())), 0.0)

    def wait_for(self, predicate, what):
        """Scrapes until predicate(samples) holds; fails naming `what` after POLL_SECONDS."""
        deadline = time.monotonic() + POLL_SECONDS
        while True:
            samples = self.scrape()
            if predicate(samples):
                return samples
            if time.monotonic() > deadline:
                self.fail(f"{what}: not seen within {POLL_SECONDS} s")

    def log_lines(self):
        with open(self.server.log_path, encoding="utf-8", errors="replace") as f:
            return [json.loads(line) for line in f if line.startswith("{\"time\"")]

    # --- tests -----------------------------------------------------------------------------------

    def test_requests_are_counted_by_service_operation_and_status(self):
        kms = self.server.client("kms")
        before = self.scrape()
        key_id = kms.create_key(Description="metrics")["KeyMetadata"]["KeyId"]
        for _ in range(3):
            kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
        with self.assertRaises(botocore.exceptions.ClientError):
            kms.describe_key(KeyId="alias/metrics-no-such-alias")
        ok = dict(service="kms", operation="GenerateDataKey", status="200")
        missing = dict(service="kms", operation="DescribeKey", status="400")
        after = self.wait_for(
            lambda s: self.value(s, "hangar_requests_total", **ok) -
            self.value(before, "hangar_requests_total", **ok) == 3 and
            self.value(s, "hangar_requests_total", **missing) -
            self.value(before, "hangar_requests_total", **missing) == 1,
            "three GenerateDataKey 200 and one DescribeKey 400")
        # The latency histogram counted the same three, within its +Inf bucket, with a sum.
        op = dict(service="kms", operation="GenerateDataKey")
        count = self.value(after, "hangar_request_duration_seconds_count", **op)
        self.assertEqual(count - self.value(before, "hangar_request_duration_seconds_count", **op),
                         3)
        self.assertEqual(self.value(after, "hangar_request_duration_seconds_bucket", le="+Inf",
                                    **op), count)
        self.assertGreater(self.value(after, "hangar_request_duration_seconds_sum", **op), 0)
        # Direct KMS calls are counted as such.
        direct = dict(caller="direct", operation="GenerateDataKey")
        self.assertEqual(self.value(after, "hangar_kms_calls_total", **direct) -
                         self.value(before, "hangar_kms_calls_total", **direct), 3)

    def test_bucket_key_effect_shows_in_kms_calls_made_by_s3(self):
        server = self.server
        key_arn = server.client("kms").create_key(Description="bucket key")["KeyMetadata"]["Arn"]
        s3 = server.s3_client()
        objects = 6
        calls = {}
        for bucket, bucket_key in (("metrics-per-object", False), ("metrics-bucket-key", True)):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                       "KMSMasterKeyID": key_arn},
                "BucketKeyEnabled": bucket_key}]})
            before = self.scrape()
            for i in range(objects):
                s3.put_object(Bucket=bucket, Key=f"o{i}", Body=b"x" * 100)
            after = self.scrape()  # S3's KMS calls are counted before the PUT is answered
            label = dict(caller="s3", operation="GenerateDataKey")
            calls[bucket] = (self.value(after, "hangar_kms_calls_total", **label) -
                             self.value(before, "hangar_kms_calls_total", **label))
        self.assertEqual(calls["metrics-per-object"], objects, calls)
        self.assertEqual(calls["metrics-bucket-key"], 1, calls)

    def test_bytes_in_and_out_are_counted_per_service(self):
        s3 = self.server.s3_client()
        s3.create_bucket(Bucket="metrics-bytes")
        before = self.scrape()
        body = b"b" * 50_000
        s3.put_object(Bucket="metrics-bytes", Key="blob", Body=body)
        self.assertEqual(s3.get_object(Bucket="metrics-bytes", Key="blob")["Body"].read(), body)
        self.wait_for(
            lambda s: self.value(s, "hangar_received_bytes_total", service="s3") -
            self.value(before, "hangar_received_bytes_total", service="s3") >= len(body) and
            self.value(s, "hangar_sent_bytes_total", service="s3") -
            self.value(before, "hangar_sent_bytes_total", service="s3") >= len(body),
            "the object's bytes in and out")

    def test_audit_trail_figures(self):
        kms = self.server.client("kms")
        before = self.scrape()
        kms.list_keys()
        # The record of that request was written and synced before its response left.
        after = self.scrape()
        written = dict(outcome="written")
        self.assertGreaterEqual(self.value(after, "hangar_audit_records_total") -
                                self.value(before, "hangar_audit_records_total"), 1)
        self.assertGreaterEqual(self.value(after, "hangar_audit_batches_total", **written) -
                                self.value(before, "hangar_audit_batches_total", **written), 1)
        self.assertEqual(self.value(after, "hangar_audit_batches_total", outcome="failed"), 0)
        self.assertGreater(self.value(after, "hangar_audit_write_seconds_count"), 0)
        self.assertIn(("hangar_audit_queue_depth", frozenset()), after)

    def test_open_connections_gauge_follows_clients(self):
        baseline = self.value(self.scrape(), "hangar_open_connections")
        sockets = [socket.create_connection(("127.0.0.1", self.server.port)) for _ in range(5)]
        try:
            self.wait_for(lambda s: self.value(s, "hangar_open_connections") >= baseline + 5,
                          "five more open connections")
        finally:
            for sock in sockets:
                sock.close()
        self.wait_for(lambda s: self.value(s, "hangar_open_connections") <= baseline,
                      "the five connections gone")

    def test_a_log_line_per_request_with_the_audit_records_request_id(self):
        kms = self.server.client("kms")
        marker = "alias/metrics-log-marker-7f3a"
        response = {}
        try:
            kms.encrypt(KeyId=marker, Plaintext=b"log-plaintext-marker-91c2")
        except botocore.exceptions.ClientError as e:
            response = e.response
        request_id = response["ResponseMetadata"]["RequestId"]
        self.assertTrue(request_id)
        # The audit record carries the same request id.
        events = self.server.client("cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "Encrypt"}])
        records = [json.loads(e["CloudTrailEvent"]) for e in events["Events"]]
        mine = [r for r in records if r.get("requestID") == request_id]
        self.assertEqual(len(mine), 1, records)
        # Where the marker must be found: the audit record names the alias the request used.
        self.assertIn(marker, json.dumps(mine[0]))
        deadline = time.monotonic() + POLL_SECONDS
        while True:
            lines = [line for line in self.log_lines() if line.get("requestId") == request_id]
            if lines or time.monotonic() > deadline:
                break
        self.assertEqual(len(lines), 1, "one request log line for the request")
        line = lines[0]
        self.assertEqual((line["service"], line["operation"], line["status"], line["errorCode"]),
                         ("kms", "Encrypt", 400, "NotFoundException"))
        self.assertEqual(line["principal"], f"arn:aws:iam::{self.server.account_id}:root")
        self.assertGreater(line["durationMs"], 0)
        self.assertGreater(line["bytesIn"], 0)
        # Nothing of the request's body reaches the log: neither the alias nor the plaintext
        # (base64 on the wire), nor the secret access key.
        with open(self.server.log_path, "rb") as f:
            log = f.read()
        for secret in (marker.encode(), b"bG9nLXBsYWludGV4dC1tYXJrZXItOTFjMg",
                       self.server.secret_access_key.encode()):
            self.assertNotIn(secret, log)

    def test_metrics_only_on_the_operator_listener(self):
        status, content_type, text = self.scrape_text()
        self.assertEqual(status, 200)
        self.assertTrue(content_type.startswith("text/plain; version=0.0.4"), content_type)
        self.assertIn("# TYPE hangar_requests_total counter", text)
        self.assertIn("# TYPE hangar_request_duration_seconds histogram", text)
        public_status, _, public_text = self.scrape_text(port=self.server.port)
        self.assertNotEqual(public_status, 200)
        self.assertNotIn("hangar_requests_total", public_text)


if __name__ == "__main__":
    unittest.main()
