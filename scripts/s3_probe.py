#!/usr/bin/env python3
"""Smoke-test and capability probe for the local S3 test backends.

Reads the endpoints and keys from the environment written by
`scripts/backends.sh up` (source target/backends.env first), e.g.

    . target/backends.env
    python3 scripts/s3_probe.py                 # quick smoke test of every backend
    python3 scripts/s3_probe.py --full garage   # full capability table of one backend

The quick mode (used by `backends.sh up --smoke`) does create bucket, put, get,
list, delete, and checks that a wrong secret is refused (where the backend
enforces SigV4) and, for moto, STS AssumeRole.  The full mode additionally
probes the features the shared behavior suite depends on and prints one line
per feature: `name  ok|NO|...  detail`.

Only boto3/botocore/requests are needed (they come with moto[server]).
"""
import argparse
import base64
import binascii
import hashlib
import io
import os
import sys
import time
import uuid
import zlib

import boto3
import botocore
import requests
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

NAMES = ["seaweedfs", "moto", "garage"]
# Backends that are expected to refuse a wrong secret / anonymous requests.
ENFORCES_AUTH = {"seaweedfs": True, "garage": True, "moto": False}


def env(name, var):
    return os.environ.get(f"S3FLOW_TEST_{name.upper()}_{var}")


def client(name, service="s3", secret=None, key=None, **cfg):
    conf = Config(
        s3={"addressing_style": "path"},
        signature_version="s3v4",
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=60,
        **cfg,
    )
    return boto3.client(
        service,
        endpoint_url=env(name, "ENDPOINT"),
        aws_access_key_id=key or env(name, "ACCESS_KEY_ID"),
        aws_secret_access_key=secret or env(name, "SECRET_ACCESS_KEY"),
        region_name=env(name, "REGION"),
        config=conf,
    )


def err(e):
    """Short description of a ClientError: HTTP status and error code."""
    if isinstance(e, ClientError):
        r = e.response
        return f"{r.get('ResponseMetadata', {}).get('HTTPStatusCode')} {r.get('Error', {}).get('Code')}"
    return f"{type(e).__name__}: {str(e)[:120]}"


