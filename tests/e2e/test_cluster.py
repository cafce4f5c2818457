"""Cluster mode: Hangar nodes on one PostgreSQL database (--metadata) and one Ceph pool (--blobs).

Runs only as `e2e-cluster.cluster` (tests/CMakeLists.txt), after scripts/postgres.sh and
scripts/ceph.sh started the two; without them (HANGAR_E2E_POSTGRES_URI, HANGAR_E2E_RADOS_CONF) it
fails and says so. Covered: two nodes with one root key serve the same keys, identities and objects,
whichever node wrote them; a change that returned on one node (a key disabled, a policy, an access
key deactivated, a bucket policy) is obeyed by the next request on the other; an object
acknowledged by a node killed with -9 is read whole from the other; time-driven work (key
destruction) run by three nodes at once is done once, and goes on through a survivor when a node is
killed; a multipart upload whose node is killed with -9 goes on through the others with the same
upload id, while KMS calls on them keep succeeding; the dev clock moved through each node adds up
on all; the harness's HAProxy front spreads one client's requests over all three nodes; a node with another root key, or none named, refuses to start; `hangar admin` on a node's
data directory without --metadata refuses instead of starting an empty store there; neither the
database nor the pool holds an object's plaintext (after proving the search finds a marker that is
stored in the clear: a tag value); the detections count a burst of refusals or deletions whose
requests were spread over the nodes; a retention period cuts old ledger entries with their
digests, and what remains verifies; bucket settings, grants and user tags written at once through
every node all land.
"""

import base64
import json
import os
import subprocess
import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

import botocore.exceptions

from harness import HANGAR_BIN, HangarServer, _ClusterPlaces, cluster_mode

MARKER = b"cluster-plaintext-marker-0b7e5c"
DAY = 24 * 3600


