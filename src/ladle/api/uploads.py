"""Receiving multipart uploads: file parts stream to disk, never into memory.

The event loop parses the body as it arrives; each file part is handed, in bounded batches, to
a thread that writes it to a scratch file and hashes it (sha1 and sha256) on the way. Memory use
is a few megabytes whatever the upload's size. Text parts (such as ``resources``) are small and
kept in memory up to a limit.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request

from ladle.actions.uploads import UploadedBits
from ladle.api.body import Pace, paced_stream
from ladle.blobstore.base import Digest
from ladle.blobstore.digest import HashingWriter
from ladle.errors import CFError

__all__ = ["UploadForm", "UploadedFile", "receive_form"]

BATCH = 1024 * 1024
QUEUE_DEPTH = 8
MAX_TEXT_FIELD = 16 * 1024 * 1024


@dataclass
class UploadedFile:
    field: str
    filename: str | None
    path: Path
    digest: Digest

    @property
    def bits(self) -> UploadedBits:
        """The file as an action takes it over."""
        return UploadedBits(self.path, self.digest)

    def head(self, size: int = 4) -> bytes:
        """The file's first bytes (what kind of archive it is)."""
        with open(self.path, "rb") as fh:
            return fh.read(size)


@dataclass
class UploadForm:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadedFile] = field(default_factory=dict)

    def discard(self) -> None:
        """Remove the scratch files (the upload was refused, or handed on and copied)."""
        for upload in self.files.values():
            upload.path.unlink(missing_ok=True)


class _FileSink:
    """A scratch file written by its own thread, fed through a bounded queue."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pending = bytearray()
        self.size = 0
        self.queue: queue.Queue[bytes | None] = queue.Queue(QUEUE_DEPTH)
        self.digest: Digest | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name="ladle-upload", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            with open(self.path, "wb") as fh:
                writer = HashingWriter(fh)
                while (chunk := self.queue.get()) is not None:
                    writer.write(chunk)
                self.digest = writer.finish()
        except BaseException as exc:
            self.error = exc
            # Keep draining so the producer never blocks on a dead consumer.
            while self.queue.get() is not None:
                pass

    async def _put(self, item: bytes | None) -> None:
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            await run_in_threadpool(self.queue.put, item)

    async def flush(self, force: bool = False) -> None:
        if self.pending and (force or len(self.pending) >= BATCH):
            data = bytes(self.pending)
            self.pending.clear()
            await self._put(data)

    async def close(self) -> Digest:
        await self.flush(force=True)
        await self._put(None)
        await run_in_threadpool(self.thread.join)
        if self.error is not None or self.digest is None:
            raise OSError(f"writing {self.path} failed: {self.error}")
        return self.digest

    def abort(self) -> None:
        """Stop the writer (used when the request fails) and remove the partial file."""
        # The writer keeps consuming, so a blocking put finds room quickly.
        self.queue.put(None, timeout=5)
        self.thread.join(timeout=5)
        self.path.unlink(missing_ok=True)


@dataclass(eq=False)
class _Part:
    name: str = ""
    filename: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    text: bytearray = field(default_factory=bytearray)
    sink: _FileSink | None = None


async def receive_form(
    request: Request,
    scratch: Path,
    *,
    file_fields: frozenset[str],
    max_file_bytes: int,
    too_large: Callable[[], CFError],
    pace: Pace,
) -> UploadForm:
    """Read a multipart body. File fields go to files in ``scratch``; others are text.

    ``too_large`` builds the error raised when the files exceed ``max_file_bytes``.
    """
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if content_type == b"application/x-www-form-urlencoded":
        return await _receive_urlencoded(request, pace)
    if content_type != b"multipart/form-data" or not boundary:
        return UploadForm()
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > max_file_bytes + MAX_TEXT_FIELD:
        raise too_large()

    scratch.mkdir(parents=True, exist_ok=True)
    form = UploadForm()
    parts: list[_Part] = []
    ended: list[_Part] = []
    header_field = bytearray()
    header_value = bytearray()
    finished = False
    total_file_bytes = 0

    def on_part_begin() -> None:
        parts.append(_Part())

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        parts[-1].headers[header_field.decode("latin-1").lower()] = header_value.decode("latin-1")
        header_field.clear()
        header_value.clear()

    def on_headers_finished() -> None:
        part = parts[-1]
        _, disposition = parse_options_header(part.headers.get("content-disposition", ""))
        part.name = disposition.get(b"name", b"").decode("utf-8", "replace")
        filename = disposition.get(b"filename")
        part.filename = filename.decode("utf-8", "replace") if filename is not None else None
        if part.name in file_fields:
            part.sink = _FileSink(scratch / f"{uuid.uuid4().hex}.upload")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        nonlocal total_file_bytes
        part = parts[-1]
        if part.sink is not None:
            total_file_bytes += end - start
            if total_file_bytes > max_file_bytes:
                raise _TooLarge
            part.sink.pending.extend(data[start:end])
        else:
            part.text.extend(data[start:end])
            if len(part.text) > MAX_TEXT_FIELD:
                raise _TooLarge

    def on_part_end() -> None:
        ended.append(parts[-1])

    def on_end() -> None:
        nonlocal finished
        finished = True

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
            "on_end": on_end,
        },
    )
    try:
        async for chunk in paced_stream(request, pace):
            parser.write(chunk)
            for part in parts:
                if part.sink is not None:
                    await part.sink.flush()
            while ended:
                await _finish_part(ended.pop(0), form)
        if not finished:
            raise CFError("MessageParseError", "invalid request body")
    except _TooLarge:
        _abort(parts, form)
        raise too_large() from None
    except (MultipartParseError, ClientDisconnect) as exc:
        _abort(parts, form)
        if isinstance(exc, ClientDisconnect):
            raise
        raise CFError("MessageParseError", "invalid request body") from None
    except BaseException:
        _abort(parts, form)
        raise
    return form


class _TooLarge(Exception):
    pass


async def _receive_urlencoded(request: Request, pace: Pace) -> UploadForm:
    """A form without files (a ``resources``-only upload sent as a plain form)."""
    body = bytearray()
    async for chunk in paced_stream(request, pace):
        body.extend(chunk)
        if len(body) > MAX_TEXT_FIELD:
            raise CFError("MessageParseError", "request body too large")
    return UploadForm(fields=dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)))


async def _finish_part(part: _Part, form: UploadForm) -> None:
    if part.sink is not None:
        digest = await part.sink.close()
        previous = form.files.get(part.name)
        if previous is not None:
            previous.path.unlink(missing_ok=True)  # the last part of a repeated name wins
        form.files[part.name] = UploadedFile(part.name, part.filename, part.sink.path, digest)
        part.sink = None
    else:
        form.fields[part.name] = part.text.decode("utf-8", "replace")


def _abort(parts: list[_Part], form: UploadForm) -> None:
    for part in parts:
        if part.sink is not None:
            part.sink.abort()
    form.discard()
