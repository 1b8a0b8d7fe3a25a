#!/usr/bin/env python3
"""Decodes 8-bit grey or RGB PNG files (non-interlaced) to binary PGM/PPM, with nothing but the
standard library, so that tests can compare the thumbnails ImagingIndex writes pixel by pixel.

    png_to_pnm.py IN.png...     writes IN.png.pnm next to each input; exits 1 on any bad file
"""
import struct
import sys
import zlib


def decode(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("no PNG signature")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if zlib.crc32(kind + body) != struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]:
            raise ValueError(f"bad CRC in chunk {kind!r}")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (0, 2) or interlace:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}")
    bpp = 1 if colour == 0 else 3
    stride = width * bpp
    raw = zlib.decompress(b"".join(idat))
    out = bytearray()
    previous = bytearray(stride)
    for y in range(height):
        filt = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if filt == 1:
                line[i] = (line[i] + a) & 255
            elif filt == 2:
                line[i] = (line[i] + b) & 255
            elif filt == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif filt == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            elif filt != 0:
                raise ValueError(f"bad filter type {filt}")
        out += line
        previous = line
    return width, height, bpp, bytes(out)


def main():
    status = 0
    for path in sys.argv[1:]:
        try:
            with open(path, "rb") as f:
                width, height, bpp, pixels = decode(f.read())
            with open(path + ".pnm", "wb") as f:
                f.write(b"P5" if bpp == 1 else b"P6")
                f.write(f"\n{width} {height}\n255\n".encode())
                f.write(pixels)
        except Exception as error:  # noqa: BLE001
            print(f"{path}: {error}", file=sys.stderr)
            status = 1
    sys.exit(status)


if __name__ == "__main__":
    main()
