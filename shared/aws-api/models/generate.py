#!/usr/bin/env python3
"""Regenerates shared/aws-api/models/services.bin from botocore's service models.

    python3 shared/aws-api/models/generate.py [botocore-X.Y.Z-py3-none-any.whl | botocore/data dir]

Without an argument it downloads the newest botocore wheel with `pip download botocore
--no-deps`. For every service it takes the latest API version's service-2.json, keeps only what
the caller needs (metadata: protocol(s), endpointPrefix, signingName, targetPrefix, jsonVersion,
serviceId, apiVersion, xmlNamespace, signatureVersion, the global endpoint from endpoints.json;
operations: HTTP binding, input/output/error shapes, result wrapper, host prefix, checksum and
auth flags; shapes: types, members with their serialization traits, required, payload,
streaming, timestampFormat, error code/status, and the min/max/enum constraints TestState checks
mocked results against) and writes them zlib-compressed, one stream per
service so the caller inflates only the services it uses. Layout: b"SWM1", u32 LE header
length, header JSON (a list of {name, serviceId, endpointPrefix, offset, len}), the streams.
"""

import glob
import gzip
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "services.bin")

META_KEYS = ["protocol", "protocols", "endpointPrefix", "signingName", "targetPrefix",
             "jsonVersion", "serviceId", "globalEndpoint", "apiVersion", "xmlNamespace",
             "signatureVersion", "awsQueryCompatible"]
MEMBER_KEYS = ["shape", "location", "locationName", "queryName", "flattened", "xmlNamespace",
               "xmlAttribute", "jsonvalue", "idempotencyToken", "hostLabel", "timestampFormat",
               "streaming", "eventstream"]
SHAPE_KEYS = ["type", "required", "payload", "flattened", "locationName", "xmlNamespace",
              "streaming", "timestampFormat", "union", "document", "exception", "min", "max",
              "enum"]


def read_data(source):
    """Returns {relative path: bytes} of botocore/data from a wheel or a directory."""
    files = {}
    if os.path.isdir(source):
        for path in glob.glob(os.path.join(source, "**", "*"), recursive=True):
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    files[os.path.relpath(path, source)] = f.read()
        return files
    with zipfile.ZipFile(source) as z:
        for name in z.namelist():
            if name.startswith("botocore/data/") and not name.endswith("/"):
                files[name[len("botocore/data/"):]] = z.read(name)
    return files


def load_json(files, path):
    if path in files:
        return json.loads(files[path])
    if path + ".gz" in files:
        return json.loads(gzip.decompress(files[path + ".gz"]))
    return None


def member(ref):
    out = {k: ref[k] for k in MEMBER_KEYS if k in ref}
    return out


def shape(s):
    out = {k: s[k] for k in SHAPE_KEYS if k in s}
    if out.get("type") == "structure":
        out["members"] = [[n, member(m)] for n, m in s.get("members", {}).items()]
        if not out["members"]:
            del out["members"]
    for k in ("member", "key", "value"):
        if k in s:
            out[k] = member(s[k])
    if "error" in s:
        err = {k: s["error"][k] for k in ("code", "httpStatusCode") if k in s["error"]}
        out["error"] = err
    if out.get("type") == "structure" and s.get("document"):
        out["document"] = True
    return out


def operation(op):
    out = {"http": {k: op["http"][k] for k in ("method", "requestUri", "responseCode")
                    if k in op.get("http", {})}}
    if "input" in op:
        out["input"] = op["input"]["shape"]
        if "locationName" in op["input"]:
            out["inputLocationName"] = op["input"]["locationName"]
        if "xmlNamespace" in op["input"]:
            out["inputXmlNamespace"] = op["input"]["xmlNamespace"]
    if "output" in op:
        out["output"] = op["output"]["shape"]
        if "resultWrapper" in op["output"]:
            out["resultWrapper"] = op["output"]["resultWrapper"]
    if op.get("errors"):
        out["errors"] = [e["shape"] for e in op["errors"]]
    if op.get("endpoint", {}).get("hostPrefix"):
        out["hostPrefix"] = op["endpoint"]["hostPrefix"]
    if op.get("httpChecksumRequired") or op.get("httpChecksum", {}).get("requestChecksumRequired"):
        out["checksumRequired"] = True
    if "authtype" in op:
        out["authtype"] = op["authtype"]
    return out


def global_endpoints(endpoints):
    """endpointPrefix -> {partition: [hostname, signing region]} for non-regionalized services."""
    out = {}
    for part in endpoints.get("partitions", []):
        suffix = part.get("dnsSuffix", "amazonaws.com")
        for prefix, svc in part.get("services", {}).items():
            pe = svc.get("partitionEndpoint")
            if not pe or svc.get("isRegionalized", True):
                continue
            ep = svc.get("endpoints", {}).get(pe, {})
            host = ep.get("hostname") or f"{prefix}.{suffix}"
            region = ep.get("credentialScope", {}).get("region", pe)
            out.setdefault(prefix, {})[part["partition"]] = [host, region]
    return out


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else None
    tmp = None
    if source is None:
        tmp = tempfile.mkdtemp()
        subprocess.run([sys.executable, "-m", "pip", "download", "botocore", "--no-deps",
                        "-d", tmp], check=True)
        source = glob.glob(os.path.join(tmp, "botocore-*.whl"))[0]
    files = read_data(source)
    endpoints = load_json(files, "endpoints.json") or {}
    globals_ = global_endpoints(endpoints)
    services = sorted({p.split("/")[0] for p in files if p.count("/") == 2
                       and p.split("/")[2].startswith("service-2.json")})
    header, streams, offset = [], [], 0
    ops = 0
    raw_total = 0
    for name in services:
        versions = sorted({p.split("/")[1] for p in files if p.startswith(name + "/")
                           and p.split("/")[-1].startswith("service-2.json")})
        model = load_json(files, f"{name}/{versions[-1]}/service-2.json")
        meta = {k: model["metadata"][k] for k in META_KEYS if k in model["metadata"]}
        g = globals_.get(meta["endpointPrefix"])
        if g:
            meta["globalEndpoints"] = g
        compact = {
            "metadata": meta,
            "operations": {n: operation(o) for n, o in model["operations"].items()},
            "shapes": {n: shape(s) for n, s in model["shapes"].items()},
        }
        ops += len(compact["operations"])
        raw = json.dumps(compact, separators=(",", ":")).encode()
        raw_total += len(raw)
        z = zlib.compress(raw, 9)
        header.append({"name": name, "serviceId": meta["serviceId"],
                       "endpointPrefix": meta["endpointPrefix"], "offset": offset,
                       "len": len(z)})
        streams.append(z)
        offset += len(z)
    head = json.dumps(header, separators=(",", ":")).encode()
    with open(OUT, "wb") as f:
        f.write(b"SWM1")
        f.write(struct.pack("<I", len(head)))
        f.write(head)
        for z in streams:
            f.write(z)
    size = os.path.getsize(OUT)
    print(f"{OUT}: {len(services)} services, {ops} operations, "
          f"{raw_total} bytes of compact JSON, {size} bytes compressed")


if __name__ == "__main__":
    main()
