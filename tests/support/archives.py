"""Real zip archives for tests, well-formed and hostile, built byte by byte where zipfile refuses to."""

from __future__ import annotations

import io
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

__all__ = ["HOSTILE", "make_zip", "symlink_info"]


def make_zip(files: Mapping[str, bytes | str], *, dirs: tuple[str, ...] = (), mode: int = 0o644) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in dirs:
            zf.writestr(name.rstrip("/") + "/", "")
        for name, content in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return out.getvalue()


def symlink_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.create_system = 3
    info.external_attr = 0o120777 << 16
    return info


def _with(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in entries:
            zf.writestr(info, data)
    return out.getvalue()


def _not_a_zip() -> bytes:
    return b"this is plain text, not an archive\n" * 20


def _empty() -> bytes:
    return _with([])


def _truncated() -> bytes:
    whole = make_zip({"app.py": "print('hi')\n" * 500, "big.bin": bytes(range(256)) * 400})
    return whole[: len(whole) // 2]


def _traversal() -> bytes:
    return _with([("ok.txt", b"fine"), ("../../outside.txt", b"escaped")])


def _absolute() -> bytes:
    return _with([("/tmp/ladle-absolute-escape.txt", b"escaped")])


def _backslash_traversal() -> bytes:
    return _with([("..\\..\\outside-win.txt", b"escaped")])


def _symlink_out() -> bytes:
    return _with([("app.py", b"x"), (symlink_info("evil"), b"../../../../etc/passwd")])


def _symlink_absolute() -> bytes:
    return _with([(symlink_info("etc"), b"/etc")])


def _device() -> bytes:
    info = zipfile.ZipInfo("dev/null-ish", date_time=(2020, 1, 1, 0, 0, 0))
    info.create_system = 3
    info.external_attr = (0o020644) << 16  # a character device
    return _with([(info, b"")])


def _duplicate() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate, which is the point
        zf.writestr("same.txt", b"one")
        zf.writestr("same.txt", b"two")
    return out.getvalue()


def _encrypted() -> bytes:
    raw = bytearray(make_zip({"secret.txt": "hidden"}))
    _set_flag(raw, 0x1)
    return bytes(raw)


def _bad_crc() -> bytes:
    info = zipfile.ZipInfo("data.txt", date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    raw = bytearray(_with([(info, b"A" * 1000)]))
    offset = raw.index(b"A" * 1000)
    raw[offset + 500] = ord("B")
    return bytes(raw)


def _mismatching_local_name() -> bytes:
    raw = bytearray(make_zip({"real.txt": "content"}))
    local = raw.index(b"real.txt")  # the first occurrence is in the local header
    raw[local : local + 8] = b"fake.txt"
    return bytes(raw)


def _lying_sizes() -> bytes:
    """Central directory claims 4 GiB of content: a bomb that would fill the disk."""
    raw = bytearray(make_zip({"bomb.bin": "x"}))
    central = raw.index(b"PK\x01\x02")
    struct.pack_into("<L", raw, central + 24, 0xFFFFFFFE)  # uncompressed size
    return bytes(raw)


def _ratio_bomb() -> bytes:
    """A real compression bomb: 300 MiB of zeros in well under a megabyte."""
    out = io.BytesIO()
    info = zipfile.ZipInfo("zeros.bin", date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf, zf.open(info, "w") as fh:
        block = bytes(8 * 1024 * 1024)
        for _ in range(300 // 8 + 1):
            fh.write(block)
    return out.getvalue()


def _overlapping() -> bytes:
    """The first entry's data swallows the second entry, header and all: each byte is then counted
    twice, which is how non-recursive zip bombs multiply their size."""

    def local(name: bytes, data: bytes) -> bytes:
        header = struct.pack(
            "<4sHHHHHLLLHH", b"PK\x03\x04", 20, 0, 0, 0, 0x21, zlib.crc32(data), len(data), len(data), len(name), 0
        )
        return header + name + data

    def central(name: bytes, data: bytes, offset: int) -> bytes:
        fields = (b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, zlib.crc32(data), len(data), len(data), len(name))
        return struct.pack("<4sHHHHHHLLLHHHHHLL", *fields, 0, 0, 0, 0, 0, offset) + name

    inner = local(b"b.txt", b"kernel" * 50)
    outer = local(b"a.txt", inner)
    directory = central(b"a.txt", inner, 0) + central(b"b.txt", b"kernel" * 50, len(outer) - len(inner))
    eocd = struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, 2, 2, len(directory), len(outer), 0)
    return outer + directory + eocd


def _nul_name() -> bytes:
    raw = bytearray(make_zip({"abcd.txt": "x"}))
    for index in [i for i in range(len(raw) - 3) if raw[i : i + 4] == b"abcd"]:
        raw[index + 1] = 0
    return bytes(raw)


def _set_flag(raw: bytearray, flag: int) -> None:
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        index = raw.index(signature)
        (flags,) = struct.unpack_from("<H", raw, index + flag_offset)
        struct.pack_into("<H", raw, index + flag_offset, flags | flag)


# name -> (builder, the end of the data.error a client sees)
HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "not-a-zip": (_not_a_zip, "The app upload is invalid: Invalid zip archive."),
    "empty": (_empty, "The app upload is invalid: Invalid zip archive (zipfile is empty)."),
    "truncated": (_truncated, "The app upload is invalid: Invalid zip archive."),
    "path-traversal": (
        _traversal,
        "The app upload is invalid: Invalid zip archive (entry '../../outside.txt' points outside the application "
        "directory).",
    ),
    "absolute-path": (
        _absolute,
        "The app upload is invalid: Invalid zip archive (entry '/tmp/ladle-absolute-escape.txt' has an absolute path).",
    ),
    "backslash-traversal": (
        _backslash_traversal,
        "The app upload is invalid: Invalid zip archive (entry '..\\..\\outside-win.txt' points outside the "
        "application directory).",
    ),
    "symlink-escape": (
        _symlink_out,
        "The app upload is invalid: Invalid zip archive (symbolic link 'evil' points outside the application "
        "directory).",
    ),
    "symlink-absolute": (
        _symlink_absolute,
        "The app upload is invalid: Invalid zip archive (symbolic link 'etc' points outside the application "
        "directory).",
    ),
    "device-file": (
        _device,
        "The app upload is invalid: Invalid zip archive (entry 'dev/null-ish' is a device, pipe or socket, not a "
        "file).",
    ),
    "duplicate-names": (_duplicate, "The app upload is invalid: Invalid zip archive (duplicate entry 'same.txt')."),
    "encrypted": (_encrypted, "The app upload is invalid: Invalid zip archive (entry 'secret.txt' is encrypted)."),
    "bad-crc": (
        _bad_crc,
        "The app upload is invalid: Invalid zip archive (entry 'data.txt' is corrupt: bad CRC-32).",
    ),
    "mismatching-local-name": (
        _mismatching_local_name,
        "The app upload is invalid: Invalid zip archive (mismatching local filename).",
    ),
    "lying-sizes": (_lying_sizes, "The app package is invalid: Package may not be larger than 1073741824 bytes"),
    "ratio-bomb": (
        _ratio_bomb,
        "The app upload is invalid: Invalid zip archive (it would expand",
    ),
    "overlapping-entries": (
        _overlapping,
        "The app upload is invalid: Invalid zip archive (entry 'a.txt' overlaps another entry).",
    ),
    "nul-in-name": (_nul_name, "The app upload is invalid: Invalid zip archive (entry name"),
}


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