class Probe:
    def __init__(self, name):
        self.name = name
        self.s3 = client(name)
        self.rows = []
        self.failed = False
        self.buckets = []

    def row(self, feature, status, detail=""):
        self.rows.append((feature, status, detail))
        print(f"  {feature:<34} {status:<5} {detail}", flush=True)

    def check(self, feature, fn, required=False):
        try:
            res = fn()
            if res is None or res is True:
                self.row(feature, "ok")
            elif res is False:
                self.row(feature, "NO")
                self.failed |= required
            else:
                ok, detail = res
                self.row(feature, "ok" if ok else "NO", detail)
                self.failed |= required and not ok
        except Exception as e:  # noqa: BLE001 - a probe records everything
            self.row(feature, "NO", err(e))
            self.failed |= required

    def new_bucket(self):
        b = f"s3flow-probe-{uuid.uuid4().hex[:12]}"
        self.s3.create_bucket(Bucket=b)
        self.buckets.append(b)
        return b

    def cleanup(self):
        for b in self.buckets:
            try:
                try:
                    vs = self.s3.list_object_versions(Bucket=b)
                    objs = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                            for v in vs.get("Versions", []) + vs.get("DeleteMarkers", [])]
                except Exception:  # noqa: BLE001
                    objs = []
                for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=b):
                    objs += [{"Key": o["Key"]} for o in page.get("Contents", [])]
                for o in objs:
                    try:
                        self.s3.delete_object(Bucket=b, **o)
                    except Exception:  # noqa: BLE001
                        pass
                ups = self.s3.list_multipart_uploads(Bucket=b).get("Uploads", [])
                for u in ups:
                    self.s3.abort_multipart_upload(Bucket=b, Key=u["Key"], UploadId=u["UploadId"])
                self.s3.delete_bucket(Bucket=b)
            except Exception as e:  # noqa: BLE001
                print(f"  (cleanup of {b} failed: {err(e)})", flush=True)

    # ---------------------------------------------------------------- quick
    def quick(self):
        s3 = self.s3
        self.check("list_buckets", lambda: s3.list_buckets() and None, required=True)
        b = None

        def basic():
            nonlocal b
            b = self.new_bucket()
            body = os.urandom(1000)
            s3.put_object(Bucket=b, Key="dir/hello.bin", Body=body)
            got = s3.get_object(Bucket=b, Key="dir/hello.bin")["Body"].read()
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])]
            s3.delete_object(Bucket=b, Key="dir/hello.bin")
            left = s3.list_objects_v2(Bucket=b).get("KeyCount", 0)
            return (got == body and keys == ["dir/hello.bin"] and left == 0,
                    f"keys={keys} left={left}")

        self.check("create/put/get/list/delete", basic, required=True)
        if ENFORCES_AUTH.get(self.name):
            self.check("wrong secret refused", self.wrong_secret_refused, required=True)
            self.check("anonymous refused", self.anonymous_refused, required=True)
        if self.name == "moto":
            self.check("sts assume_role", self.sts_assume_role, required=True)

    def raw_get(self, path):
        """Signed GET returning (status, body text), bypassing botocore's lenient parsers."""
        url = env(self.name, "ENDPOINT") + path
        req = AWSRequest(method="GET", url=url, headers={"X-Amz-Content-SHA256": hashlib.sha256(b"").hexdigest()})
        creds = Credentials(env(self.name, "ACCESS_KEY_ID"), env(self.name, "SECRET_ACCESS_KEY"))
        _KeepSha256Auth(creds, "s3", env(self.name, "REGION")).add_auth(req)
        r = requests.get(url, headers=dict(req.headers.items()), timeout=10)
        return r.status_code, r.text

    def location_root(self):
        st, body = self.raw_get(f"/{self.b}?location")
        body = body.split("?>", 1)[-1].strip()
        root = body[1:].split(">", 1)[0].split(" ", 1)[0] if body.startswith("<") else body[:40]
        return root == "LocationConstraint", f"HTTP {st} root <{root}> (S3: <LocationConstraint>)"

    def wrong_secret_refused(self):
        bad = client(self.name, secret="not-the-secret-0000000000000000000000")
        try:
            bad.list_buckets()
            return False, "wrong secret accepted"
        except ClientError as e:
            return e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, err(e)

    def anonymous_refused(self):
        r = requests.get(env(self.name, "ENDPOINT") + "/", timeout=10)
        return r.status_code == 403, f"HTTP {r.status_code}"

    def sts_assume_role(self):
        sts = client(self.name, "sts")
        c = sts.assume_role(RoleArn="arn:aws:iam::123456789012:role/s3flow-test",
                            RoleSessionName="s3flow")["Credentials"]
        ident = sts.get_caller_identity()["Arn"]
        return bool(c["AccessKeyId"] and c["SessionToken"]), f"caller={ident}"

    # ----------------------------------------------------------------- full
    def full(self):
        s3 = self.s3
        b = self.new_bucket()
        self.b = b

        self.check("GetBucketLocation", lambda: (True, repr(s3.get_bucket_location(Bucket=b).get("LocationConstraint"))))
        self.check("GetBucketLocation XML root", self.location_root)
        self.check("HeadBucket", lambda: s3.head_bucket(Bucket=b) and None)

        def create_again():
            try:
                s3.create_bucket(Bucket=b)
                return True, "200 (idempotent)"
            except ClientError as e:
                return True, err(e)
        self.check("CreateBucket existing ->", create_again)

        # --- errors
        s3.put_object(Bucket=b, Key="keep", Body=b"x")
        missing_b = "s3flow-missing-" + uuid.uuid4().hex[:8]
        self.check("GetObject missing bucket ->", lambda: self.expect_err(lambda: s3.get_object(Bucket=missing_b, Key="k")))
        self.check("ListObjectsV2 missing bucket ->", lambda: self.expect_err(lambda: s3.list_objects_v2(Bucket=missing_b)))
        self.check("PutObject missing bucket ->", lambda: self.expect_err(lambda: s3.put_object(Bucket=missing_b, Key="k", Body=b"x")))
        self.check("HeadBucket missing ->", lambda: self.expect_err(lambda: s3.head_bucket(Bucket=missing_b)))
        self.check("GetObject missing key ->", lambda: self.expect_err(lambda: s3.get_object(Bucket=b, Key="nope")))
        self.check("HeadObject missing key ->", lambda: self.expect_err(lambda: s3.head_object(Bucket=b, Key="nope")))
        self.check("CopyObject missing source key ->", lambda: self.expect_err(
            lambda: s3.copy_object(Bucket=b, Key="c", CopySource={"Bucket": b, "Key": "nope"})))
        self.check("CopyObject missing source bucket ->", lambda: self.expect_err(
            lambda: s3.copy_object(Bucket=b, Key="c", CopySource={"Bucket": missing_b, "Key": "nope"})))
        self.check("CopyObject to missing dest bucket ->", lambda: self.expect_err(
            lambda: s3.copy_object(Bucket=missing_b, Key="c", CopySource={"Bucket": b, "Key": "keep"})))
        self.check("DeleteObject missing key ->", lambda: (True, str(s3.delete_object(Bucket=b, Key="nope")["ResponseMetadata"]["HTTPStatusCode"])))

        def del_nonempty():
            try:
                s3.delete_bucket(Bucket=b)
                self.buckets.remove(b)
                return False, "non-empty bucket was deleted!"
            except ClientError as e:
                return e.response["Error"]["Code"] == "BucketNotEmpty", err(e)
            finally:
                if b in self.buckets:
                    s3.delete_object(Bucket=b, Key="keep")
        self.check("DeleteBucket non-empty ->", del_nonempty)

        # --- basic object semantics
        def meta_roundtrip():
            s3.put_object(Bucket=b, Key="meta", Body=b"hello world", ContentType="text/x-s3flow",
                          Metadata={"color": "blue", "multi-word": "a b"})
            h = s3.head_object(Bucket=b, Key="meta")
            ok = (h["ContentType"] == "text/x-s3flow" and h["Metadata"] == {"color": "blue", "multi-word": "a b"}
                  and h["ContentLength"] == 11 and h["ETag"].strip('"') == hashlib.md5(b"hello world").hexdigest())
            return ok, f"ct={h['ContentType']} meta={h['Metadata']} etag={h['ETag']}"
        self.check("content-type/metadata/md5 ETag", meta_roundtrip)

        def range_get():
            r = s3.get_object(Bucket=b, Key="meta", Range="bytes=2-5")
            body = r["Body"].read()
            return body == b"llo " and r["ResponseMetadata"]["HTTPStatusCode"] == 206, f"{r['ResponseMetadata']['HTTPStatusCode']} {r.get('ContentRange')}"
        self.check("Range GET", range_get)

        def range_unsat():
            return self.expect_err(lambda: s3.get_object(Bucket=b, Key="meta", Range="bytes=100-200"))
        self.check("Range unsatisfiable ->", range_unsat)

        def cond_get():
            etag = s3.head_object(Bucket=b, Key="meta")["ETag"]
            out = []
            for kw in ({"IfNoneMatch": etag}, {"IfMatch": '"0000"'}):
                try:
                    r = s3.get_object(Bucket=b, Key="meta", **kw)
                    out.append(f"{list(kw)[0]}:{r['ResponseMetadata']['HTTPStatusCode']}")
                except ClientError as e:
                    out.append(f"{list(kw)[0]}:{err(e)}")
            return out[0].startswith("IfNoneMatch:304") and out[1].startswith("IfMatch:412"), " ".join(out)
        self.check("conditional GET 304/412", cond_get)

        def cond_put():
            try:
                s3.put_object(Bucket=b, Key="cond", Body=b"first")
                s3.put_object(Bucket=b, Key="cond", Body=b"x", IfNoneMatch="*")
                return False, "overwrote existing object (If-None-Match ignored)"
            except ClientError as e:
                return e.response["ResponseMetadata"]["HTTPStatusCode"] == 412, err(e)
        self.check("PUT If-None-Match:* ->", cond_put)

        def list_ops():
            for k in ["l/a", "l/b", "l/c/d", "l/c/e", "l/f"]:
                s3.put_object(Bucket=b, Key=k, Body=b"")
            r = s3.list_objects_v2(Bucket=b, Prefix="l/", Delimiter="/")
            keys = [o["Key"] for o in r.get("Contents", [])]
            cps = [p["Prefix"] for p in r.get("CommonPrefixes", [])]
            pages, tok, seen = 0, None, []
            while True:
                kw = {"ContinuationToken": tok} if tok else {}
                p = s3.list_objects_v2(Bucket=b, Prefix="l/", MaxKeys=2, **kw)
                pages += 1
                seen += [o["Key"] for o in p.get("Contents", [])]
                if not p.get("IsTruncated"):
                    break
                tok = p["NextContinuationToken"]
            sa = s3.list_objects_v2(Bucket=b, Prefix="l/", StartAfter="l/c/d")
            sa_keys = [o["Key"] for o in sa.get("Contents", [])]
            v1 = s3.list_objects(Bucket=b, Prefix="l/", MaxKeys=2)
            ok = (keys == ["l/a", "l/b", "l/f"] and cps == ["l/c/"] and pages == 3
                  and seen == ["l/a", "l/b", "l/c/d", "l/c/e", "l/f"] and sa_keys == ["l/c/e", "l/f"]
                  and v1.get("IsTruncated"))
            return ok, f"delim keys={keys} prefixes={cps} pages={pages} startafter={sa_keys} v1trunc={v1.get('IsTruncated')}"
        self.check("ListObjectsV2 delim/pages/StartAfter", list_ops)

        def delete_objects():
            for k in ["d1", "d2"]:
                s3.put_object(Bucket=b, Key=k, Body=b"x")
            r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "d1"}, {"Key": "d2"}, {"Key": "d-missing"}]})
            deleted = sorted(d["Key"] for d in r.get("Deleted", []))
            errs = r.get("Errors", [])
            left = [o["Key"] for o in s3.list_objects_v2(Bucket=b, Prefix="d").get("Contents", [])]
            return not left and not errs, f"deleted={deleted} errors={errs}"
        self.check("DeleteObjects (incl. missing key)", delete_objects)

        def copy():
            s3.put_object(Bucket=b, Key="copy-src", Body=b"hello world", ContentType="text/x-s3flow",
                          Metadata={"color": "blue", "multi-word": "a b"})
            s3.copy_object(Bucket=b, Key="meta-copy", CopySource={"Bucket": b, "Key": "copy-src"})
            h = s3.head_object(Bucket=b, Key="meta-copy")
            body = s3.get_object(Bucket=b, Key="meta-copy")["Body"].read()
            s3.copy_object(Bucket=b, Key="meta-copy2", CopySource={"Bucket": b, "Key": "copy-src"},
                           MetadataDirective="REPLACE", Metadata={"new": "1"}, ContentType="text/plain")
            h2 = s3.head_object(Bucket=b, Key="meta-copy2")
            ok = body == b"hello world" and h["Metadata"].get("color") == "blue" and h2["Metadata"] == {"new": "1"} \
                and h2["ContentType"] == "text/plain"
            return ok, f"copied meta={h['Metadata']} replaced meta={h2['Metadata']} ct={h2['ContentType']}"
        self.check("CopyObject (+ metadata REPLACE)", copy)

        def copy_special():
            k = "src with space+plus/ü"
            s3.put_object(Bucket=b, Key=k, Body=b"special")
            s3.copy_object(Bucket=b, Key="copy-of-special", CopySource={"Bucket": b, "Key": k})
            return s3.get_object(Bucket=b, Key="copy-of-special")["Body"].read() == b"special"
        self.check("CopyObject source key + ' ' ü", copy_special)

        self.check("multipart upload", self.multipart)
        self.check("multipart abort/list", self.multipart_abort)
        self.check("UploadPartCopy", self.upload_part_copy)

        for label, key in [("key with +", "a+b c+d.txt"), ("key with //", "a//b///c"), ("key leading /", "/lead"),
                           ("key unicode", "ünï/日本語/😀.txt"), ("key 1024 bytes", "k" * 1024),
                           ("key 1024 bytes in 64-byte segments", "/".join(["s" * 63] * 17)[:1023] + "z"),
                           ("key 1024 bytes utf-8", "é" * 512), ("key special chars", "a%20b?c=d&e#f;g:h@i'j!(k)*l~m"),
                           ("key trailing /", "dir-marker/"), ("key with . and ..", "x/./y/../z")]:
            self.check(label, lambda key=key: self.key_roundtrip(key))
        self.check("max key length", self.max_key_len)
        self.check("key 1025 bytes ->", lambda: self.expect_err(lambda: s3.put_object(Bucket=b, Key="k" * 1025, Body=b"x"), want_error=True))

        self.check("presigned GET", self.presigned_get)
        self.check("presigned PUT", self.presigned_put)
        self.check("presigned expiry enforced", self.presigned_expiry)
        self.check("presign bad signature refused", self.presigned_tampered)

        self.check("object tagging", self.tagging)
        self.check("PutObject with Tagging header", self.tagging_header)
        self.check("GetBucketAcl", lambda: (True, "owner=" + self.s3.get_bucket_acl(Bucket=self.b).get("Owner", {}).get("ID", "")[:20]))
        self.check("GetObjectAcl", self.acl_get)
        self.check("ACL put canned", self.acl_put)
        self.check("versioning", self.versioning)

        self.check("PutObject default checksum (boto3)", self.boto_default_checksum)
        self.check("aws-chunked unsigned trailer CRC32", lambda: self.aws_chunked(False, "crc32"))
        self.check("aws-chunked bad trailer CRC32 ->", lambda: self.aws_chunked(False, "crc32", corrupt=True))
        self.check("aws-chunked signed chunks (no trailer)", lambda: self.aws_chunked(True, None))
        self.check("aws-chunked signed chunks + CRC32 trailer", lambda: self.aws_chunked(True, "crc32"))
        self.check("  same, Garage-2.5-style trailer sig", lambda: self.aws_chunked(True, "crc32", garage_style=True))
        self.check("aws-chunked signed + bad CRC32 trailer ->", lambda: self.aws_chunked(True, "crc32", corrupt=True))
        self.check("aws-chunked bad chunk signature ->", lambda: self.aws_chunked(True, "crc32", bad_sig=True))
        self.check("aws-chunked bad trailer signature ->", lambda: self.aws_chunked(True, "crc32", bad_sig="trailer"))
        self.check("x-amz-checksum-crc32 header mismatch ->", self.bad_crc_header)
        self.check("aws-chunked unsigned trailer CRC32C", lambda: self.aws_chunked(False, "crc32c"))
        self.check("GetObject ChecksumMode=ENABLED", self.get_checksum)
        self.check("Content-MD5 mismatch refused", self.bad_md5)

    def expect_err(self, fn, want_error=True):
        try:
            r = fn()
            return (not want_error), f"no error ({r['ResponseMetadata']['HTTPStatusCode']})"
        except ClientError as e:
            return True, err(e)

    def key_roundtrip(self, key):
        s3, b = self.s3, self.b
        body = ("v:" + key).encode()
        before = set(self.all_keys())
        s3.put_object(Bucket=b, Key=key, Body=body)
        got = s3.get_object(Bucket=b, Key=key)["Body"].read()
        new = sorted(set(self.all_keys()) - before)
        s3.delete_object(Bucket=b, Key=key)
        after = set(self.all_keys())
        gone = not (after - before)
        ok = got == body and new == [key] and gone
        detail = "" if ok else (f"get={'ok' if got == body else repr(got[:40])} listed-as={[k[:40] for k in new]} "
                                f"deleted={'ok' if gone else sorted(after - before)}")
        return ok, detail

    def all_keys(self):
        return [o["Key"] for p in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.b)
                for o in p.get("Contents", [])]

    def max_key_len(self):
        """Longest accepted key made of one path segment, and of 100-byte segments."""
        s3, b = self.s3, self.b
        out, lens = [], []
        for label, mk in (("one segment", lambda n: "k" * n),
                          ("100-byte segments", lambda n: "/".join(["s" * 99] * (n // 100 + 1))[:n].rstrip("/"))):
            lo, hi = 0, 1024
            while lo < hi:
                mid = (lo + hi + 1) // 2
                key = mk(mid)
                try:
                    s3.put_object(Bucket=b, Key=key, Body=b"x")
                    s3.delete_object(Bucket=b, Key=key)
                    lo = mid
                except ClientError:
                    hi = mid - 1
            out.append(f"{label}: {lo}")
            lens.append(lo)
        return min(lens) >= 1024, "max accepted key bytes: " + ", ".join(out)

    def multipart(self):
        s3, b = self.s3, self.b
        p1, p2, p3 = os.urandom(5 * 1024 * 1024), os.urandom(5 * 1024 * 1024), os.urandom(1234)
        u = s3.create_multipart_upload(Bucket=b, Key="mp/obj", ContentType="application/x-mp", Metadata={"m": "1"})
        uid = u["UploadId"]
        parts = []
        for i, p in enumerate([p1, p2, p3], 1):
            e = s3.upload_part(Bucket=b, Key="mp/obj", UploadId=uid, PartNumber=i, Body=p)["ETag"]
            parts.append({"PartNumber": i, "ETag": e})
        lp = s3.list_parts(Bucket=b, Key="mp/obj", UploadId=uid)
        r = s3.complete_multipart_upload(Bucket=b, Key="mp/obj", UploadId=uid, MultipartUpload={"Parts": parts})
        got = s3.get_object(Bucket=b, Key="mp/obj")
        data = got["Body"].read()
        h = s3.head_object(Bucket=b, Key="mp/obj", PartNumber=2)
        md5s = b"".join(hashlib.md5(p).digest() for p in [p1, p2, p3])
        want_etag = f'"{hashlib.md5(md5s).hexdigest()}-3"'
        ok = data == p1 + p2 + p3 and len(lp.get("Parts", [])) == 3
        return ok, (f"etag={r['ETag']}{' (=md5-of-md5s)' if r['ETag'] == want_etag else ' (NOT md5-of-md5s)'} "
                    f"meta={got['Metadata']} ct={got['ContentType']} head?partNumber=2 len={h['ContentLength']}")

    def multipart_abort(self):
        s3, b = self.s3, self.b
        uid = s3.create_multipart_upload(Bucket=b, Key="mp/aborted")["UploadId"]
        s3.upload_part(Bucket=b, Key="mp/aborted", UploadId=uid, PartNumber=1, Body=b"x" * 100)
        listed = [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=b).get("Uploads", [])]
        s3.abort_multipart_upload(Bucket=b, Key="mp/aborted", UploadId=uid)
        after = [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=b).get("Uploads", [])]
        try:
            s3.list_parts(Bucket=b, Key="mp/aborted", UploadId=uid)
            nsu = "list_parts after abort: no error"
        except ClientError as e:
            nsu = f"list_parts after abort: {err(e)}"
        small = s3.create_multipart_upload(Bucket=b, Key="mp/small")["UploadId"]
        es = [s3.upload_part(Bucket=b, Key="mp/small", UploadId=small, PartNumber=i, Body=b"y" * 10)["ETag"] for i in (1, 2)]
        try:
            s3.complete_multipart_upload(Bucket=b, Key="mp/small", UploadId=small,
                                         MultipartUpload={"Parts": [{"PartNumber": i, "ETag": e} for i, e in zip((1, 2), es)]})
            small_res = "10-byte non-last part accepted"
        except ClientError as e:
            small_res = f"10-byte non-last part: {err(e)}"
            s3.abort_multipart_upload(Bucket=b, Key="mp/small", UploadId=small)
        return uid in listed and uid not in after, f"{nsu}; {small_res}"

    def upload_part_copy(self):
        s3, b = self.s3, self.b
        src = os.urandom(6 * 1024 * 1024)
        s3.put_object(Bucket=b, Key="upc/src", Body=src)
        uid = s3.create_multipart_upload(Bucket=b, Key="upc/dst")["UploadId"]
        e1 = s3.upload_part_copy(Bucket=b, Key="upc/dst", UploadId=uid, PartNumber=1,
                                 CopySource={"Bucket": b, "Key": "upc/src"}, CopySourceRange="bytes=0-5242879")["CopyPartResult"]["ETag"]
        e2 = s3.upload_part_copy(Bucket=b, Key="upc/dst", UploadId=uid, PartNumber=2,
                                 CopySource={"Bucket": b, "Key": "upc/src"}, CopySourceRange=f"bytes=5242880-{len(src) - 1}")["CopyPartResult"]["ETag"]
        s3.complete_multipart_upload(Bucket=b, Key="upc/dst", UploadId=uid,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
        return s3.get_object(Bucket=b, Key="upc/dst")["Body"].read() == src

    def presigned_get(self):
        s3, b = self.s3, self.b
        s3.put_object(Bucket=b, Key="pre/a b+c", Body=b"presigned")
        url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "pre/a b+c"}, ExpiresIn=300)
        r = requests.get(url, timeout=10)
        return r.status_code == 200 and r.content == b"presigned", f"HTTP {r.status_code}"

    def presigned_put(self):
        s3, b = self.s3, self.b
        url = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "pre/put"}, ExpiresIn=300)
        r = requests.put(url, data=b"via-presigned-put", timeout=10)
        got = s3.get_object(Bucket=b, Key="pre/put")["Body"].read() if r.status_code == 200 else None
        return got == b"via-presigned-put", f"HTTP {r.status_code}"

    def presigned_expiry(self):
        s3, b = self.s3, self.b
        url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "pre/a b+c"}, ExpiresIn=1)
        time.sleep(2.5)
        r = requests.get(url, timeout=10)
        code = ""
        if b"<Code>" in r.content:
            code = r.content.split(b"<Code>")[1].split(b"</Code>")[0].decode()
        # AWS answers 403 AccessDenied; any 4xx refusal counts as enforced.
        return 400 <= r.status_code < 500, f"after expiry: HTTP {r.status_code} {code}"

    def presigned_tampered(self):
        s3, b = self.s3, self.b
        url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "pre/a b+c"}, ExpiresIn=300)
        bad = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")[:-1]
        r = requests.get(bad, timeout=10)
        return r.status_code == 403, f"HTTP {r.status_code}"

    def tagging(self):
        s3, b = self.s3, self.b
        s3.put_object(Bucket=b, Key="tag", Body=b"x")
        s3.put_object_tagging(Bucket=b, Key="tag", Tagging={"TagSet": [{"Key": "k1", "Value": "v1"}, {"Key": "k 2", "Value": "v=2"}]})
        ts = s3.get_object_tagging(Bucket=b, Key="tag")["TagSet"]
        s3.delete_object_tagging(Bucket=b, Key="tag")
        after = s3.get_object_tagging(Bucket=b, Key="tag")["TagSet"]
        ok = sorted((t["Key"], t["Value"]) for t in ts) == [("k 2", "v=2"), ("k1", "v1")] and after == []
        return ok, f"got={ts} after-delete={after}"

    def tagging_header(self):
        s3, b = self.s3, self.b
        s3.put_object(Bucket=b, Key="tag2", Body=b"x", Tagging="a=1&b=2")
        ts = s3.get_object_tagging(Bucket=b, Key="tag2")["TagSet"]
        cnt = s3.get_object(Bucket=b, Key="tag2").get("TagCount")
        return sorted((t["Key"], t["Value"]) for t in ts) == [("a", "1"), ("b", "2")], f"TagCount={cnt}"

    def acl_get(self):
        s3, b = self.s3, self.b
        s3.put_object(Bucket=b, Key="acl", Body=b"x")
        oa = s3.get_object_acl(Bucket=b, Key="acl")
        g = [(x["Grantee"].get("Type"), x["Permission"]) for x in oa.get("Grants", [])]
        return True, f"grants={g}"

    def acl_put(self):
        s3, b = self.s3, self.b
        s3.put_object(Bucket=b, Key="acl2", Body=b"x", ACL="public-read")
        g = [(x["Grantee"].get("URI", x["Grantee"].get("ID", ""))[-10:], x["Permission"])
             for x in s3.get_object_acl(Bucket=b, Key="acl2").get("Grants", [])]
        anon = requests.get(f"{env(self.name, 'ENDPOINT')}/{b}/acl2", timeout=10).status_code
        return True, f"grants={g} anonymous GET={anon}"

    def versioning(self):
        s3 = self.s3
        b = self.new_bucket()
        s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
        st = s3.get_bucket_versioning(Bucket=b).get("Status")
        v1 = s3.put_object(Bucket=b, Key="v", Body=b"one").get("VersionId")
        v2 = s3.put_object(Bucket=b, Key="v", Body=b"two").get("VersionId")
        old = s3.get_object(Bucket=b, Key="v", VersionId=v1)["Body"].read() if v1 else None
        s3.delete_object(Bucket=b, Key="v")
        lv = s3.list_object_versions(Bucket=b)
        nv, nd = len(lv.get("Versions", [])), len(lv.get("DeleteMarkers", []))
        ok = st == "Enabled" and v1 and v2 and v1 != v2 and old == b"one" and nv == 2 and nd == 1
        return ok, f"status={st} v1={v1} old={old} versions={nv} deletemarkers={nd}"

    # --- checksums and aws-chunked
    def boto_default_checksum(self):
        s3, b = self.s3, self.b
        r = s3.put_object(Bucket=b, Key="ck", Body=b"checksum me")
        ret = {k: v for k, v in r.items() if k.startswith("Checksum")}
        return True, f"boto3 {boto3.__version__} sends x-amz-checksum-crc32 header; response {ret or 'no checksum echoed'}"

    def get_checksum(self):
        s3, b = self.s3, self.b
        s3.put_object(Bucket=b, Key="ck2", Body=b"checksum me", ChecksumAlgorithm="CRC32")
        r = s3.get_object(Bucket=b, Key="ck2", ChecksumMode="ENABLED")
        r["Body"].read()
        ret = {k: v for k, v in r.items() if k.startswith("Checksum")}
        return True, f"returned={ret or 'none'}"

    def bad_md5(self):
        s3, b = self.s3, self.b
        try:
            s3.put_object(Bucket=b, Key="md5", Body=b"data", ContentMD5=base64.b64encode(hashlib.md5(b"other").digest()).decode())
            return False, "accepted"
        except ClientError as e:
            return True, err(e)

    def bad_crc_header(self):
        s3, b = self.s3, self.b
        try:
            s3.put_object(Bucket=b, Key="badcrc", Body=b"data", ChecksumCRC32=base64.b64encode(b"\0\0\0\0").decode())
            return False, "accepted"
        except ClientError as e:
            return True, err(e)

    def aws_chunked(self, signed, algo, corrupt=False, bad_sig=False, garage_style=False):
        """PUT with Content-Encoding: aws-chunked, as the AWS SDKs (Rust SDK by default for
        PutObject/UploadPart) send it: STREAMING-UNSIGNED-PAYLOAD-TRAILER with a trailing
        x-amz-checksum-crc32, or signed chunks STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]."""
        b = self.b
        key = f"chunked-{'s' if signed else 'u'}-{algo}-{int(corrupt)}{bad_sig and 1 or 0}{int(garage_style)}"
        data = os.urandom(70000)
        chunks = [data[:65536], data[65536:]]
        url = f"{env(self.name, 'ENDPOINT')}/{b}/{key}"
        region = env(self.name, "REGION")
        creds = Credentials(env(self.name, "ACCESS_KEY_ID"), env(self.name, "SECRET_ACCESS_KEY"))
        trailer = None
        if algo == "crc32":
            c = zlib.crc32(data).to_bytes(4, "big")
            if corrupt:
                c = bytes([c[0] ^ 0xFF]) + c[1:]
            trailer = ("x-amz-checksum-crc32", base64.b64encode(c).decode())
        elif algo == "crc32c":
            trailer = ("x-amz-checksum-crc32c", base64.b64encode(crc32c(data).to_bytes(4, "big")).decode())
        if signed:
            sha = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" + ("-TRAILER" if trailer else "")
        else:
            sha = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        headers = {
            "Content-Encoding": "aws-chunked",
            "x-amz-decoded-content-length": str(len(data)),
            "X-Amz-Content-SHA256": sha,
        }
        if trailer:
            headers["x-amz-trailer"] = trailer[0]
        req = AWSRequest(method="PUT", url=url, headers=headers)
        # botocore's S3SigV4Auth keeps an explicit X-Amz-Content-SHA256 only for streaming
        # payloads it knows; sign with a subclass that never overwrites ours.
        auth = _KeepSha256Auth(creds, "s3", region)
        auth.add_auth(req)
        hdrs = dict(req.headers.items())
        # Build the body.
        body = io.BytesIO()
        if signed:
            seed = hdrs["Authorization"].split("Signature=")[1]
            amzdate = hdrs["X-Amz-Date"]
            scope = f"{amzdate[:8]}/{region}/s3/aws4_request"
            key_bytes = auth._derive_key(amzdate[:8])  # noqa: SLF001
            prev = seed
            for ch in chunks + [b""]:
                sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amzdate, scope, prev,
                                 hashlib.sha256(b"").hexdigest(), hashlib.sha256(ch).hexdigest()])
                sig = hmac_hex(key_bytes, sts)
                if bad_sig is True and ch:
                    sig = "0" * 64
                body.write(f"{len(ch):x};chunk-signature={sig}\r\n".encode())
                if ch:  # the final 0-sized chunk has no data CRLF
                    body.write(ch + b"\r\n")
                if ch or not garage_style:
                    prev = sig
            if trailer:
                tl = f"{trailer[0]}:{trailer[1]}\n"
                # The spec (and the AWS SDKs) chain the trailer signature on the 0-sized chunk's
                # signature with algorithm AWS4-HMAC-SHA256-TRAILER.  Garage 2.5.0 instead expects
                # AWS4-HMAC-SHA256-PAYLOAD chained on the last non-empty chunk (garage_style).
                algo_line = "AWS4-HMAC-SHA256-PAYLOAD" if garage_style else "AWS4-HMAC-SHA256-TRAILER"
                sts = "\n".join([algo_line, amzdate, scope, prev, hashlib.sha256(tl.encode()).hexdigest()])
                tsig = hmac_hex(key_bytes, sts) if bad_sig != "trailer" else "0" * 64
                body.write(f"{trailer[0]}:{trailer[1]}\r\nx-amz-trailer-signature:{tsig}\r\n\r\n".encode())
            else:
                body.write(b"\r\n")
        else:
            for ch in chunks:
                body.write(f"{len(ch):x}\r\n".encode() + ch + b"\r\n")
            body.write(b"0\r\n")
            body.write(f"{trailer[0]}:{trailer[1]}\r\n\r\n".encode())
        payload = body.getvalue()
        hdrs["Content-Length"] = str(len(payload))
        r = requests.put(url, data=payload, headers=hdrs, timeout=30)
        code = ""
        if b"<Code>" in r.content:
            code = r.content.split(b"<Code>")[1].split(b"</Code>")[0].decode()
        got = None
        if r.status_code == 200:
            got = self.s3.get_object(Bucket=b, Key=key)["Body"].read()
        if corrupt or bad_sig:
            return r.status_code >= 400, f"HTTP {r.status_code} {code}" + (" (stored, bad checksum not detected)" if r.status_code == 200 else "")
        ok = r.status_code == 200 and got == data
        detail = f"HTTP {r.status_code} {code}"
        if r.status_code == 200 and got != data:
            detail += f" STORED WRONG BYTES (len {len(got)} vs {len(data)})"
        return ok, detail


