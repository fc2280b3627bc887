"""Responses several routes share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from starlette.responses import Response, StreamingResponse

from ladle.api.routing import RequestContext, cf_json, no_content
from ladle.blobstore import BlobNotFound, Blobstore, Redirect, StreamedBlob
from ladle.db.models import Job
from ladle.errors import CFError

__all__ = ["accepted_job", "blob_download"]

CHUNK = 1024 * 1024


def accepted_job(ctx: RequestContext, job: Job, body: Any = None) -> Response:
    """202 with ``Location`` pointing at the job; with a body only where CC sends one."""
    headers = {"Location": ctx.urls.v3("jobs", job.guid)}
    if body is None:
        return no_content(202, headers)
    return cf_json(body, status=202, headers=headers)


def _chunks(blob: StreamedBlob) -> Iterator[bytes]:
    # Starlette reads a plain iterator on a worker thread, so these reads never block the loop.
    with blob.open() as fh:
        while chunk := fh.read(CHUNK):
            yield chunk


def blob_download(store: Blobstore, key: str, *, media_type: str, filename: str) -> Response:
    """A stored blob: a redirect where the store signs URLs, else streamed through the server."""
    try:
        download = store.download(key)
    except BlobNotFound:
        raise CFError("BlobstoreUnavailable") from None
    if isinstance(download, Redirect):
        return Response(status_code=302, headers={"Location": download.url})
    headers = {"Content-Length": str(download.size), "Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(_chunks(download), media_type=media_type, headers=headers)
