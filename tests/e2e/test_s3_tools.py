"""s3cmd and rclone from Debian against the real server: a tree of a few hundred files of mixed
sizes (empty, tiny, 4 KiB, 100 KiB, 1 MiB and 6-20 MiB ones that go multipart with a 5 MiB chunk
size) with spaces, unicode and nested directories in their names is synced up and back down with
each tool and compared byte for byte; a second sync must find nothing to do (the tools' own
change detection agrees with what the server stores); listing, deletion and `rclone check` work.

Both tools get a config file of their own in the server's temp dir, so the user's ~/.s3cfg and
rclone.conf never reach them. rclone runs without AWS_CA_BUNDLE in its environment: on these
machines the variable is set and rclone fails to start with it.
"""

import hashlib
import os
import random
import shutil
import subprocess
import tempfile
import unittest

from boto3.s3.transfer import TransferConfig

from harness import HangarTestCase

MiB = 1024 * 1024
TOOL_TIMEOUT_SECONDS = 300
# Both tools: parts of 5 MiB (the S3 minimum) so that every file over 5 MiB goes multipart.
CHUNK_MB = 5

# (relative path, size). Names exercise what a path-style URL must carry: spaces, unicode in
# several scripts, characters that are special in URLs and in SigV4 canonical URIs.
SPECIAL_FILES = [
    ("empty.txt", 0),
    ("dir with spaces/file with spaces.txt", 13),
    ("dir with spaces/nested dir/deeper still/leaf.bin", 4096),
    ("unicode/café crème.txt", 7),
    ("unicode/日本語のファイル.dat", 4096),
    ("unicode/Ελληνικά/αρχείο.bin", 100 * 1024),
    ("unicode/emoji 🚀 rocket.bin", 21),
    ("unicode/Ünïcödé/ñ.txt", 0),
    ("special/plus+sign.txt", 5),
    ("special/equals=and&ampersand.txt", 9),
    ("special/parens (1).txt", 3),
    ("special/tilde~name_under-score.txt", 4),
    ("special/comma,semicolon;.txt", 6),
    ("special/at@dollar$.txt", 8),
    ("special/percent 100%.txt", 11),
    ("special/single'quote.txt", 2),
    ("special/exclaim!.txt", 1),
    ("a/b/c/d/e/f/g/deep.bin", MiB),
]
# Multipart for both tools at 5 MiB chunks: 2, 3 and 4 parts, sizes not multiples of the chunk.
LARGE_FILES = [
    ("large/six MiB plus one.bin", 6 * MiB + 1),
    ("large/nested/eleven.bin", 11 * MiB + 12345),
    ("large/twenty.bin", 20 * MiB),
]
# The bulk: a few hundred small and medium files spread over nested directories.
BULK_SIZES = [0, 1, 3, 17, 4096, 4096, 4096, 100 * 1024, 4095, 4097]
BULK_COUNT = 300
BULK_MEDIUM = [MiB, MiB + 1, 2 * MiB - 1]  # a few 1-2 MiB files among them


