"""restic and rclone, Debian's builds, against versioned buckets (issue 11: "rclone's and
restic's own operations against a versioned bucket").

restic: `init`, two `backup`s of a changing tree, `check --read-data`, `restore` of each snapshot
compared byte for byte, `forget --prune` — and the bucket's version history (read with boto3)
keeps what restic deleted or rewrote as noncurrent versions and delete markers, readable by id.
rclone: `sync` up, change and delete files, `sync` again; `--s3-versions` lists the old versions
and `copy` brings one back; `purge` removes every version (rclone lists and deletes them by id on versioned buckets).

Both tools run without AWS_CA_BUNDLE (rclone fails to start with it on these machines) and with
their own configuration in the server's temp dir.
"""

import hashlib
import os
import subprocess
import tempfile

from harness import HangarTestCase

TOOL_TIMEOUT_SECONDS = 300


def write(path, data: bytes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def tree_hashes(root):
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


class VersionedToolsBase(HangarTestCase):
    def tool_env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(LC_ALL="C.UTF-8", LANG="C.UTF-8", **extra)
        return env

    def run_tool(self, cmd, env):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              timeout=TOOL_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, 0, f"{' '.join(cmd)} failed:\n"
                         f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc.stdout

    def versioned_bucket(self, name):
        s3 = self.server.s3_client()
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return s3

    def history(self, s3, bucket):
        versions, markers = [], []
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
            versions += page.get("Versions", [])
            markers += page.get("DeleteMarkers", [])
        return versions, markers


class ResticTest(VersionedToolsBase):
    def restic(self, *args):
        env = self.tool_env(AWS_ACCESS_KEY_ID=self.server.access_key_id,
                            AWS_SECRET_ACCESS_KEY=self.server.secret_access_key,
                            AWS_DEFAULT_REGION="us-east-1",
                            RESTIC_PASSWORD="correct horse battery staple",
                            RESTIC_REPOSITORY=f"s3:{self.server.endpoint}/restic-repo",
                            RESTIC_CACHE_DIR=os.path.join(self.work, "cache"))
        return self.run_tool(["restic", "--no-lock" if args[0] == "restore" else "--quiet",
                              *args], env)

    def test_init_backup_check_restore_forget_on_a_versioned_bucket(self):
        s3 = self.versioned_bucket("restic-repo")
        self.work = tempfile.mkdtemp(prefix="restic-", dir=self.server.tmp_dir)
        source = os.path.join(self.work, "source")
        write(os.path.join(source, "telemetry/pass-001.bin"), os.urandom(300_000))
        write(os.path.join(source, "telemetry/pass-002.bin"), os.urandom(3_000_000))
        write(os.path.join(source, "config/ground.yaml"), b"station: kiruna\n")
        self.restic("init")
        self.restic("backup", source)
        first = tree_hashes(source)
        # The tree changes: a file rewritten, one deleted, one added.
        write(os.path.join(source, "config/ground.yaml"), b"station: svalbard\n")
        os.remove(os.path.join(source, "telemetry/pass-001.bin"))
        write(os.path.join(source, "telemetry/pass-003.bin"), os.urandom(1_000_000))
        self.restic("backup", source)
        second = tree_hashes(source)
        self.restic("check", "--read-data")
        snapshots = self.restic("snapshots", "--json")
        import json
        ids = [s["short_id"] for s in sorted(json.loads(snapshots), key=lambda s: s["time"])]
        self.assertEqual(len(ids), 2)
        for snapshot, expected in zip(ids, (first, second)):
            target = os.path.join(self.work, "restore-" + snapshot)
            self.restic("restore", snapshot, "--target", target)
            restored = tree_hashes(os.path.join(target, source.lstrip("/")))
            self.assertEqual(restored, expected, snapshot)
        # Forgetting the first snapshot and pruning deletes pack and index files: on a versioned
        # bucket they stay as noncurrent versions behind delete markers, readable by id.
        self.restic("forget", ids[0], "--prune")
        self.restic("check")
        versions, markers = self.history(s3, "restic-repo")
        self.assertTrue(markers, "prune deleted files: their keys now end in delete markers")
        hidden = [v for v in versions if not v["IsLatest"]]
        self.assertTrue(hidden)
        old = hidden[0]
        body = s3.get_object(Bucket="restic-repo", Key=old["Key"],
                             VersionId=old["VersionId"])["Body"].read()
        self.assertEqual(len(body), old["Size"])


class RcloneVersionsTest(VersionedToolsBase):
    def rclone(self, *args):
        conf = os.path.join(self.work, "rclone.conf")
        with open(conf, "w") as f:
            f.write("[hangar]\ntype = s3\nprovider = Other\nenv_auth = false\n"
                    f"access_key_id = {self.server.access_key_id}\n"
                    f"secret_access_key = {self.server.secret_access_key}\n"
                    f"endpoint = {self.server.endpoint}\nregion = us-east-1\n"
                    "force_path_style = true\n")
        return self.run_tool(["rclone", "--config", conf, "--retries", "1",
                              "--low-level-retries", "1", *args], self.tool_env())

    def test_sync_keeps_history_and_old_versions_come_back(self):
        s3 = self.versioned_bucket("rclone-versions")
        self.work = tempfile.mkdtemp(prefix="rclone-", dir=self.server.tmp_dir)
        local = os.path.join(self.work, "local")
        write(os.path.join(local, "flight/log.txt"), b"takeoff 06:00\n")
        write(os.path.join(local, "flight/track.bin"), os.urandom(200_000))
        self.rclone("sync", local, "hangar:rclone-versions")
        write(os.path.join(local, "flight/log.txt"), b"takeoff 06:00\nlanding 09:12\n")
        os.remove(os.path.join(local, "flight/track.bin"))
        self.rclone("sync", local, "hangar:rclone-versions")
        current = self.rclone("lsf", "-R", "hangar:rclone-versions")
        self.assertEqual(sorted(current.split()), ["flight/", "flight/log.txt"])
        # rclone's own view of the history: old versions carry a -vTIMESTAMP suffix.
        listed = self.rclone("lsf", "-R", "--s3-versions", "hangar:rclone-versions").split()
        old_logs = [name for name in listed if name.startswith("flight/log-v")]
        self.assertEqual(len(old_logs), 1, listed)
        self.assertTrue(any(name.startswith("flight/track-v") for name in listed), listed)
        back = os.path.join(self.work, "back")
        self.rclone("copy", "--s3-versions", "--include", "log-v*", "hangar:rclone-versions/flight",
                    back)
        restored = tree_hashes(back)
        self.assertEqual(list(restored.values()),
                         [hashlib.sha256(b"takeoff 06:00\n").hexdigest()], restored)
        # On a versioned bucket rclone's purge lists the versions and deletes each by id: the
        # history goes with it.
        self.rclone("purge", "hangar:rclone-versions/flight")
        self.assertEqual(self.history(s3, "rclone-versions"), ([], []))
        s3.delete_bucket(Bucket="rclone-versions")
