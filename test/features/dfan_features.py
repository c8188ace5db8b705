"""Read and write dfan feature files with the standard library and numpy alone (no safetensors
package), as any Python user can. Used by test/features/python.test.ts:

    python3 dfan_features.py read FILE        -> JSON summary of FILE on stdout
    python3 dfan_features.py write SRC DEST   -> DEST: SRC's features with the action stream
                                                 doubled and a stream computed here added
"""
import hashlib
import json
import struct
import sys

import numpy as np

DTYPES = {"F16": "<f2", "F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "U8": "u1"}


def read(path):
    """(tensors by name as numpy arrays, metadata dict, sha256 of the data section)"""
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    meta = header.pop("__metadata__", {})
    data = buf[8 + n :]
    tensors = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=DTYPES[t["dtype"]]).reshape(t["shape"])
    return tensors, meta, hashlib.sha256(data).hexdigest()


def write(path, tensors, meta):
    """safetensors: widest dtypes first (each tensor stays aligned), header padded to 8 bytes."""
    order = sorted(tensors, key=lambda k: -tensors[k].dtype.itemsize)
    header, chunks, offset = {}, [], 0
    for name in order:
        a = np.ascontiguousarray(tensors[name])
        dtype = next(k for k, v in DTYPES.items() if np.dtype(v) == a.dtype)
        raw = a.tobytes()
        header[name] = {"dtype": dtype, "shape": list(a.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    data = b"".join(chunks)
    header["__metadata__"] = dict(meta, data_sha256=hashlib.sha256(data).hexdigest())
    head = json.dumps(header).encode("utf-8")
    head += b" " * (-(8 + len(head)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + data)


def summary(path):
    tensors, meta, data_sha256 = read(path)
    info = json.loads(meta["dfan_meta"])
    return {
        "format": meta["format"],
        "key": info["key"],
        "streams": {s["name"]: s["kind"] for s in info["streams"]},
        "dtypes": {k: str(v.dtype) for k, v in tensors.items()},
        "shapes": {k: list(v.shape) for k, v in tensors.items()},
        "object": tensors["object"].astype(np.float32).ravel().tolist(),
        "action": tensors["action"].ravel().tolist(),
        "snippet_times": tensors["snippet_times"].tolist(),
        "mask": tensors["mask"].tolist() if "mask" in tensors else None,
        "data_sha256_ok": data_sha256 == meta["data_sha256"],
    }


def derive(src, dest):
    tensors, meta, _ = read(src)
    info = json.loads(meta["dfan_meta"])
    out = dict(tensors)
    out["action"] = (tensors["action"] * 2).astype(np.float32)
    times = tensors["snippet_times"]
    out["duration"] = (times[:, 1:2] - times[:, 0:1]).astype(np.float32)  # [T, 1]
    info["key"] = info["key"] + "/from-python"
    info["streams"].append(
        {"name": "duration", "kind": "vector", "backbone": "python", "description": "snippet length (s)"}
    )
    meta = dict(meta, key=info["key"], dfan_meta=json.dumps(info))
    write(dest, out, meta)


if __name__ == "__main__":
    if sys.argv[1] == "read":
        print(json.dumps(summary(sys.argv[2])))
    else:
        derive(sys.argv[2], sys.argv[3])
