#!/usr/bin/env python3
"""tests/data/make_data.py: regenerate the small .npy files used by tests/unit/test_npy.c.

Deterministic: the same bytes on every run (no randomness, numpy's own writer).
Needs numpy (Debian: /usr/bin/python3 has it). Run from anywhere:
    python3 tests/data/make_data.py
Good files hold np.arange(rows*cols) in the given dtype, so a test can check values.
Also writes the fuzzer's seed corpus, tests/fuzz/corpus/ (these files plus a few more).
"""
import io
import os

import numpy as np
from numpy.lib import format as npf

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "fuzz", "corpus")


def npy_bytes(a, version=None, fortran=False):
    """What np.save writes (optionally forcing the format version)."""
    b = io.BytesIO()
    if fortran:
        a = np.asfortranarray(a)
    npf.write_array(b, a, version=version, allow_pickle=False)
    return b.getvalue()


def grid(rows, cols, dtype="<f8"):
    return np.arange(rows * cols, dtype=dtype).reshape(rows, cols)


def with_header_dict(text, data=b"", version=1):
    """A file with a hand-written header dict, padded the way numpy pads it."""
    lenbytes = 2 if version == 1 else 4
    hlen = len(text) + 1
    pad = 64 - ((8 + lenbytes + hlen) % 64)
    head = text.encode("latin1") + b" " * pad + b"\n"
    return (b"\x93NUMPY" + bytes([version, 0]) +
            len(head).to_bytes(lenbytes, "little") + head + data)


def main():
    f8 = npy_bytes(grid(3, 4))
    files = {
        # valid
        "good_f8_v1.npy": f8,
        "good_f4_v1.npy": npy_bytes(grid(3, 4, "<f4")),
        "good_f8_v2.npy": npy_bytes(grid(3, 4), version=(2, 0)),
        "good_f8_v3.npy": npy_bytes(grid(3, 4), version=(3, 0)),
        "good_zero_rows.npy": npy_bytes(np.zeros((0, 5))),
        "good_one_col.npy": npy_bytes(grid(7, 1)),
        # a hand-written dict: other key order, double quotes, odd spacing, no trailing comma
        # what np.save(a.T) writes for a C-order a: column-major data, fortran_order True
        "good_fortran.npy": npy_bytes(grid(3, 4), fortran=True),
        "good_handwritten.npy": with_header_dict(
            "{\"shape\":(3,4,),  'descr' : \"<f8\",'fortran_order':False}",
            grid(3, 4).tobytes()),
        # invalid
        "bad_bigendian.npy": npy_bytes(grid(3, 4, ">f8")),
        "bad_1d.npy": npy_bytes(np.arange(3, dtype="<f8")),
        "bad_3d.npy": npy_bytes(np.zeros((2, 3, 4))),
        "bad_int64.npy": npy_bytes(grid(3, 4, "<i8")),  # parsed (fold ids); data refuses it
        "bad_int32.npy": npy_bytes(grid(3, 4, "<i4")),
        "bad_truncated.npy": f8[:-16],
        "bad_trailing.npy": f8 + b"\0" * 16,
        "bad_magic.npy": b"\x93NUMPZ" + f8[6:],
        "bad_version.npy": f8[:6] + b"\x04\x00" + f8[8:],
        "bad_malformed.npy": with_header_dict(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4) 'x'}",
            grid(3, 4).tobytes()),
        "bad_header_truncated.npy": f8[:60],
    }
    for name, data in files.items():
        write(os.path.join(HERE, name), data)

    # Fuzzer seeds: the files above, and shapes/versions/spellings they do not cover. The
    # fuzz target also reads an input's last 8 bytes as a file size (LE), hence "sized_".
    seeds = dict(files)
    seeds.update({
        "f4_v3.npy": npy_bytes(grid(2, 2, "<f4"), version=(3, 0)),
        "one_by_one.npy": npy_bytes(grid(1, 1)),
        "zero_cols.npy": npy_bytes(np.zeros((4, 0))),
        "big_shape_header.npy": npy_bytes(np.zeros((0, 1)))[:128].replace(
            b"(0, 1)", b"(9, 9)"),
        "python2_longs.npy": with_header_dict(
            "{'descr': '<f8', 'fortran_order': False, 'shape': (1L, 2L), }",
            grid(1, 2).tobytes()),
        "sized_huge.npy": with_header_dict(
            "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 1), }")
        + (128 + 4 * 2**32).to_bytes(8, "little"),
        "sized_v2.npy": npy_bytes(np.zeros((0, 3)), version=(2, 0))
        + (128).to_bytes(8, "little"),
    })
    for name, data in seeds.items():
        write(os.path.join(CORPUS, name), data)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
