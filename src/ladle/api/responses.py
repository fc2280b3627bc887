"""Responses several routes share."""

from __future__ import annotations

from typing import Any

from starlette.responses import FileResponse, Response

from ladle.api.routing import RequestContext, cf_json, no_content
from ladle.blobstore import Blobstore
from ladle.db.models import Job
from ladle.errors import CFError

__all__ = ["accepted_job", "blob_download"]


def accepted_job(ctx: RequestContext, job: Job, body: Any = None) -> Response:
    """202 with ``Location`` pointing at the job; with a body only where CC sends one."""
    headers = {"Location": ctx.urls.v3("jobs", job.guid)}
    if body is None:
        return no_content(202, headers)
    return cf_json(body, status=202, headers=headers)


def blob_download(store: Blobstore, key: str, *, media_type: str, filename: str) -> Response:
    """A stored blob: a redirect where the store signs URLs, else the file streamed from disk."""
    if not store.exists(key):
        raise CFError("BlobstoreUnavailable")
    url = store.signed_url(key)
    if url is not None:
        return Response(status_code=302, headers={"Location": url})
    path = store.local_path(key)
    assert path is not None
    return FileResponse(path, media_type=media_type, filename=filename)
