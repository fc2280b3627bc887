"""Writing a zip from pieces: entries copied raw from another zip, and files streamed in.

Copying an entry's compressed bytes as they are (instead of inflating and deflating again) keeps
rebuilding a package as cheap as copying it. Streamed files are stored uncompressed with a data
descriptor, so their CRC never has to be known before their bytes are written. ZIP64 records are
written whenever a size, offset or count needs them.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import BinaryIO, Protocol

__all__ = ["ZipWriter"]

_LOCAL = struct.Struct("<4sHHHHHLLLHH")
_CENTRAL = struct.Struct("<4sHHHHHHLLLHHHHHLL")
_EOCD = struct.Struct("<4sHHHHLLH")
_EOCD64 = struct.Struct("<4sQHHLLQQQQ")
_LOCATOR = struct.Struct("<4sLQL")
_DESCRIPTOR = struct.Struct("<4sLLL")
U32 = 0xFFFFFFFF
U16 = 0xFFFF
UTF8_FLAG = 0x800
DESCRIPTOR_FLAG = 0x8


class _Sink(Protocol):
    def write(self, data: bytes | bytearray | memoryview) -> object: ...


@dataclass
class _Record:
    name: bytes
    flags: int
    method: int
    dos_time: int
    dos_date: int
    crc: int
    compressed: int
    size: int
    external_attr: int
    create_system: int
    offset: int


def _dos(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    year, month, day, hour, minute, second = date_time
    year = max(year, 1980)
    return (hour << 11) | (minute << 5) | (second // 2), ((year - 1980) << 9) | (month << 5) | day


class ZipWriter:
    """Appends entries to ``sink``; :meth:`close` writes the central directory."""

    def __init__(self, sink: _Sink) -> None:
        self.sink = sink
        self.position = 0
        self.records: list[_Record] = []

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        self.sink.write(data)
        self.position += len(data)

    def _local_header(self, record: _Record, zip64_sizes: bool) -> None:
        extra = b""
        compressed, size = record.compressed, record.size
        if zip64_sizes:
            extra = struct.pack("<HHQQ", 1, 16, size, compressed)
            compressed = size = U32
        version = 45 if zip64_sizes else 20
        self._write(
            _LOCAL.pack(
                b"PK\x03\x04",
                version,
                record.flags,
                record.method,
                record.dos_time,
                record.dos_date,
                record.crc,
                compressed,
                size,
                len(record.name),
                len(extra),
            )
        )
        self._write(record.name)
        self._write(extra)

    def copy_entry(self, source: BinaryIO, info: zipfile.ZipInfo, data_offset: int, name: str | None = None) -> None:
        """Copy an entry of another zip without recompressing it."""
        dos_time, dos_date = _dos(info.date_time)
        record = _Record(
            name=(name or info.filename).encode("utf-8"),
            flags=(info.flag_bits | UTF8_FLAG) & ~DESCRIPTOR_FLAG,
            method=info.compress_type,
            dos_time=dos_time,
            dos_date=dos_date,
            crc=info.CRC,
            compressed=info.compress_size,
            size=info.file_size,
            external_attr=info.external_attr,
            create_system=info.create_system,
            offset=self.position,
        )
        self._local_header(record, zip64_sizes=info.compress_size >= U32 or info.file_size >= U32)
        source.seek(data_offset)
        remaining = info.compress_size
        while remaining:
            chunk = source.read(min(remaining, 1024 * 1024))
            if not chunk:
                raise EOFError(f"{info.filename}: source ended early")
            self._write(chunk)
            remaining -= len(chunk)
        self.records.append(record)

    def add_stream(
        self, name: str, chunks: Iterable[bytes], *, mode: int, date_time: tuple[int, int, int, int, int, int]
    ) -> int:
        """Store a file from its bytes (uncompressed); returns its size."""
        dos_time, dos_date = _dos(date_time)
        record = _Record(
            name=name.encode("utf-8"),
            flags=UTF8_FLAG | DESCRIPTOR_FLAG,
            method=zipfile.ZIP_STORED,
            dos_time=dos_time,
            dos_date=dos_date,
            crc=0,
            compressed=0,
            size=0,
            external_attr=(0o100000 | (mode & 0o7777)) << 16,
            create_system=3,
            offset=self.position,
        )
        self._local_header(record, zip64_sizes=False)
        crc = 0
        size = 0
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            self._write(chunk)
        if size >= U32:
            raise ValueError(f"{name}: streamed entries are limited to 4 GiB")
        record.crc, record.compressed, record.size = crc, size, size
        self._write(_DESCRIPTOR.pack(b"PK\x07\x08", crc, size, size))
        self.records.append(record)
        return size

    def close(self) -> None:
        start = self.position
        for record in self.records:
            zip64 = []
            compressed, size, offset = record.compressed, record.size, record.offset
            if size >= U32:
                zip64.append(size)
                size = U32
            if compressed >= U32:
                zip64.append(compressed)
                compressed = U32
            if offset >= U32:
                zip64.append(offset)
                offset = U32
            extra = struct.pack(f"<HH{len(zip64)}Q", 1, 8 * len(zip64), *zip64) if zip64 else b""
            version = 45 if zip64 else 20
            self._write(
                _CENTRAL.pack(
                    b"PK\x01\x02",
                    (record.create_system << 8) | version,
                    version,
                    record.flags,
                    record.method,
                    record.dos_time,
                    record.dos_date,
                    record.crc,
                    compressed,
                    size,
                    len(record.name),
                    len(extra),
                    0,
                    0,
                    0,
                    record.external_attr,
                    offset,
                )
            )
            self._write(record.name)
            self._write(extra)
        directory_size = self.position - start
        count = len(self.records)
        if count >= U16 or start >= U32 or directory_size >= U32:
            eocd64_offset = self.position
            self._write(_EOCD64.pack(b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, directory_size, start))
            self._write(_LOCATOR.pack(b"PK\x06\x07", 0, eocd64_offset, 1))
            self._write(_EOCD.pack(b"PK\x05\x06", 0, 0, U16, U16, U32, U32, 0))
        else:
            self._write(_EOCD.pack(b"PK\x05\x06", 0, 0, count, count, directory_size, start, 0))
