#!/usr/bin/env python3
"""S3 versioning benchmark: 4 KiB PUT and GET on a versioned bucket beside an unversioned one, in
one Hangar, and ListObjectVersions paging through a key with 10,000 versions.

Bars (issue 11):
  * versioned 4 KiB PUT and GET >= 90% of unversioned (same server, same s3_load settings; runs
    alternate so drift hits both alike);
  * each ListObjectVersions page (1,000 entries) over a key with 10,000 versions < 10 ms,
    measured as the server's wall time per request from a keep-alive client (median and worst).

Exit status is 0 whatever the figures, unless --strict. Builds nothing: pass the binaries.

Usage: python3 bench/s3_versioning_bench.py [--duration 8] [--versions 10000] [--strict]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import s3_bench as sb  # noqa: E402  (the shared server starter and s3_load runner)

MIN_RATIO = 0.90
MAX_PAGE_MS = 10.0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sb.add_program_options(p, "hangar", "s3-load")
    p.add_argument("--duration", type=float, default=8.0, help="seconds per 4 KiB run")
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds per workload")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--objects", type=int, default=2000)
    p.add_argument("--versions", type=int, default=10000, help="versions of the listed key")
    p.add_argument("--strict", action="store_true")
    args = p.parse_args()
    args.load_threads = 1
    return args


def load(args, server, op, bucket):
    extra = ["--connections", str(args.connections), "--duration", str(args.duration),
             "--warmup", "1"]
    r = sb.s3_load(args, server, op, 4096, "obj/", args.objects, extra,
                   label=f"{bucket} {op}", bucket=bucket)
    return r["rate"]


def fill_versions(server, bucket, key, count):
    """`count` versions of one key, written by 4 parallel clients (writers to one key serialise:
    a SlowDown is retried)."""
    s3 = server.s3()

    def put(i):
        for _ in range(20):
            try:
                return s3.put_object(Bucket=bucket, Key=key, Body=b"%d" % i)
            except s3.exceptions.ClientError as e:
                if e.response["Error"]["Code"] != "SlowDown":
                    raise
        raise RuntimeError("PUT kept answering SlowDown")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(put, range(count)))


def page_times(server, bucket, key):
    """Wall time of each page's request and response on a keep-alive connection, signed but not
    parsed by botocore (its XML parsing of 1,000 entries takes over 100 ms a page, far more than
    the server's answer). Also the listed version ids, in order."""
    import http.client
    import urllib.parse
    import xml.etree.ElementTree as ET

    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials

    credentials = botocore.credentials.Credentials(server.access_key_id, server.secret_access_key)
    conn = http.client.HTTPConnection("127.0.0.1", server.port)
    ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
    params = {"versions": "", "prefix": key, "max-keys": "1000"}
    times, listed = [], []
    while True:
        query = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        url = f"{server.endpoint}/{bucket}?{query}"
        request = botocore.awsrequest.AWSRequest(method="GET", url=url)
        botocore.auth.S3SigV4Auth(credentials, "s3", sb.REGION).add_auth(request)
        start = time.perf_counter()
        conn.request("GET", f"/{bucket}?{query}", headers=dict(request.headers.items()))
        body = conn.getresponse().read()
        times.append((time.perf_counter() - start) * 1000)
        root = ET.fromstring(body)
        listed += [v.findtext("s3:VersionId", namespaces=ns) for v in root.findall("s3:Version", ns)]
        if root.findtext("s3:IsTruncated", namespaces=ns) != "true":
            return times, listed
        params["key-marker"] = root.findtext("s3:NextKeyMarker", namespaces=ns)
        params["version-id-marker"] = root.findtext("s3:NextVersionIdMarker", namespaces=ns)


def listing_matches_boto3(server, bucket, key, listed, versions):
    """The timed listing is the one boto3 pages through (untimed), and holds every version."""
    pages = server.s3().get_paginator("list_object_versions").paginate(
        Bucket=bucket, Prefix=key, PaginationConfig={"PageSize": 1000})
    ids = [v["VersionId"] for page in pages for v in page.get("Versions", [])]
    return ids == listed and len(set(ids)) == versions


def main():
    args = parse_args()
    root = tempfile.mkdtemp(prefix="hangar-versioning-bench-")
    server = sb.start_hangar(args, root)  # creates the unversioned bucket "bench"
    try:
        s3 = server.s3()
        s3.create_bucket(Bucket="versioned")
        s3.put_bucket_versioning(Bucket="versioned",
                                 VersioningConfiguration={"Status": "Enabled"})
        results = {}
        for op in ("put", "get"):
            for bucket in ("bench", "versioned"):
                results[(op, bucket)] = []
            for _ in range(args.rounds):
                for bucket in ("bench", "versioned"):
                    results[(op, bucket)].append(load(args, server, op, bucket))
        fill_versions(server, "versioned", "hot", args.versions)
        page_times(server, "versioned", "hot")  # warm
        cpu_before = server.cpu_seconds()
        times, listed = page_times(server, "versioned", "hot")
        # The server's CPU per page (all its threads): unlike wall time, other work on the
        # machine barely moves it.
        cpu_per_page = (server.cpu_seconds() - cpu_before) * 1000 / len(times)
        listing_ok = listing_matches_boto3(server, "versioned", "hot", listed, args.versions)
        print()
        print(f"{'workload':<12}{'unversioned':>14}{'versioned':>14}{'ratio':>8}  bar")
        failed = False
        for op in ("put", "get"):
            plain = statistics.median(results[(op, "bench")])
            versioned = statistics.median(results[(op, "versioned")])
            ratio = versioned / plain
            ok = ratio >= MIN_RATIO
            failed |= not ok
            print(f"{op + ' 4KiB':<12}{plain:>12,.0f}/s{versioned:>12,.0f}/s{ratio:>8.2f}  "
                  f">= {MIN_RATIO:.2f} {'PASS' if ok else 'FAIL'}")
        worst, median = max(times), statistics.median(times)
        ok = worst < MAX_PAGE_MS and listing_ok
        failed |= not ok
        print(f"ListObjectVersions: {len(listed)} versions in {len(times)} pages; per page median "
              f"{median:.1f} ms, worst {worst:.1f} ms (server CPU {cpu_per_page:.1f} ms/page)  "
              f"< {MAX_PAGE_MS:.0f} ms {'PASS' if ok else 'FAIL'}")
        if not listing_ok:
            print("ListObjectVersions: the listing differs from boto3's or misses versions")
        return 1 if (args.strict and failed) else 0
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
