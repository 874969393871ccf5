"""Just enough PNG to read Chromium's screenshots: 8-bit RGB/RGBA, not interlaced (what
``chromium --screenshot`` writes), and to find where exact colours were painted.

Pure Python (zlib + the five PNG filters): the dev environment has no image library, and a
1100x1500 screenshot decodes in about two seconds.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    bpp: int  # bytes per pixel: 3 (RGB) or 4 (RGBA)
    rows: tuple[bytes, ...]

    def pixels_of(self, color: str) -> list[tuple[int, int]]:
        """Every (x, y) painted exactly ``color`` ("#rrggbb"): solid fills keep their colour
        exactly; anti-aliased edges do not, and are not needed."""
        pattern = bytes.fromhex(color.lstrip("#"))
        hits: list[tuple[int, int]] = []
        for y, row in enumerate(self.rows):
            x = row.find(pattern)
            while x != -1:
                if x % self.bpp == 0:
                    hits.append((x // self.bpp, y))
                x = row.find(pattern, x + 1)
        return hits


@dataclass(frozen=True)
class Blob:
    """A connected region of one colour: its bounding box and size."""

    x0: int
    y0: int
    x1: int
    y1: int
    pixels: int


def decode(data: bytes) -> Image:
    if data[:8] != SIGNATURE:
        raise ValueError("not a PNG")
    pos, idat = 8, []
    width = height = bpp = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or color_type not in (2, 6) or interlace:
                raise ValueError(f"unsupported PNG: depth {depth}, colour type {color_type}, "
                                 f"interlace {interlace}")
            bpp = 3 if color_type == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows: list[bytes] = []
    prev = bytearray(stride)
    i = 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if kind == 1:  # Sub
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 255
        elif kind == 2:  # Up
            line = bytearray((a + b) & 255 for a, b in zip(line, prev, strict=True))
        elif kind == 3:  # Average
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
        elif kind == 4:  # Paeth
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        elif kind != 0:
            raise ValueError(f"bad PNG filter {kind}")
        rows.append(bytes(line))
        prev = line
    return Image(width, height, bpp, tuple(rows))


def blobs(points: list[tuple[int, int]], *, min_pixels: int = 20) -> list[Blob]:
    """Connected regions (8-neighbourhood) of ``points``, largest first, ignoring specks."""
    remaining = set(points)
    out: list[Blob] = []
    while remaining:
        seed = remaining.pop()
        stack, members = [seed], [seed]
        while stack:
            x, y = stack.pop()
            for dx in (-1, 0, 1):
                for dy in (-1, 0, 1):
                    n = (x + dx, y + dy)
                    if n in remaining:
                        remaining.remove(n)
                        stack.append(n)
                        members.append(n)
        if len(members) >= min_pixels:
            xs, ys = [p[0] for p in members], [p[1] for p in members]
            out.append(Blob(min(xs), min(ys), max(xs), max(ys), len(members)))
    return sorted(out, key=lambda b: -b.pixels)
