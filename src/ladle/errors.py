"""The Cloud Foundry error table, and the one exception that carries an entry of it.

Every error a client sees is an entry here, raised by name (and every entry is raised somewhere;
``tests/unit/test_error_table.py`` checks both): ``raise CFError("ResourceNotFound",
"App not found")``. The entry fixes the numeric code, the HTTP status and the detail template,
so the same failure always reads the same way, as in Cloud Controller's ``errors/v2.yml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ERRORS", "CFError", "CFErrorList", "ErrorSpec", "render_error", "render_v2_error"]


@dataclass(frozen=True)
class ErrorSpec:
    code: int
    status: int
    template: str


ERRORS: dict[str, ErrorSpec] = {
    "InvalidAuthToken": ErrorSpec(1000, 401, "Invalid Auth Token"),
    "MessageParseError": ErrorSpec(1001, 400, "Request invalid due to parse error: {}"),
    "BadRequest": ErrorSpec(1004, 400, "Bad request: {}"),
    "NotFound": ErrorSpec(10000, 404, "Unknown request"),
    "ServerError": ErrorSpec(10001, 500, "Server error"),
    "NotAuthenticated": ErrorSpec(10002, 401, "Authentication error"),
    "NotAuthorized": ErrorSpec(10003, 403, "You are not authorized to perform the requested action"),
    "InvalidRequest": ErrorSpec(10004, 400, "The request is invalid"),
    "BadQueryParameter": ErrorSpec(10005, 400, "The query parameter is invalid: {}"),
    "UnprocessableEntity": ErrorSpec(10008, 422, "{}"),
    # Limits on hostile clients (api/http_server.py, api/body.py). Cloud Controller leaves them to
    # its nginx, which answers in HTML; Ladle answers in the envelope, with InvalidRequest's code.
    "HeadersTooLarge": ErrorSpec(10004, 431, "The request line and headers are too large"),
    "RequestTimeout": ErrorSpec(10004, 408, "The request body did not arrive in time"),
    "ResourceNotFound": ErrorSpec(10010, 404, "{}"),
    "UniquenessError": ErrorSpec(10016, 422, "{}"),
    "OrgSuspended": ErrorSpec(10017, 403, "The organization is suspended"),
    # Errors only the v2 endpoints the v7 CLI's service commands call answer with.
    "SpaceNotFound": ErrorSpec(40004, 404, "The app space could not be found: {}"),
    "ServiceInstanceNameTaken": ErrorSpec(60002, 400, "The service instance name is taken: {}"),
    "ServiceInstanceInvalid": ErrorSpec(60003, 400, "The service instance is invalid: {}"),
    "ServiceInstanceNotFound": ErrorSpec(60004, 404, "The service instance could not be found: {}"),
    "ServiceBindingAppServiceTaken": ErrorSpec(90003, 400, "{}"),
    "AppNotFound": ErrorSpec(100004, 404, "The app could not be found: {}"),
    "PackageBitsAlreadyUploaded": ErrorSpec(
        150004,
        400,
        "Bits may be uploaded only once. Create a new package to upload different bits.",
    ),
    "BlobstoreUnavailable": ErrorSpec(150006, 502, "Failed to perform operation due to blobstore unavailability."),
    # Cloud Controller's nginx answers 413 with HTML; Ladle answers in the envelope, with the
    # size wording CC uses for packages.
    "PackageUploadTooLarge": ErrorSpec(
        150001, 413, "The app package is invalid: Uploads may not be larger than {} bytes"
    ),
    "DropletUploadTooLarge": ErrorSpec(
        10008, 413, "Uploaded droplet file is invalid: Uploads may not be larger than {} bytes"
    ),
    "StagingError": ErrorSpec(170001, 400, "Staging error: {}"),
    "NoAppDetectedError": ErrorSpec(170003, 400, "An app was not successfully detected by any available buildpack"),
    "BuildpackCompileFailed": ErrorSpec(170004, 400, "App staging failed in the buildpack compile phase"),
    "BuildpackReleaseFailed": ErrorSpec(170005, 400, "App staging failed in the buildpack release phase"),
    "NoBuildpacksFound": ErrorSpec(170006, 400, "There are no buildpacks available"),
    "StagingTimeExpired": ErrorSpec(170007, 504, "Staging time expired: {}"),
    "StagerError": ErrorSpec(170011, 500, "Stager error: {}"),
    "StagingInProgress": ErrorSpec(170017, 422, "Only one build can be STAGING at a time per application."),
    "BuildpackInvalid": ErrorSpec(290003, 400, "Buildpack is invalid: {}"),
    "FeatureDisabled": ErrorSpec(330002, 403, "Feature Disabled: {}"),
    "BuildpackStacksDontMatch": ErrorSpec(390011, 422, "Uploaded buildpack stack ({}) does not match {}"),
    "BuildpackStackDoesNotExist": ErrorSpec(390012, 422, "Uploaded buildpack stack ({}) does not exist"),
    "BuildpackZipError": ErrorSpec(390013, 422, "Buildpack zip error: {}"),
    "ProcessNotFound": ErrorSpec(350003, 404, "The process could not be found: {}"),
    "LabelLimitExceeded": ErrorSpec(390020, 422, "Failed to add {} labels because it would exceed maximum of {}"),
    "AnnotationLimitExceeded": ErrorSpec(
        390023, 422, "Failed to add {} annotations because it would exceed maximum of {}"
    ),
}


class CFError(Exception):
    """An error a client is meant to see, named after its entry in :data:`ERRORS`.

    ``args`` fill the entry's template; a list argument is joined with ", " the way
    Cloud Controller joins validation messages.
    """

    def __init__(self, name: str, *args: object) -> None:
        if name not in ERRORS:
            raise KeyError(f"unknown CF error {name!r}")
        self.name = name
        self.spec = ERRORS[name]
        self.format_args = args
        super().__init__(self.detail)

    @property
    def detail(self) -> str:
        parts = [", ".join(map(str, a)) if isinstance(a, list | tuple) else str(a) for a in self.format_args]
        # Like Cloud Controller, a template without placeholders ignores its arguments.
        slots = self.spec.template.count("{}")
        parts = (parts + [""] * slots)[:slots]
        return self.spec.template.format(*parts)

    @property
    def status(self) -> int:
        return self.spec.status

    @property
    def code(self) -> int:
        return self.spec.code

    @property
    def title(self) -> str:
        return f"CF-{self.name}"

    def to_dict(self) -> dict[str, object]:
        return {"detail": self.detail, "title": self.title, "code": self.code}

    def __repr__(self) -> str:
        return f"CFError({self.name!r}, {self.detail!r})"


class CFErrorList(CFError):
    """Several errors answered at once (a manifest's problems, one per entry of ``errors``)."""

    def __init__(self, errors: Sequence[CFError]) -> None:
        if not errors:
            raise ValueError("an error list needs at least one error")
        super().__init__(errors[0].name, *errors[0].format_args)
        self.errors = list(errors)


UNKNOWN_ERROR: dict[str, object] = {
    "detail": "An unknown error occurred.",
    "title": "UnknownError",
    "code": 10001,
}


def render_error(errors: Sequence[CFError]) -> dict[str, object]:
    """The ``{"errors": [...]}`` envelope for one or more errors."""
    flat = [item for e in errors for item in (e.errors if isinstance(e, CFErrorList) else [e])]
    return {"errors": [e.to_dict() for e in flat]}


def render_v2_error(error: CFError) -> dict[str, object]:
    """The v2 API's error body: one error, ``{"code", "description", "error_code"}``."""
    return {"code": error.spec.code, "description": error.detail, "error_code": f"CF-{error.name}"}
