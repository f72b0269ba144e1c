#!/usr/bin/python3
"""winograd_bf16_error.py - why --precision bf16 uses direct convolution.

Simulates, in float64 with only the multiplied operands rounded to bfloat16
(to nearest even, as VCVTNE2PS2BF16 does), one output tile of a 3x3 convolution
over CIN random channels by: direct convolution, Winograd F(2x2,3x3) and
Winograd F(4x4,3x3) (featevo's float32 path, tools/nn/winograd.c). Prints each
one's largest error against the exact result, relative to the output's scale.
    /usr/bin/python3 tests/bench/winograd_bf16_error.py [CIN] [TRIALS]
"""
import sys

import numpy as np

BT4 = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], float)
G4 = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])
AT4 = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                [0, 1, -1, 8, -8, 1]], float)
BT2 = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float)
G2 = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]])
AT2 = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], float)


def bf16(x):
    u = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) & 0xFFFF0000
    return u.astype(np.uint32).view(np.float32).astype(float)


def direct(d, g, out, rnd):
    y = np.zeros((out, out))
    for i in range(out):
        for j in range(out):
            y[i, j] = np.sum(rnd(d[:, i:i + 3, j:j + 3]) * rnd(g))
    return y


def wino(d, g, bt, gm, at, rnd):
    u = np.einsum('ij,cjk,lk->cil', gm, g, gm)
    v = np.einsum('ij,cjk,lk->cil', bt, d, bt)
    return at @ np.sum(rnd(u) * rnd(v), 0) @ at.T


def main():
    cin = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    trials = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    rng = np.random.default_rng(0)
    ident = lambda x: x  # noqa: E731
    worst = {"direct": 0.0, "F(2x2,3x3)": 0.0, "F(4x4,3x3)": 0.0}
    for _ in range(trials):
        d = rng.normal(size=(cin, 6, 6))
        g = rng.normal(size=(cin, 3, 3)) * 0.5
        exact = direct(d, g, 4, ident)
        scale = np.abs(exact).max()
        worst["direct"] = max(worst["direct"], np.abs(direct(d, g, 4, bf16) - exact).max() / scale)
        w2 = wino(d[:, :4, :4], g, BT2, G2, AT2, bf16)
        worst["F(2x2,3x3)"] = max(worst["F(2x2,3x3)"], np.abs(w2 - exact[:2, :2]).max() / scale)
        w4 = wino(d, g, BT4, G4, AT4, bf16)
        worst["F(4x4,3x3)"] = max(worst["F(4x4,3x3)"], np.abs(w4 - exact).max() / scale)
    for k, v in worst.items():
        print(f"{k:12s} bf16 operands, {cin} channels, worst of {trials} tiles: "
              f"error {100 * v:.2f}% of the output scale")


if __name__ == "__main__":
    main()