def hangar_audit(node, command, *extra):
    """`hangar audit verify|export --metadata` against `node`'s cluster (its root key)."""
    return subprocess.run([HANGAR_BIN, "audit", command, "--metadata", node.cluster.metadata_uri,
                           *extra], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HANGAR_ROOT_KEY": node.cluster.root_key})


def ledger_records(node):
    """Every record of the cluster's audit ledger (`hangar audit export --metadata`)."""
    done = hangar_audit(node, "export")
    if done.returncode != 0:
        raise AssertionError(done.stderr)
    return [json.loads(line) for line in done.stdout.splitlines() if line]


def require_cluster():
    if not cluster_mode():
        raise AssertionError("cluster mode needs HANGAR_E2E_POSTGRES_URI and HANGAR_E2E_RADOS_CONF "
                             "(ctest -R e2e-cluster starts scripts/postgres.sh and scripts/ceph.sh)")


class ClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        require_cluster()
        cls.a = HangarServer(cluster=_ClusterPlaces.make())  # one node, reached directly
        cls.addClassCleanup(cls.a.close)
        cls.a.start()
        cls.b = HangarServer(cluster=cls.a.cluster)  # the same database, pool and root key
        cls.addClassCleanup(cls.b.close)
        cls.b.start()
        cls.c = HangarServer(cluster=cls.a.cluster)
        cls.addClassCleanup(cls.c.close)
        cls.c.start()

    def test_two_nodes_serve_the_same_keys_identities_and_objects(self):
        key = self.a.client("kms").create_key(Description="made on node a")["KeyMetadata"]
        blob = self.b.client("kms").encrypt(KeyId=key["Arn"], Plaintext=b"from b")["CiphertextBlob"]
        self.assertEqual(self.a.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"], b"from b")

        self.b.client("iam").create_user(UserName="operator")
        self.assertIn("operator", [u["UserName"] for u in self.a.client("iam").list_users()["Users"]])

        s3a, s3b = self.a.s3_client(), self.b.s3_client()
        s3a.create_bucket(Bucket="shared-bucket")
        s3a.put_bucket_encryption(Bucket="shared-bucket", ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {
                "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}, "BucketKeyEnabled": True}]})
        body = os.urandom(9 * 1024 * 1024 + 17)  # above the 4 MiB stripe: several RADOS objects
        s3b.put_object(Bucket="shared-bucket", Key="big.bin", Body=body)
        got = s3a.get_object(Bucket="shared-bucket", Key="big.bin")
        self.assertEqual(got["Body"].read(), body)
        self.assertEqual(got["ServerSideEncryption"], "aws:kms")
        self.assertEqual(got["SSEKMSKeyId"], key["Arn"])

    def test_a_change_returned_on_one_node_is_obeyed_by_the_next_request_on_the_other(self):
        ka, kb = self.a.client("kms"), self.b.client("kms")
        key = ka.create_key(Description="coherence")["KeyMetadata"]["KeyId"]
        kb.encrypt(KeyId=key, Plaintext=b"cached on b")  # b now holds the key in its cache
        ka.disable_key(KeyId=key)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            kb.encrypt(KeyId=key, Plaintext=b"x")
        self.assertEqual(cm.exception.response["Error"]["Code"], "DisabledException")
        ka.enable_key(KeyId=key)
        kb.encrypt(KeyId=key, Plaintext=b"enabled again")

        iam = self.a.client("iam")
        iam.create_user(UserName="coherent")
        iam.put_user_policy(UserName="coherent", PolicyName="kms", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "kms:DescribeKey", "Resource": "*"}]}))
        access = iam.create_access_key(UserName="coherent")["AccessKey"]
        as_user = self.b.client("kms", access_key_id=access["AccessKeyId"],
                                secret_access_key=access["SecretAccessKey"])
        as_user.describe_key(KeyId=key)  # b caches the access key and the user's policies
        iam.put_user_policy(UserName="coherent", PolicyName="deny", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "kms:DescribeKey", "Resource": "*"}]}))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            as_user.describe_key(KeyId=key)
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        iam.update_access_key(UserName="coherent", AccessKeyId=access["AccessKeyId"],
                              Status="Inactive")
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            as_user.describe_key(KeyId=key)
        self.assertEqual(cm.exception.response["Error"]["Code"], "UnrecognizedClientException")

        s3a, s3b = self.a.s3_client(), self.b.s3_client()
        s3a.create_bucket(Bucket="coherent-bucket")
        s3a.put_object(Bucket="coherent-bucket", Key="k", Body=b"v")
        self.assertEqual(s3b.get_object(Bucket="coherent-bucket", Key="k")["Body"].read(), b"v")
        s3a.put_bucket_policy(Bucket="coherent-bucket", Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::coherent-bucket/*"}]}))
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            s3b.get_object(Bucket="coherent-bucket", Key="k")
        self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDenied")

    def test_an_object_acknowledged_by_a_killed_node_is_read_from_the_other(self):
        s3a = self.a.s3_client()
        s3a.create_bucket(Bucket="durable-bucket")
        bodies = {f"k{i}": os.urandom(64 * 1024 + i) for i in range(8)}
        for name, data in bodies.items():
            s3a.put_object(Bucket="durable-bucket", Key=name, Body=data)
        self.a.crash_restart()  # kill -9 after every PUT was acknowledged, then start again
        s3b = self.b.s3_client()
        for name, data in bodies.items():
            self.assertEqual(s3b.get_object(Bucket="durable-bucket", Key=name)["Body"].read(), data)

    def test_time_driven_work_is_done_once_whichever_nodes_run_it(self):
        nodes = [self.a, self.b, self.c]
        ka = self.a.client("kms")
        keys = [ka.create_key(Description=f"doomed {i}")["KeyMetadata"]["Arn"] for i in range(4)]
        for key in keys:
            ka.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        before = [node.clock_now() for node in nodes]
        # Every node moves the shared clock and runs the work due at once; past the 7-day window
        # whichever run comes first destroys the keys, and the others must find nothing left.
        started = time.time()
        with ThreadPoolExecutor(len(nodes)) as pool:
            list(pool.map(lambda node: node.advance_clock(4 * DAY), nodes))
        elapsed = time.time() - started
        for node, was in zip(nodes, before):
            moved = node.clock_now() - was
            self.assertGreaterEqual(moved, 12 * DAY, "no advance may undo another node's")
            self.assertLess(moved, 12 * DAY + elapsed + 60)
        for node in nodes:
            for key in keys:
                with self.assertRaises(botocore.exceptions.ClientError) as cm:
                    node.client("kms").describe_key(KeyId=key)
                self.assertEqual(cm.exception.response["Error"]["Code"], "NotFoundException")
        destroyed = [r["responseElements"]["keyId"] for r in ledger_records(self.a)
                     if r["eventName"] == "DeleteKey" and r["eventType"] == "AwsServiceEvent"
                     and r["responseElements"]["keyId"] in keys]
        self.assertEqual(sorted(destroyed), sorted(keys), "each key destroyed exactly once")

    def test_time_driven_work_goes_on_through_a_survivor_when_a_node_is_killed(self):
        doomed = HangarServer(cluster=self.a.cluster)
        self.addCleanup(doomed.close)
        doomed.start()
        key = doomed.client("kms").create_key()["KeyMetadata"]["Arn"]
        doomed.client("kms").schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        doomed.kill()
        self.b.advance_clock(8 * DAY)
        with self.assertRaises(botocore.exceptions.ClientError) as cm:
            self.c.client("kms").describe_key(KeyId=key)
        self.assertEqual(cm.exception.response["Error"]["Code"], "NotFoundException")

    def test_the_harness_spreads_one_clients_requests_over_every_node(self):
        # What every e2e-cluster.* suite runs on: HangarServer() in cluster mode is three nodes
        # behind HAProxy. One boto3 client keeps one connection; its requests must still reach
        # every node, and what one node wrote be read through the others.
        front = HangarServer()
        self.addCleanup(front.close)
        front.start()
        nodes = [front] + front.peers
        self.assertEqual(len(nodes), 3)
        kms = front.client("kms")
        key = kms.create_key(Description="spread")["KeyMetadata"]["KeyId"]
        for _ in range(12):
            kms.describe_key(KeyId=key)
        served = [node.metrics()["kms_calls"].get("DescribeKey", 0) for node in nodes]
        self.assertEqual(sum(served), 12)
        self.assertTrue(all(count > 0 for count in served), served)

    def test_a_multipart_upload_goes_on_through_other_nodes_when_its_node_is_killed(self):
        doomed = HangarServer(cluster=self.a.cluster)
        self.addCleanup(doomed.close)
        doomed.start()
        key = doomed.client("kms").create_key(Description="uploads")["KeyMetadata"]["Arn"]
        s3d = doomed.s3_client()
        s3d.create_bucket(Bucket="survivor-uploads")
        upload = s3d.create_multipart_upload(Bucket="survivor-uploads", Key="big",
                                             ServerSideEncryption="aws:kms", SSEKMSKeyId=key)
        first = os.urandom(5 * 1024 * 1024)
        etag1 = s3d.upload_part(Bucket="survivor-uploads", Key="big", PartNumber=1,
                                UploadId=upload["UploadId"], Body=first)["ETag"]

        # KMS calls run on the other nodes while the upload's node dies.
        stop, outcomes = threading.Event(), []

        def kms_load(node):
            kms = node.client("kms")
            while not stop.is_set():
                try:
                    blob = kms.encrypt(KeyId=key, Plaintext=b"during the crash")["CiphertextBlob"]
                    outcomes.append(kms.decrypt(CiphertextBlob=blob)["Plaintext"])
                except Exception as e:  # noqa: BLE001 - every failure is reported below
                    outcomes.append(e)
        threads = [threading.Thread(target=kms_load, args=(n,)) for n in (self.b, self.c)]
        for t in threads:
            t.start()
        try:
            doomed.kill()
            second = os.urandom(1024 * 1024 + 5)
            etag2 = self.b.s3_client().upload_part(
                Bucket="survivor-uploads", Key="big", PartNumber=2, UploadId=upload["UploadId"],
                Body=second)["ETag"]
            s3c = self.c.s3_client()
            parts = s3c.list_parts(Bucket="survivor-uploads", Key="big",
                                   UploadId=upload["UploadId"])["Parts"]
            self.assertEqual([p["PartNumber"] for p in parts], [1, 2])
            s3c.complete_multipart_upload(
                Bucket="survivor-uploads", Key="big", UploadId=upload["UploadId"],
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag1},
                                           {"PartNumber": 2, "ETag": etag2}]})
        finally:
            stop.set()
            for t in threads:
                t.join()
        got = self.b.s3_client().get_object(Bucket="survivor-uploads", Key="big")
        self.assertEqual(got["Body"].read(), first + second)
        self.assertEqual(got["SSEKMSKeyId"], key)
        self.assertGreater(len(outcomes), 0)
        self.assertEqual([o for o in outcomes if o != b"during the crash"], [],
                         "KMS calls on the survivors must not fail")

    def test_the_audit_trail_is_one_ledger_that_any_node_looks_up(self):
        key = self.a.client("kms").create_key(Description="ledger")["KeyMetadata"]["Arn"]
        self.b.client("kms").describe_key(KeyId=key)
        self.c.client("kms").enable_key_rotation(KeyId=key)
        for node in (self.a, self.b, self.c):
            events = node.client("cloudtrail").lookup_events(LookupAttributes=[
                {"AttributeKey": "ResourceName", "AttributeValue": key}])["Events"]
            self.assertEqual([e["EventName"] for e in events],
                             ["EnableKeyRotation", "DescribeKey", "CreateKey"])
        self.assertFalse(os.path.exists(os.path.join(self.a.data_dir, "audit", "logs")),
                         "no node keeps a trail of its own")
        verified = hangar_audit(self.a, "verify")
        self.assertEqual(verified.returncode, 0, verified.stdout + verified.stderr)
        self.assertIn("OK: the trail is intact", verified.stdout)

    def test_the_ledger_is_signed_at_shutdown_and_verify_names_an_altered_entry(self):
        node = HangarServer(cluster=_ClusterPlaces.make())
        self.addCleanup(node.close)
        node.start()
        kms = node.client("kms")
        for i in range(3):
            kms.create_key(Description=f"entry {i}")
        node.stop()  # the last digest covers every entry
        intact = hangar_audit(node, "verify")
        self.assertEqual(intact.returncode, 0, intact.stdout + intact.stderr)
        self.assertIn("OK: the trail is intact", intact.stdout)
        self.assertNotIn("not yet digested", intact.stdout)
        # Slip a forged record into the second entry, in the database behind the nodes' backs.
        altered = subprocess.run(
            ["psql", node.cluster.metadata_uri, "-qAt", "-v", "ON_ERROR_STOP=1", "-c",
             "UPDATE hangar.documents SET body = body || convert_to('{\"eventName\":\"Forged\"}'"
             " || chr(10), 'UTF8') WHERE collection = 'audit.ledger'::bytea AND "
             "id = '00000000000000000002'::bytea RETURNING 1"],
            capture_output=True, text=True, timeout=60)
        self.assertEqual((altered.returncode, altered.stdout.strip()), (0, "1"), altered.stderr)
        broken = hangar_audit(node, "verify")
        self.assertEqual(broken.returncode, 1, broken.stdout + broken.stderr)
        self.assertIn("FAILED: ledger entry 2 was altered", broken.stdout)

    def detections_on_every_node(self, finding_type, resource_id):
        """The detections of `finding_type` about `resource_id`, asked of every node: each node's
        GetFindings first waits for its own findings worker, so after all three, whatever the
        requests so far made every node count is stored."""
        found = []
        for node in (self.a, self.b, self.c):
            found = node.client("securityhub").get_findings(Filters={
                "GeneratorId": [{"Value": "hangar-detection/" + finding_type,
                                 "Comparison": "EQUALS"}],
                "ResourceId": [{"Value": resource_id, "Comparison": "EQUALS"}]})["Findings"]
        return found

    def test_detections_count_a_burst_spread_over_the_nodes(self):
        # The default thresholds: 10 refusals, 100 deleted objects, within 60 s. Spread over three
        # nodes, each node sees a third: below both thresholds when each counted for itself.
        nodes = (self.a, self.b, self.c)
        iam = self.a.client("iam")
        iam.create_user(UserName="spread-prober")
        access = iam.create_access_key(UserName="spread-prober")["AccessKey"]
        arn = iam.get_user(UserName="spread-prober")["User"]["Arn"]
        creds = {"access_key_id": access["AccessKeyId"],
                 "secret_access_key": access["SecretAccessKey"]}
        self.assertEqual(self.detections_on_every_node("Discovery:IAMUser/AccessDeniedBurst", arn),
                         [])
        for i in range(10):
            with self.assertRaises(botocore.exceptions.ClientError) as cm:
                nodes[i % 3].client("kms", **creds).list_keys()
            self.assertEqual(cm.exception.response["Error"]["Code"], "AccessDeniedException")
        burst = self.detections_on_every_node("Discovery:IAMUser/AccessDeniedBurst", arn)
        self.assertEqual(len(burst), 1, "ten refusals over three nodes are one burst")
        self.assertEqual(burst[0]["Severity"]["Label"], "MEDIUM")

        iam.put_user_policy(UserName="spread-prober", PolicyName="s3", PolicyDocument=json.dumps({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        bucket = "spread-deletes"
        self.a.s3_client().create_bucket(Bucket=bucket)
        bucket_arn = f"arn:aws:s3:::{bucket}"
        for n, node in enumerate(nodes):
            keys = [{"Key": f"n{n}-{i}"} for i in range(40)]
            s3 = node.s3_client(**creds)
            for k in keys:
                s3.put_object(Bucket=bucket, Key=k["Key"], Body=b"x")
            self.assertEqual(len(s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})[
                "Deleted"]), 40)
            if n == 1:
                self.assertEqual(self.detections_on_every_node(
                    "Impact:S3/AnomalousBehavior.Delete", bucket_arn), [], "80 of 100")
        deleted = self.detections_on_every_node("Impact:S3/AnomalousBehavior.Delete", bucket_arn)
        self.assertEqual(len(deleted), 1, "120 objects deleted through three nodes")
        self.assertIn("spread-prober", deleted[0]["Description"])

    def test_retention_cuts_the_ledger_and_the_rest_still_verifies(self):
        node = HangarServer(cluster=_ClusterPlaces.make(), dev_clock=True,
                            extra_args=["--audit-retention-days", "1"])
        self.addCleanup(node.close)
        node.start()
        old = node.client("kms").create_key(Description="before the cut")["KeyMetadata"]["Arn"]
        node.stop()  # a digest covers the key's CreateKey
        node.start()
        node.advance_clock(2 * DAY)
        new = node.client("kms").create_key(Description="after the cut")["KeyMetadata"]["Arn"]
        node.stop()  # the last digest: the first is two days old, so it goes with its entries
        resources = [r.get("ARN") for record in ledger_records(node)
                     for r in record.get("resources", [])]
        self.assertIn(new, resources)
        self.assertNotIn(old, resources, "records older than the retention period were cut")
        verified = hangar_audit(node, "verify")
        self.assertEqual(verified.returncode, 0, verified.stdout + verified.stderr)
        self.assertIn("OK: the trail is intact", verified.stdout)
        # A window reaching back before the cut reads what is left.
        windowed = hangar_audit(node, "verify", "--from", "0", "--to", "4102444800")
        self.assertEqual(windowed.returncode, 0, windowed.stdout + windowed.stderr)
        self.assertIn("OK: the trail is intact", windowed.stdout)
        backwards = hangar_audit(node, "verify", "--from", "4102444800", "--to", "0")
        self.assertEqual(backwards.returncode, 2, backwards.stdout + backwards.stderr)
        self.assertIn("--from must not be later than --to", backwards.stderr)

    def test_settings_written_at_once_through_every_node_all_land(self):
        # Each node reads bucket records, grants and users from its cache; a write another node
        # made meanwhile fails the commit's revision check, and the loser must read again and
        # retry. Concurrent PutBucketTagging through three nodes answered 500 before.
        nodes = (self.a, self.b, self.c)
        s3s = [node.s3_client() for node in nodes]
        kmss = [node.client("kms") for node in nodes]
        iams = [node.client("iam") for node in nodes]
        s3s[0].create_bucket(Bucket="raced-settings")
        key = kmss[0].create_key(Description="raced grants")["KeyMetadata"]["KeyId"]
        iams[0].create_user(UserName="raced-user")
        root = f"arn:aws:iam::{self.a.account_id}:root"
        writes = {
            "PutBucketTagging": lambda i: s3s[i % 3].put_bucket_tagging(
                Bucket="raced-settings", Tagging={"TagSet": [{"Key": "round", "Value": str(i)}]}),
            "PutBucketVersioning": lambda i: s3s[i % 3].put_bucket_versioning(
                Bucket="raced-settings", VersioningConfiguration={"Status": "Enabled"}),
            "PutBucketEncryption": lambda i: s3s[i % 3].put_bucket_encryption(
                Bucket="raced-settings", ServerSideEncryptionConfiguration={"Rules": [
                    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}),
            "CreateGrant": lambda i: kmss[i % 3].create_grant(
                KeyId=key, GranteePrincipal=root, Operations=["Encrypt"], Name=f"g{i}"),
            "TagUser": lambda i: iams[i % 3].tag_user(
                UserName="raced-user", Tags=[{"Key": f"t{i}", "Value": "v"}]),
        }
        failures = []

        def attempt(item):
            name, i = item
            try:
                writes[name](i)
            except botocore.exceptions.ClientError as e:
                failures.append((name, e.response["Error"]["Code"]))

        with ThreadPoolExecutor(12) as pool:
            list(pool.map(attempt, [(name, i) for i in range(12) for name in writes]))
        self.assertEqual(failures, [])
        self.assertEqual(len(kmss[1].list_grants(KeyId=key)["Grants"]), 12)
        self.assertEqual(len(iams[2].list_user_tags(UserName="raced-user")["Tags"]), 12)
        self.assertEqual(s3s[1].get_bucket_versioning(Bucket="raced-settings")["Status"],
                         "Enabled")

    def test_a_node_needs_no_data_directory(self):
        self.a.s3_client().create_bucket(Bucket="stateless")
        self.a.s3_client().put_object(Bucket="stateless", Key="k", Body=b"from a")
        node = HangarServer(cluster=self.a.cluster)
        node.use_data_dir = False
        self.addCleanup(node.close)
        cwd_before = sorted(os.listdir("."))
        node.start()
        self.assertEqual(node.s3_client().get_object(Bucket="stateless", Key="k")["Body"].read(),
                         b"from a")
        key = node.client("kms").create_key(Description="stateless")["KeyMetadata"]["Arn"]
        events = self.b.client("cloudtrail").lookup_events(LookupAttributes=[
            {"AttributeKey": "ResourceName", "AttributeValue": key}])["Events"]
        self.assertEqual([e["EventName"] for e in events], ["CreateKey"])
        node.stop()
        self.assertFalse(os.path.exists(node.data_dir), "nothing written to a data directory")
        self.assertEqual(sorted(os.listdir(".")), cwd_before, "nor to the working directory")
        without_blobs = HangarServer(cluster=self.a.cluster)
        without_blobs.use_data_dir = False
        without_blobs.extra_args = ["--metadata", self.a.cluster.metadata_uri]
        self.addCleanup(without_blobs.close)
        with self.assertRaises(Exception) as cm:
            without_blobs.start()
        self.assertIn("give --blobs", str(cm.exception))

    def test_a_node_with_another_root_key_refuses_to_start(self):
        other = HangarServer(cluster=self.a.cluster._replace(
            root_key=base64.b64encode(os.urandom(32)).decode()))
        self.addCleanup(other.close)
        with self.assertRaises(Exception) as cm:
            other.start()
        self.assertIn("the root key does not match the cluster's metadata", str(cm.exception))

    def test_a_node_without_a_named_root_key_refuses_to_start(self):
        node = HangarServer(cluster=self.a.cluster)
        node.extra_env.pop("HANGAR_ROOT_KEY")
        self.addCleanup(node.close)
        with self.assertRaises(Exception) as cm:
            node.start()
        self.assertIn("cluster mode (--metadata) needs the root key every node shares",
                      str(cm.exception))

    def test_admin_without_metadata_refuses_a_nodes_data_directory(self):
        refused = subprocess.run([HANGAR_BIN, "admin", "list-accounts", "--data-dir",
                                  self.a.data_dir], capture_output=True, text=True, timeout=60,
                                 env=self.a.admin_env())
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("is a cluster node's data directory", refused.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.a.data_dir, "metadata.db")))
        listed = subprocess.run([HANGAR_BIN, "admin", "list-accounts",
                                 *self.a.admin_location_args()], capture_output=True, text=True,
                                timeout=60, env=self.a.admin_env())
        self.assertEqual(listed.returncode, 0, listed.stderr)
        self.assertIn(self.a.account_id, listed.stdout)

    def test_neither_the_database_nor_the_pool_holds_plaintext(self):
        s3 = self.a.s3_client()
        s3.create_bucket(Bucket="secret-bucket")
        # Tag values are metadata, stored as written: the search must find this one.
        s3.put_object(Bucket="secret-bucket", Key="tagged", Body=b"x", Tagging="note=" + MARKER.decode())
        s3.put_object(Bucket="secret-bucket", Key="small", Body=MARKER * 3)  # inline in metadata
        s3.put_object(Bucket="secret-bucket", Key="large", Body=MARKER * 40000)  # in RADOS
        dump = subprocess.run(["pg_dump", "--data-only", self.a.cluster.metadata_uri],
                              capture_output=True, timeout=120)
        self.assertEqual(dump.returncode, 0, dump.stderr)
        # bytea columns are dumped as hex: look for both forms.
        hex_marker = MARKER.hex().encode()
        self.assertTrue(MARKER in dump.stdout or hex_marker in dump.stdout,
                        "the tag value must be found where it is stored")
        # The bodies repeat the marker; the tag holds it once.
        self.assertNotIn((MARKER * 2), dump.stdout)
        self.assertNotIn((MARKER * 2).hex().encode(), dump.stdout)
        pool = self.a.cluster.blobs_uri.split("://", 1)[1].split("?", 1)[0]
        conf = os.environ["HANGAR_E2E_RADOS_CONF"]
        client = os.environ.get("HANGAR_E2E_RADOS_ID", "admin")
        rados = ["rados", "-c", conf, "--id", client, "-p", pool]
        # A RADOS object holding the marker in the clear, planted beside Hangar's: the scan must
        # find it there, and only there.
        planted = subprocess.run(rados + ["put", "planted-marker", "-"], input=MARKER,
                                 capture_output=True, timeout=60)
        self.assertEqual(planted.returncode, 0, planted.stderr)
        names = subprocess.run(rados + ["ls"], capture_output=True, text=True, timeout=60)
        self.assertEqual(names.returncode, 0, names.stderr)
        objects = [n for n in names.stdout.split() if n]
        self.assertGreater(len(objects), 2, "the large object's bytes must be in the pool")
        holding = []
        for name in objects:
            data = subprocess.run(rados + ["get", name, "-"], capture_output=True, timeout=60)
            self.assertEqual(data.returncode, 0, data.stderr)
            if MARKER in data.stdout:
                holding.append(name)
        self.assertEqual(holding, ["planted-marker"])


if __name__ == "__main__":
    unittest.main()
