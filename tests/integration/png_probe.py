#!/usr/bin/env python3
"""png_probe.py - where colours are in a PNG image (a test helper of test_plot.c).

    png_probe.py IMAGE.png X0 Y0 X1 Y1 '#rrggbb' ...

Decodes the PNG (8-bit RGB or RGBA, not interlaced; with the standard library's zlib only) and,
for each colour, counts the pixels inside the box X0 <= x < X1, Y0 <= y < Y1 whose channels are
each within 12 of it (semi-transparent pixels are first blended over white). Prints one line per
colour:

    #rrggbb COUNT XMIN XMAX LEFT_MEAN_Y RIGHT_MEAN_Y

where LEFT_MEAN_Y (RIGHT_MEAN_Y) is the mean row of its pixels in the leftmost (rightmost) fifth
of the columns it covers (-1 when COUNT is 0). Rows grow downwards, as in the image.
"""
import struct
import sys
import zlib

TOLERANCE = 12


def decode(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit("%s: not a PNG file" % path)
    pos, idat, width = 8, [], None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or colour not in (2, 6) or interlace != 0:
                sys.exit("%s: only 8-bit RGB/RGBA, non-interlaced PNGs (depth %d, colour %d)"
                         % (path, depth, colour))
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if width is None:
        sys.exit("%s: no IHDR chunk" % path)
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xFF
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        elif kind != 0:
            sys.exit("%s: bad filter type %d in row %d" % (path, kind, y))
        rows.append(line)
        prev = line
    return width, height, bpp, rows


def main():
    if len(sys.argv) < 7:
        sys.exit(__doc__)
    width, height, bpp, rows = decode(sys.argv[1])
    x0, y0, x1, y1 = (int(v) for v in sys.argv[2:6])
    colours = [c.lstrip("#") for c in sys.argv[6:]]
    targets = [tuple(int(c[i:i + 2], 16) for i in (0, 2, 4)) for c in colours]
    hits = [[] for _ in targets]
    for y in range(max(y0, 0), min(y1, height)):
        line = rows[y]
        for x in range(max(x0, 0), min(x1, width)):
            i = x * bpp
            r, g, b = line[i], line[i + 1], line[i + 2]
            if bpp == 4 and line[i + 3] < 255:
                a = line[i + 3] / 255.0
                r, g, b = (round(v * a + 255 * (1 - a)) for v in (r, g, b))
            for k, (tr, tg, tb) in enumerate(targets):
                if abs(r - tr) <= TOLERANCE and abs(g - tg) <= TOLERANCE and abs(b - tb) <= TOLERANCE:
                    hits[k].append((x, y))
    for colour, pts in zip(colours, hits):
        if not pts:
            print("#%s 0 -1 -1 -1 -1" % colour)
            continue
        xmin, xmax = min(p[0] for p in pts), max(p[0] for p in pts)
        fifth = (xmax - xmin) / 5.0
        left = [p[1] for p in pts if p[0] <= xmin + fifth]
        right = [p[1] for p in pts if p[0] >= xmax - fifth]
        print("#%s %d %d %d %.2f %.2f" % (colour, len(pts), xmin, xmax,
                                          sum(left) / len(left), sum(right) / len(right)))


if __name__ == "__main__":
    main()
