"""The aws CLI's high-level S3 commands (`aws s3 mb/rb/ls/cp/sync/mv/rm`) against the real binary:
trees up and back byte-identical, multipart above the CLI's 8 MiB threshold, and the errors a
user sees. `aws s3api` only checks what the high-level commands did.
"""

import filecmp
import hashlib
import os
import shutil
import subprocess
import tempfile
import urllib.request

from harness import HangarTestCase

MIB = 1024 * 1024
CLI_CHUNK = 8 * MIB  # the CLI's default multipart_threshold and multipart_chunksize
HANG_SECONDS = 20    # a transfer that takes a second here and has not ended by then hangs


def write(path, data: bytes):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def read(path) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def tree_files(root):
    """Relative paths of every file under root, sorted."""
    found = []
    for directory, _, files in os.walk(root):
        for name in files:
            found.append(os.path.relpath(os.path.join(directory, name), root))
    return sorted(found)


class S3CliTest(HangarTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.work = tempfile.mkdtemp(prefix="hangar-s3-cli-")
        cls.addClassCleanup(shutil.rmtree, cls.work, ignore_errors=True)
        cls.s3 = cls.server.s3_client()

    def cli(self, *args):
        """Runs the aws CLI; a run that hangs is a failure (not a 60 s stall of the suite)."""
        try:
            return self.server.aws(*args, timeout=HANG_SECONDS)
        except subprocess.TimeoutExpired as e:
            self.fail(f"aws {' '.join(args)} hung for {HANG_SECONDS} s; stderr tail: "
                      f"{(e.stderr or b'')[-2000:]!r}")

    def path(self, *parts):
        return os.path.join(self.work, self._testMethodName, *parts)

    def make_tree(self, root):
        """A small tree of mixed sizes, nested directories and awkward names."""
        files = {
            "readme.txt": b"top level file\n",
            "docs/guide.md": b"# Guide\n" * 50,
            "docs/deep/er/nested.json": b'{"nested": true}',
            "media/random.bin": os.urandom(300 * 1024),
            "media/with space.dat": os.urandom(1000),
            "unicodé/ünï.txt": "ünïcödé".encode(),
            "plus+sign/a=b.txt": b"plus and equals",
        }
        for name, data in files.items():
            write(os.path.join(root, name), data)
        return files

    def assertTreesEqual(self, left, right):
        self.assertEqual(tree_files(left), tree_files(right))
        match, mismatch, errors = filecmp.cmpfiles(left, right, tree_files(left), shallow=False)
        self.assertEqual((mismatch, errors), ([], []))

    def keys(self, bucket, prefix=""):
        keys = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                      Prefix=prefix):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return keys

    def test_mb_ls_rb(self):
        out = self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-mb"))
        self.assertIn("make_bucket: cli-mb", out)
        listing = self.assertCliOk(self.server.aws("s3", "ls"))
        self.assertRegex(listing, r"(?m)^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d cli-mb$")
        out = self.assertCliOk(self.server.aws("s3", "rb", "s3://cli-mb"))
        self.assertIn("remove_bucket: cli-mb", out)
        self.assertNotIn("cli-mb", self.assertCliOk(self.server.aws("s3", "ls")))

    def test_mb_with_invalid_name_fails(self):
        result = self.server.aws("s3", "mb", "s3://Invalid_Name")
        self.assertCliError(result, "InvalidBucketName", "The specified bucket is not valid.")
        self.assertIn("make_bucket failed", result.err)

    def test_mb_in_another_region(self):
        self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-west", "--region", "eu-west-1"))
        out = self.assertCliOk(self.server.aws("s3api", "get-bucket-location", "--bucket",
                                               "cli-west"))
        self.assertEqual(out["LocationConstraint"], "eu-west-1")

    def test_cp_up_and_down_with_metadata(self):
        self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-cp"))
        source = self.path("up.txt")
        write(source, b"copied by the cli\n" * 100)
        out = self.assertCliOk(self.server.aws(
            "s3", "cp", source, "s3://cli-cp/dir/up.txt", "--content-type", "text/plain",
            "--metadata", "origin=cli,purpose=test", "--cache-control", "max-age=60"))
        self.assertIn("upload:", out)
        head = self.assertCliOk(self.server.aws("s3api", "head-object", "--bucket", "cli-cp",
                                                "--key", "dir/up.txt"))
        self.assertEqual(head["ContentType"], "text/plain")
        self.assertEqual(head["Metadata"], {"origin": "cli", "purpose": "test"})
        self.assertEqual(head["CacheControl"], "max-age=60")
        self.assertEqual(head["ETag"], f'"{hashlib.md5(read(source)).hexdigest()}"')
        target = self.path("down.txt")
        out = self.assertCliOk(self.server.aws("s3", "cp", "s3://cli-cp/dir/up.txt", target))
        self.assertIn("download:", out)
        self.assertEqual(read(target), read(source))
        # s3 to s3
        self.assertCliOk(self.server.aws("s3", "cp", "s3://cli-cp/dir/up.txt",
                                          "s3://cli-cp/copy/of-up.txt"))
        self.assertEqual(self.s3.get_object(Bucket="cli-cp", Key="copy/of-up.txt")["Body"].read(),
                         read(source))

    def test_cp_of_missing_key_fails(self):
        self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-missing"))
        result = self.server.aws("s3", "cp", "s3://cli-missing/nothing", self.path("x"))
        self.assertNotEqual(result.rc, 0)
        self.assertIn("404", result.err)
        self.assertFalse(os.path.exists(self.path("x")))

    def test_ls_shows_prefixes_and_objects(self):
        self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-ls"))
        for key, body in (("a.txt", b"12345"), ("dir/b.txt", b"1"), ("dir/sub/c.txt", b"12")):
            self.s3.put_object(Bucket="cli-ls", Key=key, Body=body)
        top = self.assertCliOk(self.server.aws("s3", "ls", "s3://cli-ls/"))
        self.assertRegex(top, r"(?m)^\s*PRE dir/$")
        self.assertRegex(top, r"(?m)^\S+ \S+\s+5 a\.txt$")
        deep = self.assertCliOk(self.server.aws("s3", "ls", "s3://cli-ls", "--recursive"))
        self.assertEqual([line.split()[-1] for line in deep.splitlines()],
                         ["a.txt", "dir/b.txt", "dir/sub/c.txt"])
        self.assertEqual([line.split()[2] for line in deep.splitlines()], ["5", "1", "2"])

    def test_recursive_cp_of_a_tree_up_and_back(self):
        self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-tree"))
        local = self.path("local")
        files = self.make_tree(local)
        self.assertCliOk(self.cli("s3", "cp", local, "s3://cli-tree/backup/", "--recursive"))
        self.assertEqual(sorted(self.keys("cli-tree")),
                         sorted("backup/" + name for name in files))
        back = self.path("back")
        self.assertCliOk(self.cli("s3", "cp", "s3://cli-tree/backup/", back, "--recursive"))
        self.assertTreesEqual(local, back)

    def test_recursive_cp_of_a_tree_with_empty_files(self):
        # The CLI sends PutObject with "Expect: 100-continue" on pooled keep-alive connections.
        # Empty files are part of ordinary trees (__init__.py, .gitkeep).
        self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-empties"))
        local = self.path("local")
        files = self.make_tree(local)
        for name in ("pkg/__init__.py", "pkg/sub/__init__.py", "logs/.gitkeep"):
            write(os.path.join(local, name), b"")
            files[name] = b""
        self.assertCliOk(self.cli("s3", "cp", local, "s3://cli-empties/", "--recursive"))
        self.assertEqual(sorted(self.keys("cli-empties")), sorted(files))
        back = self.path("back")
        self.assertCliOk(self.cli("s3", "cp", "s3://cli-empties/", back, "--recursive"))
        self.assertTreesEqual(local, back)

    def test_sync_up_changes_only_and_back(self):
        self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-sync"))
        local = self.path("local")
        files = self.make_tree(local)
        out = self.assertCliOk(self.cli("s3", "sync", local, "s3://cli-sync/tree"))
        self.assertEqual(out.count("upload:"), len(files))
        # Nothing changed: nothing to do.
        self.assertEqual(self.assertCliOk(self.cli("s3", "sync", local, "s3://cli-sync/tree")),
                         "")
        # One file grows, one appears, one goes.
        write(os.path.join(local, "docs/guide.md"), b"# Guide, longer now\n" * 60)
        write(os.path.join(local, "new/file.txt"), b"new")
        os.remove(os.path.join(local, "readme.txt"))
        out = self.assertCliOk(self.cli("s3", "sync", local, "s3://cli-sync/tree", "--delete"))
        uploads = sorted(line.split()[1] for line in out.splitlines() if "upload:" in line)
        self.assertEqual(len(uploads), 2, out)
        self.assertIn("delete: s3://cli-sync/tree/readme.txt", out)
        self.assertNotIn("tree/readme.txt", self.keys("cli-sync"))
        back = self.path("back")
        self.assertCliOk(self.cli("s3", "sync", "s3://cli-sync/tree", back))
        self.assertTreesEqual(local, back)

    def test_mv_moves(self):
        self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-mv"))
        source = self.path("move-me.txt")
        write(source, b"moving")
        self.assertCliOk(self.server.aws("s3", "mv", source, "s3://cli-mv/first.txt"))
        self.assertFalse(os.path.exists(source))
        self.assertCliOk(self.server.aws("s3", "mv", "s3://cli-mv/first.txt",
                                          "s3://cli-mv/second.txt"))
        self.assertEqual(self.keys("cli-mv"), ["second.txt"])
        target = self.path("moved-back.txt")
        self.assertCliOk(self.server.aws("s3", "mv", "s3://cli-mv/second.txt", target))
        self.assertEqual(read(target), b"moving")
        self.assertEqual(self.keys("cli-mv"), [])

    def test_rm_single_and_recursive(self):
        self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-rm"))
        for key in ("keep.txt", "logs/1.log", "logs/2.log", "logs/old/3.log"):
            self.s3.put_object(Bucket="cli-rm", Key=key, Body=b"x")
        out = self.assertCliOk(self.server.aws("s3", "rm", "s3://cli-rm/logs/1.log"))
        self.assertIn("delete: s3://cli-rm/logs/1.log", out)
        out = self.assertCliOk(self.server.aws("s3", "rm", "s3://cli-rm/logs/", "--recursive"))
        self.assertEqual(out.count("delete:"), 2)
        self.assertEqual(self.keys("cli-rm"), ["keep.txt"])

    def test_multipart_above_8_mib(self):
        self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-big"))
        data = os.urandom(20 * MIB)
        source = self.path("big.bin")
        write(source, data)
        self.assertCliOk(self.server.aws("s3", "cp", source, "s3://cli-big/big.bin"))
        head = self.assertCliOk(self.server.aws("s3api", "head-object", "--bucket", "cli-big",
                                                "--key", "big.bin"))
        chunks = [data[i:i + CLI_CHUNK] for i in range(0, len(data), CLI_CHUNK)]
        digests = b"".join(hashlib.md5(c).digest() for c in chunks)
        self.assertEqual(head["ETag"], f'"{hashlib.md5(digests).hexdigest()}-3"')
        self.assertEqual(head["ContentLength"], len(data))
        target = self.path("big-back.bin")
        self.assertCliOk(self.server.aws("s3", "cp", "s3://cli-big/big.bin", target))
        self.assertEqual(hashlib.sha256(read(target)).hexdigest(),
                         hashlib.sha256(data).hexdigest())

    def test_download_above_8_mib_of_an_object_put_in_one_request(self):
        # Stored by one PutObject, so with boto3's default full-object CRC32; the CLI then
        # downloads it in 8 MiB ranged GETs and checks what each one says about its bytes.
        self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-big-single"))
        data = os.urandom(20 * MIB)
        self.s3.put_object(Bucket="cli-big-single", Key="single.bin", Body=data)
        target = self.path("single-back.bin")
        self.assertCliOk(self.cli("s3", "cp", "s3://cli-big-single/single.bin", target))
        self.assertEqual(hashlib.sha256(read(target)).hexdigest(),
                         hashlib.sha256(data).hexdigest())

    def test_rb_of_non_empty_bucket_fails_and_force_empties_it(self):
        self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-full"))
        for key in ("a", "b/c", "d/e/f"):
            self.s3.put_object(Bucket="cli-full", Key=key, Body=b"x")
        result = self.server.aws("s3", "rb", "s3://cli-full")
        self.assertCliError(result, "BucketNotEmpty", "The bucket you tried to delete is not empty")
        self.assertIn("remove_bucket failed: s3://cli-full", result.err)
        self.assertEqual(len(self.keys("cli-full")), 3)
        out = self.assertCliOk(self.server.aws("s3", "rb", "s3://cli-full", "--force"))
        self.assertIn("remove_bucket: cli-full", out)
        result = self.server.aws("s3api", "head-bucket", "--bucket", "cli-full")
        self.assertCliError(result, "404", "Not Found")

    def test_presign_url_from_the_cli(self):
        self.assertCliOk(self.server.aws("s3", "mb", "s3://cli-presign"))
        self.s3.put_object(Bucket="cli-presign", Key="shared.txt", Body=b"shared by url")
        # The CLI presigns with SigV2 unless told otherwise; Hangar speaks SigV4 query auth.
        config = self.path("aws-config")
        write(config, b"[default]\ns3 =\n    signature_version = s3v4\n")
        env = self.server.aws_env()
        env["AWS_CONFIG_FILE"] = config
        url = self.assertCliOk(self.server.aws("s3", "presign", "s3://cli-presign/shared.txt",
                                               "--expires-in", "120", env=env))
        self.assertIn("X-Amz-Signature=", url)
        with urllib.request.urlopen(url, timeout=30) as response:
            self.assertEqual(response.read(), b"shared by url")


if __name__ == "__main__":
    import unittest
    unittest.main()
