#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz harnesses: tests/fuzz/corpus/<harness>/<name>.

Each seed spells the first decisions of FuzzInput (fuzz_support.hpp) byte by byte -- scalar type,
shape, layout, storage form, rate of special values, options -- and leaves the values to the
decoder's stream (an input shorter than what a case reads continues with a stream seeded by its
bytes). Run from anywhere: python3 tests/fuzz/make_corpus.py
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

FLOAT, DOUBLE = 0, 1
ROWS, COLS = 0, 1  # layout flag: SamplesInRows, SamplesInColumns
COLMAT, ROWMAT, COLMAP, ROWMAP = 0, 1, 2, 3


def dim(n):
    """The bytes FuzzInput::dim() reads for a dimension n."""
    tails = [3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257]
    if n == 0:
        return [0]
    if n == 1:
        return [1]
    if 2 <= n <= 12:
        return [2, n - 2]
    if n in tails:
        return [5, tails.index(n)]
    if 13 <= n <= 300:
        return [7, (n - 13) >> 8, (n - 13) & 0xFF]
    assert 300 <= n <= 8192
    return [9, (n - 300) >> 8, (n - 300) & 0xFF]


def special(rate):  # 0: none, 1..3: 24, 48, 72 of 256 values special
    return [rate]


SEEDS = {
    "softmax": {
        "float_rows_small": [FLOAT] + dim(4) + dim(10) + [ROWS, COLMAT] + special(0),
        "float_cols_tail": [FLOAT] + dim(17) + dim(33) + [COLS, ROWMAT] + special(1),
        "double_rows_map": [DOUBLE] + dim(65) + dim(7) + [ROWS, ROWMAP] + special(2),
        "float_specials": [FLOAT] + dim(9) + dim(16) + [COLS, COLMAP] + special(3),
        "float_empty_batch": [FLOAT] + dim(0) + dim(5) + [ROWS, COLMAT] + special(0),
        "float_no_classes": [FLOAT] + dim(3) + dim(0) + [COLS, ROWMAT] + special(0),
        "double_one_sample": [DOUBLE] + dim(1) + dim(257) + [COLS, COLMAT] + special(1),
        "float_long_rows": [FLOAT] + dim(2) + dim(8192) + [ROWS, ROWMAT] + special(1),
    },
    # ... dims, layout, storage, special rate, ignore_index kind, weight kind, label smoothing
    "class_index": {
        "float_plain": [FLOAT] + dim(8) + dim(10) + [ROWS, ROWMAT] + special(0) + [0, 0, 0],
        "float_weights_smoothing": [FLOAT] + dim(16) + dim(5) + [COLS, COLMAT] + special(1)
        + [2, 1] + [0] * 40 + [3],
        "double_ignore_class": [DOUBLE] + dim(33) + dim(4) + [ROWS, COLMAP] + special(2) + [3, 2, 0, 2],
        "float_bad_ls": [FLOAT] + dim(4) + dim(3) + [ROWS, COLMAT] + special(0) + [0, 0, 9, 1],
        "float_wrong_weight": [FLOAT] + dim(5) + dim(6) + [COLS, ROWMAP] + special(0)
        + [0, 3, 0, 1] + [8] * 7 + [0],
        "float_specials_lanes": [FLOAT] + dim(129) + dim(12) + [COLS, ROWMAT] + special(3) + [2, 0, 5],
        "double_empty": [DOUBLE] + dim(0) + dim(7) + [ROWS, COLMAT] + special(0) + [0, 0, 0],
        "float_no_classes": [FLOAT] + dim(3) + dim(0) + [ROWS, COLMAT] + special(0) + [0, 0, 0],
    },
    # ... dims, layout, storage, special rate, ignore_index, weight kind, label smoothing
    "class_prob": {
        "float_one_hot": [FLOAT] + dim(8) + dim(10) + [ROWS, ROWMAT] + special(0) + [2, 0, 5],
        "float_smoothing_weights": [FLOAT] + dim(16) + dim(17) + [COLS, COLMAT] + special(1)
        + [2, 1] + [0] * 17 + [0],
        "double_map_specials": [DOUBLE] + dim(31) + dim(5) + [ROWS, COLMAP] + special(3) + [2, 0, 1],
        "float_ignore_index_error": [FLOAT] + dim(3) + dim(3) + [ROWS, COLMAT] + special(0) + [0, 0, 5],
        "float_lanes": [FLOAT] + dim(64) + dim(8) + [ROWS, COLMAT] + special(1) + [1, 0, 2],
        "double_one_sample": [DOUBLE] + dim(1) + dim(100) + [COLS, ROWMAP] + special(0) + [2, 0, 3],
    },
    # ... dims (rows, cols), layout, storage, special rate, weight kind, wrong-size byte, pos flag
    "binary": {
        "float_plain": [FLOAT] + dim(8) + dim(10) + [ROWS, ROWMAT] + special(0) + [0, 1, 0],
        "float_per_class_pos": [FLOAT] + dim(16) + dim(5) + [COLS, COLMAT] + special(1) + [1, 1, 1],
        "double_per_sample": [DOUBLE] + dim(33) + dim(3) + [ROWS, COLMAP] + special(2) + [2, 1, 0],
        "float_elementwise": [FLOAT] + dim(17) + dim(17) + [ROWS, ROWMAP] + special(3) + [3, 1, 1],
        "float_wrong_weight": [FLOAT] + dim(4) + dim(4) + [ROWS, COLMAT] + special(0) + [1, 0, 0],
        "double_column": [DOUBLE] + dim(100) + dim(1) + [ROWS, COLMAT] + special(1) + [0, 1, 1],
        "float_empty": [FLOAT] + dim(0) + dim(9) + [COLS, ROWMAT] + special(0) + [0, 1, 0],
    },
}


def main():
    for harness, seeds in SEEDS.items():
        out = os.path.join(HERE, "corpus", harness)
        os.makedirs(out, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(bytes(b & 0xFF for b in data))
        print(f"{harness}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