def make_tree(root, seed=20240603):
    """Writes the tree under root; returns {relative path: sha256 hex}."""
    rng = random.Random(seed)
    files = list(SPECIAL_FILES) + list(LARGE_FILES)
    for i in range(BULK_COUNT):
        depth = i % 4
        parts = [f"bulk{i % 7}"] + [f"level{d}-{i % (d + 3)}" for d in range(depth)]
        size = BULK_SIZES[i % len(BULK_SIZES)]
        if i % 50 == 25:
            size = BULK_MEDIUM[(i // 50) % len(BULK_MEDIUM)]
        files.append(("/".join(parts + [f"file-{i:04d}.dat"]), size))
    hashes = {}
    for rel, size in files:
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = rng.randbytes(size)
        with open(path, "wb") as f:
            f.write(data)
        hashes[rel] = hashlib.sha256(data).hexdigest()
    return hashes


def hash_tree(root):
    """{relative path: sha256 hex} of every regular file under root."""
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(MiB), b""):
                    h.update(block)
            out[os.path.relpath(path, root)] = h.hexdigest()
    return out


class ToolsTestBase(HangarTestCase):
    """One server and one generated tree for the class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.work = tempfile.mkdtemp(prefix="tools-", dir=cls.server.tmp_dir)
        cls.tree = os.path.join(cls.work, "tree")
        cls.expected = make_tree(cls.tree)
        cls.sizes = {rel: os.path.getsize(os.path.join(cls.tree, rel)) for rel in cls.expected}

    def s3(self):
        return self.server.client("s3")

    def stored_objects(self, bucket):
        """{key: (size, etag)} of the bucket, read with boto3 (not the tool under test)."""
        out = {}
        for page in self.s3().get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                out[obj["Key"]] = (obj["Size"], obj["ETag"])
        return out

    def assertStoredTreeMatches(self, bucket):
        stored = self.stored_objects(bucket)
        self.assertEqual(sorted(stored), sorted(self.expected))
        for rel, (size, etag) in stored.items():
            self.assertEqual(size, self.sizes[rel], rel)
            if self.sizes[rel] > CHUNK_MB * MiB:
                # Uploaded in parts: "<md5 of part md5s>-<part count>".
                parts = -(-self.sizes[rel] // (CHUNK_MB * MiB))
                self.assertTrue(etag.endswith(f'-{parts}"'), (rel, etag))
        # Spot-check contents through boto3 as well.
        for rel in ("unicode/emoji 🚀 rocket.bin", "large/nested/eleven.bin", "empty.txt"):
            body = self.s3().get_object(Bucket=bucket, Key=rel)["Body"].read()
            self.assertEqual(hashlib.sha256(body).hexdigest(), self.expected[rel], rel)

    def assertTreeEqual(self, root):
        got = hash_tree(root)
        missing = sorted(set(self.expected) - set(got))
        extra = sorted(set(got) - set(self.expected))
        self.assertEqual((missing, extra), ([], []), "file sets differ")
        differing = sorted(rel for rel in self.expected if got[rel] != self.expected[rel])
        self.assertEqual(differing, [], "files differ byte-wise")


class S3cmdTest(ToolsTestBase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.s3cfg = os.path.join(cls.work, "s3cfg")

    def setUp(self):
        # Written per test: the server may have moved to another port (it does not here).
        host = f"127.0.0.1:{self.server.port}"
        with open(self.s3cfg, "w") as f:
            f.write("[default]\n"
                    f"access_key = {self.server.access_key_id}\n"
                    f"secret_key = {self.server.secret_access_key}\n"
                    f"host_base = {host}\n"
                    f"host_bucket = {host}\n"
                    "use_https = False\n"
                    "signature_v2 = False\n"
                    "bucket_location = us-east-1\n"
                    "check_ssl_certificate = False\n"
                    "guess_mime_type = True\n"
                    "progress_meter = False\n")

    def s3cmd(self, *args, check=True):
        env = dict(os.environ, LC_ALL="C.UTF-8", LANG="C.UTF-8", PYTHONIOENCODING="utf-8")
        env = {k: v for k, v in env.items()
               if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        cmd = ["s3cmd", "--config", self.s3cfg, "--no-ssl", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              timeout=TOOL_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
        if check:
            self.assertEqual(proc.returncode, 0, f"{' '.join(cmd)} failed:\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def test_sync_up_and_down_is_byte_identical(self):
        bucket = "s3cmd-sync"
        self.s3cmd("mb", f"s3://{bucket}")
        self.s3cmd("sync", f"--multipart-chunk-size-mb={CHUNK_MB}", self.tree + "/",
                   f"s3://{bucket}/")
        self.assertStoredTreeMatches(bucket)

        down = os.path.join(self.work, "s3cmd-down")
        os.makedirs(down)
        self.s3cmd("sync", f"s3://{bucket}/", down + "/")
        self.assertTreeEqual(down)

        # Nothing changed: s3cmd's own comparison (size, and MD5 from the ETag or, for multipart
        # objects, from its x-amz-meta-s3cmd-attrs) must find nothing to upload or download.
        again = self.s3cmd("sync", "--dry-run", f"--multipart-chunk-size-mb={CHUNK_MB}",
                           self.tree + "/", f"s3://{bucket}/")
        self.assertNotIn("upload:", again.stdout, again.stdout)
        back = self.s3cmd("sync", "--dry-run", f"s3://{bucket}/", down + "/")
        self.assertNotIn("download:", back.stdout, back.stdout)

    def test_ls_info_get_and_del(self):
        bucket = "s3cmd-ls"
        self.s3cmd("mb", f"s3://{bucket}")
        buckets = self.s3cmd("ls").stdout
        self.assertIn(f"s3://{bucket}", buckets)
        for rel in ("dir with spaces/file with spaces.txt", "unicode/日本語のファイル.dat",
                    "special/plus+sign.txt", "large/six MiB plus one.bin", "empty.txt"):
            self.s3cmd("put", f"--multipart-chunk-size-mb={CHUNK_MB}",
                       os.path.join(self.tree, rel), f"s3://{bucket}/{rel}")

        # Top level: the directories as prefixes, the file as an object with its size.
        top = self.s3cmd("ls", f"s3://{bucket}/").stdout
        self.assertIn(f"DIR  s3://{bucket}/dir with spaces/", top)
        self.assertIn(f"DIR  s3://{bucket}/unicode/", top)
        self.assertRegex(top, rf"\s0\s+s3://{bucket}/empty\.txt")
        recursive = self.s3cmd("ls", "--recursive", f"s3://{bucket}").stdout
        listed = sorted(line.split(f"s3://{bucket}/", 1)[1]
                        for line in recursive.splitlines() if f"s3://{bucket}/" in line)
        self.assertEqual(listed, sorted(["dir with spaces/file with spaces.txt",
                                         "unicode/日本語のファイル.dat", "special/plus+sign.txt",
                                         "large/six MiB plus one.bin", "empty.txt"]))
        self.assertRegex(recursive, rf"\s{6 * MiB + 1}\s+s3://{bucket}/large/six MiB plus one\.bin")

        info = self.s3cmd("info", f"s3://{bucket}/special/plus+sign.txt").stdout
        self.assertRegex(info, r"File size:\s+5")

        got = os.path.join(self.work, "got-日本語.dat")
        self.s3cmd("get", "--force", f"s3://{bucket}/unicode/日本語のファイル.dat", got)
        with open(got, "rb") as f:
            self.assertEqual(hashlib.sha256(f.read()).hexdigest(),
                             self.expected["unicode/日本語のファイル.dat"])

        self.s3cmd("del", f"s3://{bucket}/special/plus+sign.txt")
        self.s3cmd("del", f"s3://{bucket}/dir with spaces/file with spaces.txt")
        self.assertEqual(sorted(self.stored_objects(bucket)),
                         sorted(["unicode/日本語のファイル.dat", "large/six MiB plus one.bin",
                                 "empty.txt"]))
        self.s3cmd("del", "--recursive", "--force", f"s3://{bucket}/")
        self.assertEqual(self.stored_objects(bucket), {})
        self.s3cmd("rb", f"s3://{bucket}")
        self.assertNotIn(f"s3://{bucket}", self.s3cmd("ls").stdout)


class RcloneTest(ToolsTestBase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rclone_conf = os.path.join(cls.work, "rclone.conf")

    def setUp(self):
        with open(self.rclone_conf, "w") as f:
            f.write("[hangar]\n"
                    "type = s3\n"
                    "provider = Other\n"
                    "env_auth = false\n"
                    f"access_key_id = {self.server.access_key_id}\n"
                    f"secret_access_key = {self.server.secret_access_key}\n"
                    f"endpoint = {self.server.endpoint}\n"
                    "region = us-east-1\n"
                    "force_path_style = true\n")

    def rclone(self, *args, check=True):
        # Without AWS_CA_BUNDLE (rclone fails to start with it set on these machines) and without
        # any other AWS_* variable that could steer its credentials.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(RCLONE_CONFIG=self.rclone_conf, LC_ALL="C.UTF-8", LANG="C.UTF-8")
        cmd = ["rclone", "--config", self.rclone_conf, "--retries", "1",
               "--low-level-retries", "1", *args]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env,
                              timeout=TOOL_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
        if check:
            self.assertEqual(proc.returncode, 0, f"{' '.join(cmd)} failed:\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def chunk_flags(self):
        return [f"--s3-upload-cutoff={CHUNK_MB}M", f"--s3-chunk-size={CHUNK_MB}M"]

    def test_sync_up_and_down_is_byte_identical(self):
        bucket = "rclone-sync"
        self.rclone("mkdir", f"hangar:{bucket}")
        self.rclone("sync", *self.chunk_flags(), self.tree, f"hangar:{bucket}")
        self.assertStoredTreeMatches(bucket)

        # rclone check: sizes and MD5s (the ETag of single-part objects, rclone's md5chksum
        # metadata for multipart ones) match the local tree.
        check = self.rclone("check", self.tree, f"hangar:{bucket}", check=False)
        self.assertEqual(check.returncode, 0, check.stderr[-3000:])
        self.assertIn("0 differences found", check.stderr)
        self.assertNotIn("ERROR", check.stderr)

        down = os.path.join(self.work, "rclone-down")
        self.rclone("sync", f"hangar:{bucket}", down)
        self.assertTreeEqual(down)
        self.rclone("check", "--download", self.tree, f"hangar:{bucket}")

        # A second sync in either direction finds nothing to transfer.
        again = self.rclone("sync", "-v", *self.chunk_flags(), self.tree, f"hangar:{bucket}")
        self.assertRegex(again.stderr, r"There was nothing to transfer|Transferred:\s+0 / 0",
                         again.stderr[-3000:])
        back = self.rclone("sync", "-v", f"hangar:{bucket}", down)
        self.assertRegex(back.stderr, r"There was nothing to transfer|Transferred:\s+0 / 0",
                         back.stderr[-3000:])

    def test_lsf_check_and_delete(self):
        bucket = "rclone-ls"
        self.rclone("mkdir", f"hangar:{bucket}")
        self.rclone("copy", *self.chunk_flags(), os.path.join(self.tree, "unicode"),
                    f"hangar:{bucket}/unicode")
        self.rclone("copy", *self.chunk_flags(), os.path.join(self.tree, "large"),
                    f"hangar:{bucket}/large")
        want = sorted(rel for rel in self.expected if rel.startswith(("unicode/", "large/")))

        lsf = self.rclone("lsf", "-R", "--files-only", f"hangar:{bucket}").stdout
        self.assertEqual(sorted(lsf.splitlines()), want)
        top = self.rclone("lsf", f"hangar:{bucket}").stdout
        self.assertEqual(sorted(top.splitlines()), ["large/", "unicode/"])
        sized = self.rclone("lsf", "-R", "--files-only", "--format", "ps", "--separator", "\t",
                            f"hangar:{bucket}").stdout
        self.assertEqual(sorted(tuple(line.split("\t")) for line in sized.splitlines()),
                         sorted((rel, str(self.sizes[rel])) for rel in want))
        buckets = self.rclone("lsf", "hangar:").stdout.splitlines()
        self.assertIn(f"{bucket}/", buckets)

        # check: a subset of the tree against the bucket, one way.
        subset = os.path.join(self.work, "rclone-subset")
        shutil.copytree(os.path.join(self.tree, "unicode"), os.path.join(subset, "unicode"))
        shutil.copytree(os.path.join(self.tree, "large"), os.path.join(subset, "large"))
        check = self.rclone("check", subset, f"hangar:{bucket}")
        self.assertIn("0 differences found", check.stderr)
        # A changed local file is reported as a difference.
        with open(os.path.join(subset, "unicode", "café crème.txt"), "wb") as f:
            f.write(b"changed")
        changed = self.rclone("check", subset, f"hangar:{bucket}", check=False)
        self.assertNotEqual(changed.returncode, 0)
        self.assertIn("1 differences found", changed.stderr)

        self.rclone("deletefile", f"hangar:{bucket}/unicode/emoji 🚀 rocket.bin")
        self.rclone("delete", f"hangar:{bucket}/large")
        left = self.rclone("lsf", "-R", "--files-only", f"hangar:{bucket}").stdout
        self.assertEqual(sorted(left.splitlines()),
                         sorted(rel for rel in want if rel.startswith("unicode/")
                                and rel != "unicode/emoji 🚀 rocket.bin"))
        self.rclone("purge", f"hangar:{bucket}")
        self.assertNotIn(f"{bucket}/", self.rclone("lsf", "hangar:").stdout.splitlines())

    def test_copies_down_a_boto3_multipart_object(self):
        """An object that another client uploaded in parts (no rclone md5chksum metadata, so
        rclone has no MD5 to compare and checks sizes) comes down byte-identically."""
        bucket = "rclone-foreign"
        s3 = self.s3()
        s3.create_bucket(Bucket=bucket)
        rel = "large/twenty.bin"
        with open(os.path.join(self.tree, rel), "rb") as f:
            s3.upload_fileobj(f, bucket, rel, Config=TransferConfig(
                multipart_threshold=CHUNK_MB * MiB, multipart_chunksize=CHUNK_MB * MiB))
        down = os.path.join(self.work, "rclone-foreign")
        self.rclone("copy", f"hangar:{bucket}", down)
        self.assertEqual(hash_tree(down), {rel: self.expected[rel]})
        self.rclone("check", os.path.join(self.tree, "large"), f"hangar:{bucket}/large",
                    "--include", "twenty.bin")


if __name__ == "__main__":
    unittest.main()
