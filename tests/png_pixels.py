"""Decodes the PNG screenshots of headless Chromium (8-bit RGB or RGBA, not interlaced) into pixels, without
an imaging library: enough to tell a rendered chart from a blank page."""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunks(data: bytes) -> tuple[tuple[int, ...], bytes]:
    if data[:8] != SIGNATURE:
        raise ValueError("not a PNG file")
    pos, header, idat = 8, None, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    if header is None:
        raise ValueError("PNG without IHDR")
    return header, zlib.decompress(b"".join(idat))


def _paeth_or_average(kind: int, line: list[int], up: list[int], bpp: int) -> list[int]:
    out = [0] * len(line)
    for x, value in enumerate(line):
        a = out[x - bpp] if x >= bpp else 0
        b = up[x]
        if kind == 3:
            out[x] = (value + (a + b) // 2) & 255
            continue
        c = up[x - bpp] if x >= bpp else 0
        p = a + b - c
        pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
        out[x] = (value + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    return out


def rgb_pixels(data: bytes) -> np.ndarray:
    """(height, width, 3) uint8 array of a PNG's pixels (alpha dropped)."""
    (width, height, depth, colour, _, _, interlace), raw = _chunks(data)
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}")
    bpp = 3 if colour == 2 else 4
    stride = width * bpp
    pixels = np.zeros((height, stride), dtype=np.int32)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1).astype(np.int32)
        if kind == 0:
            current = line
        elif kind == 1:  # Sub: a running sum per channel
            current = (np.cumsum(line.reshape(width, bpp), axis=0) % 256).reshape(-1)
        elif kind == 2:  # Up
            current = (line + previous) % 256
        else:
            current = np.array(_paeth_or_average(kind, line.tolist(), previous.tolist(), bpp), dtype=np.int32)
        pixels[y] = current
        previous = current
    return pixels.astype(np.uint8).reshape(height, width, bpp)[:, :, :3]


def count_colour(pixels: np.ndarray, hex_colour: str) -> int:
    rgb = tuple(int(hex_colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return int(np.all(pixels == rgb, axis=2).sum())


def distinct_colours(pixels: np.ndarray) -> int:
    """Colours packed into one integer each: `np.unique(..., axis=0)` on rows took 15 s on a 1400 x 3700 page."""
    flat = pixels.reshape(-1, 3).astype(np.uint32)
    return len(np.unique((flat[:, 0] << 16) | (flat[:, 1] << 8) | flat[:, 2]))