class _KeepSha256Auth(S3SigV4Auth):
    def _modify_request_before_signing(self, request):
        sha = request.headers["X-Amz-Content-SHA256"]
        super()._modify_request_before_signing(request)
        del request.headers["X-Amz-Content-SHA256"]
        request.headers["X-Amz-Content-SHA256"] = sha

    def payload(self, request):
        return request.headers["X-Amz-Content-SHA256"]

    def _derive_key(self, datestamp):
        k = self._sign(("AWS4" + self.credentials.secret_key).encode(), datestamp)
        k = self._sign(k, self._region_name)
        k = self._sign(k, self._service_name)
        return self._sign(k, "aws4_request")


def hmac_hex(key, msg):
    import hmac
    return hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()


def crc32c(data):
    poly, crc = 0x82F63B78, 0xFFFFFFFF
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="probe every feature, not just the smoke test")
    ap.add_argument("names", nargs="*", help=f"backends (default: every one configured of {NAMES})")
    a = ap.parse_args()
    names = a.names or [n for n in NAMES if env(n, "ENDPOINT")]
    if not names:
        print("no backend configured: source target/backends.env first", file=sys.stderr)
        return 2
    failed = []
    for n in names:
        if not env(n, "ENDPOINT"):
            print(f"{n}: S3FLOW_TEST_{n.upper()}_ENDPOINT is not set", file=sys.stderr)
            failed.append(n)
            continue
        print(f"== {n} ({env(n, 'ENDPOINT')}, region {env(n, 'REGION')})", flush=True)
        p = Probe(n)
        try:
            p.quick()
            if a.full and not p.failed:
                p.full()
        finally:
            p.cleanup()
        if p.failed:
            failed.append(n)
    if failed:
        print(f"smoke test FAILED for: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
