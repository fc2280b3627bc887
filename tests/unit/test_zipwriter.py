"""Rebuilt zips: raw-copied entries, streamed entries, and ZIP64 when counts need it."""

from __future__ import annotations

import io
import subprocess
import zipfile
from pathlib import Path

from ladle.bits.archive import ArchiveLimits, inspect_zip
from ladle.bits.zipwriter import ZipWriter
from tests.support.archives import make_zip


def test_copy_and_stream(tmp_path: Path) -> None:
    source = tmp_path / "src.zip"
    source.write_bytes(make_zip({"a.txt": "hello " * 500, "dir/b.bin": bytes(range(256)) * 50}, dirs=("dir",)))
    archive = inspect_zip(source, ArchiveLimits(max_size=10**9))
    out = tmp_path / "out.zip"
    with open(out, "wb") as fh, open(source, "rb") as src:
        writer = ZipWriter(fh)
        for entry in archive.entries:
            writer.copy_entry(src, entry.info, entry.data_offset)
        writer.add_stream("added.bin", [b"x" * 70000, b"y"], mode=0o755, date_time=(2021, 2, 3, 4, 5, 6))
        writer.close()
    with zipfile.ZipFile(out) as zf:
        assert zf.testzip() is None
        assert zf.read("a.txt") == b"hello " * 500
        assert zf.read("added.bin") == b"x" * 70000 + b"y"
        assert zf.getinfo("added.bin").external_attr >> 16 == 0o100755
        assert zf.getinfo("a.txt").compress_type == zipfile.ZIP_DEFLATED  # copied, not recompressed
    assert subprocess.run(["unzip", "-tq", str(out)], capture_output=True).returncode == 0


def test_zip64_when_entries_exceed_16_bits() -> None:
    buffer = io.BytesIO()
    writer = ZipWriter(buffer)
    count = 65_600
    for i in range(count):
        writer.add_stream(f"f{i}", [b"z"], mode=0o644, date_time=(2020, 1, 1, 0, 0, 0))
    writer.close()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as zf:
        names = zf.namelist()
        assert len(names) == count
        assert zf.read("f65599") == b"z"
