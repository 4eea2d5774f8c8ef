"""Reads a `.safetensors` file into numpy arrays without the `safetensors` package.

The format: an 8-byte little-endian header length N, N bytes of JSON mapping each tensor name to
`{"dtype", "shape", "data_offsets": [begin, end]}` (offsets into the data that follows the
header; `__metadata__` is not a tensor), then the raw little-endian data.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

DTYPES = {
    "F32": "<f4",
    "F16": "<f2",
    "BF16": None,
    "F64": "<f8",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}
MAX_HEADER_BYTES = 100 * 1024 * 1024


def load_safetensors(path: str | Path, names: set[str] | None = None) -> dict[str, np.ndarray]:
    """Every tensor of the file (or only `names`), each a fresh array. Raises ValueError on a
    malformed file (header length, offsets outside the data, shape that does not match the bytes)."""
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) != 8:
            raise ValueError(f"{path}: not a safetensors file (too short)")
        (header_length,) = struct.unpack("<Q", prefix)
        if header_length > MAX_HEADER_BYTES:
            raise ValueError(f"{path}: safetensors header of {header_length} bytes")
        header = json.loads(handle.read(header_length))
        data = handle.read()
    tensors: dict[str, np.ndarray] = {}
    for name, entry in header.items():
        if name == "__metadata__" or (names is not None and name not in names):
            continue
        dtype = DTYPES.get(entry["dtype"])
        if dtype is None:
            raise ValueError(f"{path}: tensor {name} has unsupported dtype {entry['dtype']}")
        begin, end = entry["data_offsets"]
        shape = tuple(entry["shape"])
        if not 0 <= begin <= end <= len(data):
            raise ValueError(f"{path}: tensor {name} lies outside the file")
        array = np.frombuffer(data, dtype=dtype, count=(end - begin) // np.dtype(dtype).itemsize, offset=begin)
        if array.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{path}: tensor {name} has {array.size} values for shape {shape}")
        tensors[name] = array.reshape(shape).copy()
    return tensors
