"""Cluster mode through a PostgreSQL outage, on a PostgreSQL of the test's own.

Runs as `e2e-cluster.cluster_outage` (tests/CMakeLists.txt): the Ceph of the `ceph` fixture, but a
PostgreSQL started here with scripts/postgres.sh, since the test takes it down (`down`) and brings
it back (`up`) and the other cluster suites share the fixture's. Under load from two clients (S3
PUTs and KMS round trips): while the database is away, requests fail with 503 (KMS: 500
KMSInternalException, as AWS KMS answers an internal failure) and nothing else; once it is back,
the same node process serves again without a restart; every write acknowledged before, during or
after the outage reads back whole.
"""

import base64
import os
import subprocess
import tempfile
import threading
import time
import unittest

import botocore.exceptions

from harness import HangarServer, _ClusterPlaces, cluster_mode

POSTGRES_SH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts",
                           "postgres.sh")
RECOVERY_SECONDS = 60


def postgres(command, directory):
    done = subprocess.run(["bash", POSTGRES_SH, command], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HANGAR_POSTGRES_DIR": directory})
    if done.returncode != 0:
        raise AssertionError(f"postgres.sh {command}: {done.stderr}")
    return done.stdout.strip()


def status_of(error):
    return error.response["ResponseMetadata"]["HTTPStatusCode"]


class PostgresOutageTest(unittest.TestCase):
    def setUp(self):
        if not cluster_mode():
            raise AssertionError("needs HANGAR_E2E_RADOS_CONF (ctest -R e2e-cluster starts Ceph)")
        self.pg_dir = tempfile.mkdtemp(prefix="hangar-pg-outage-")
        os.chmod(self.pg_dir, 0o755)  # scripts/postgres.sh runs the server as `postgres`
        self.addCleanup(postgres, "stop", os.path.join(self.pg_dir, "pg"))
        uri = postgres("start", os.path.join(self.pg_dir, "pg"))
        pool = "hangar-outage-" + os.urandom(4).hex()
        conf = os.environ["HANGAR_E2E_RADOS_CONF"]
        client = os.environ.get("HANGAR_E2E_RADOS_ID", "admin")
        places = _ClusterPlaces(uri, f"rados://{pool}?conf={conf}&id={client}",
                                base64.b64encode(os.urandom(32)).decode())
        self.node = HangarServer(cluster=places)
        self.addCleanup(self.node.close)
        self.node.start()

    def test_requests_fail_with_503_while_the_database_is_away_and_recover_without_a_restart(self):
        s3, kms = self.node.s3_client(), self.node.client("kms")
        s3.create_bucket(Bucket="outage")
        key = kms.create_key(Description="outage")["KeyMetadata"]["KeyId"]
        pid = self.node.pid

        acknowledged, failures, lock = {}, [], threading.Lock()
        stop, warmed = threading.Event(), threading.Event()

        def put_load():
            client, n = self.node.s3_client(), 0
            while not stop.is_set():
                n += 1
                name, body = f"k{n}", os.urandom(64 + n % 4096)
                try:
                    client.put_object(Bucket="outage", Key=name, Body=body)
                    with lock:
                        acknowledged[name] = body
                        if len(acknowledged) >= 20:
                            warmed.set()
                except botocore.exceptions.ClientError as e:
                    failures.append((status_of(e), e.response["Error"]["Code"]))

        def kms_load():
            client = self.node.client("kms")
            while not stop.is_set():
                try:
                    blob = client.encrypt(KeyId=key, Plaintext=b"x")["CiphertextBlob"]
                    client.decrypt(CiphertextBlob=blob)
                except botocore.exceptions.ClientError as e:
                    failures.append((status_of(e), e.response["Error"]["Code"]))

        threads = [threading.Thread(target=put_load), threading.Thread(target=kms_load)]
        for t in threads:
            t.start()
        try:
            self.assertTrue(warmed.wait(120), "the load never got going")
            postgres("down", os.path.join(self.pg_dir, "pg"))
            # While the database is away: refused, as AWS refuses when it cannot serve.
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                s3.put_object(Bucket="outage", Key="during", Body=b"refused")
            self.assertEqual((status_of(cm.exception), cm.exception.response["Error"]["Code"]),
                             (503, "ServiceUnavailable"))
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                kms.describe_key(KeyId=key)
            self.assertEqual((status_of(cm.exception), cm.exception.response["Error"]["Code"]),
                             (500, "KMSInternalException"))
            postgres("up", os.path.join(self.pg_dir, "pg"))
            # The node reconnects by itself: wait (bounded) for the first success.
            deadline = time.monotonic() + RECOVERY_SECONDS
            while True:
                try:
                    s3.put_object(Bucket="outage", Key="after", Body=b"served again")
                    break
                except botocore.exceptions.ClientError as e:
                    self.assertIn(status_of(e), (500, 503))
                    self.assertLess(time.monotonic(), deadline, "the node did not recover")
                    time.sleep(0.2)
            with lock:
                before = len(acknowledged)
            deadline = time.monotonic() + RECOVERY_SECONDS
            while True:  # the load goes on past the outage too
                with lock:
                    if len(acknowledged) >= before + 20:
                        break
                self.assertLess(time.monotonic(), deadline, "the load did not resume")
                time.sleep(0.1)
        finally:
            stop.set()
            for t in threads:
                t.join()

        self.assertEqual(self.node.pid, pid, "the node must recover without a restart")
        self.assertTrue(self.node.running)
        unexpected = [f for f in failures
                      if f not in ((503, "ServiceUnavailable"), (500, "KMSInternalException"),
                                   (500, "InternalError"))]
        self.assertEqual(unexpected, [])
        self.assertEqual(s3.get_object(Bucket="outage", Key="after")["Body"].read(), b"served again")
        for name, body in acknowledged.items():
            self.assertEqual(s3.get_object(Bucket="outage", Key=name)["Body"].read(), body, name)


if __name__ == "__main__":
    unittest.main()
