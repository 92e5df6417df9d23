"""Minimal safetensors reader/writer (numpy only).

The `safetensors` Python package is not available everywhere we run the
reference scripts, so this module implements the small part of the format
that recur's fixtures and acceptance checks need:

    8 bytes      little-endian u64 N, the length of the JSON header
    N bytes      UTF-8 JSON: {name: {"dtype", "shape", "data_offsets"}, ...,
                 "__metadata__": {str: str}}, padded with spaces so that N is
                 a multiple of 8
    rest         raw little-endian tensor data; data_offsets are [begin, end)
                 byte offsets relative to the start of this buffer

Tensors are written in sorted name order and the JSON uses sorted keys, so the
same inputs always give byte-identical files.
"""

import json
import struct

import numpy as np

# safetensors dtype string <-> little-endian numpy dtype
_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
}


def _dtype_name(dtype):
    dtype = np.dtype(dtype)
    for name, known in _DTYPES.items():
        if known.kind == dtype.kind and known.itemsize == dtype.itemsize:
            return name
    raise ValueError(f"unsupported dtype for safetensors: {dtype}")


def write_safetensors(path, tensors, metadata=None):
    """Write `tensors` (dict name -> np.ndarray) to `path` in safetensors format.

    Arrays keep their dtype (float32 unless you pass something else) and are
    stored little-endian, C-contiguous. `metadata` is a dict of str -> str.
    """
    header = {}
    chunks = []
    offset = 0
    for name in sorted(tensors):
        if name == "__metadata__":
            raise ValueError("'__metadata__' is reserved")
        array = np.asarray(tensors[name])
        dtype_name = _dtype_name(array.dtype)
        data = np.ascontiguousarray(array, dtype=_DTYPES[dtype_name]).tobytes()
        header[name] = {
            "dtype": dtype_name,
            "shape": [int(d) for d in array.shape],
            "data_offsets": [offset, offset + len(data)],
        }
        chunks.append(data)
        offset += len(data)
    if metadata:
        for key, value in metadata.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError("metadata keys and values must be strings")
        header["__metadata__"] = dict(metadata)

    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for data in chunks:
            f.write(data)


def read_safetensors(path):
    """Read a safetensors file. Returns (dict name -> np.ndarray, metadata dict)."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (header_len,) = struct.unpack("<Q", blob[:8])
    if 8 + header_len > len(blob):
        raise ValueError(f"{path}: header length {header_len} exceeds file size")
    header = json.loads(blob[8:8 + header_len].decode("utf-8"))
    data = blob[8 + header_len:]

    metadata = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, info in header.items():
        dtype = _DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        shape = tuple(info["shape"])
        count = int(np.prod(shape, dtype=np.int64))
        if end - begin != count * dtype.itemsize or end > len(data):
            raise ValueError(f"{path}: bad data_offsets for {name!r}")
        array = np.frombuffer(data[begin:end], dtype=dtype).reshape(shape)
        tensors[name] = array.astype(dtype.newbyteorder("="), copy=True)
    return tensors, metadata
