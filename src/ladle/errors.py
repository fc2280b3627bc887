"""The Cloud Foundry error table, and the one exception that carries an entry of it.

Every error a client sees is an entry here, raised by name: ``raise CFError("ResourceNotFound",
"App not found")``. The entry fixes the numeric code, the HTTP status and the detail template,
so the same failure always reads the same way, as in Cloud Controller's ``errors/v2.yml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["ERRORS", "CFError", "ErrorSpec", "render_error"]


@dataclass(frozen=True)
class ErrorSpec:
    code: int
    status: int
    template: str


ERRORS: dict[str, ErrorSpec] = {
    "InvalidAuthToken": ErrorSpec(1000, 401, "Invalid Auth Token"),
    "MessageParseError": ErrorSpec(1001, 400, "Request invalid due to parse error: {}"),
    "InvalidRelation": ErrorSpec(1002, 400, "{}"),
    "BadRequest": ErrorSpec(1004, 400, "Bad request: {}"),
    "NotFound": ErrorSpec(10000, 404, "Unknown request"),
    "ServerError": ErrorSpec(10001, 500, "Server error"),
    "NotAuthenticated": ErrorSpec(10002, 401, "Authentication error"),
    "NotAuthorized": ErrorSpec(10003, 403, "You are not authorized to perform the requested action"),
    "InvalidRequest": ErrorSpec(10004, 400, "The request is invalid"),
    "BadQueryParameter": ErrorSpec(10005, 400, "The query parameter is invalid: {}"),
    "InsufficientScope": ErrorSpec(10007, 403, "Your token lacks the necessary scopes to access this resource."),
    "UnprocessableEntity": ErrorSpec(10008, 422, "{}"),
    "ResourceNotFound": ErrorSpec(10010, 404, "{}"),
    "RateLimitExceeded": ErrorSpec(10013, 429, "Rate Limit Exceeded"),
    "ServiceUnavailable": ErrorSpec(10015, 503, "{}"),
    "UniquenessError": ErrorSpec(10016, 422, "{}"),
    "OrgSuspended": ErrorSpec(10017, 403, "The organization is suspended"),
    "SpaceSuspended": ErrorSpec(10019, 403, "The space is suspended"),
    "ResourceBeingDeleted": ErrorSpec(10020, 422, "The {} is being deleted"),
    "AppPackageInvalid": ErrorSpec(150001, 400, "The app package is invalid: {}"),
    "PackageBitsAlreadyUploaded": ErrorSpec(
        150004,
        400,
        "Bits may be uploaded only once. Create a new package to upload different bits.",
    ),
    "BlobstoreUnavailable": ErrorSpec(150006, 502, "Failed to perform operation due to blobstore unavailability."),
    "BlobstoreError": ErrorSpec(150007, 500, "Failed to perform blobstore operation after three retries."),
    "ResourceChecksumMismatch": ErrorSpec(
        150010,
        500,
        "One or more cached resources did not match the given checksum. "
        "They have been deleted; please retry package upload.",
    ),
    "AppBitsUploadInvalid": ErrorSpec(160001, 400, "The app upload is invalid: {}"),
    "AppResourcesFileModeInvalid": ErrorSpec(160003, 400, "The resource file mode is invalid: {}"),
    "AppResourcesFilePathInvalid": ErrorSpec(160004, 400, "The resource file path is invalid: {}"),
    # Cloud Controller's nginx answers 413 with HTML; Ladle answers in the envelope, with the
    # size wording CC uses for packages.
    "PackageUploadTooLarge": ErrorSpec(
        150001, 413, "The app package is invalid: Uploads may not be larger than {} bytes"
    ),
    "DropletUploadTooLarge": ErrorSpec(
        10008, 413, "Uploaded droplet file is invalid: Uploads may not be larger than {} bytes"
    ),
    "StagingError": ErrorSpec(170001, 400, "Staging error: {}"),
    "NotStaged": ErrorSpec(170002, 400, "App has not finished staging"),
    "NoAppDetectedError": ErrorSpec(170003, 400, "An app was not successfully detected by any available buildpack"),
    "BuildpackCompileFailed": ErrorSpec(170004, 400, "App staging failed in the buildpack compile phase"),
    "BuildpackReleaseFailed": ErrorSpec(170005, 400, "App staging failed in the buildpack release phase"),
    "NoBuildpacksFound": ErrorSpec(170006, 400, "There are no buildpacks available"),
    "StagingTimeExpired": ErrorSpec(170007, 504, "Staging time expired: {}"),
    "InsufficientResources": ErrorSpec(170008, 400, "Insufficient resources"),
    "NoCompatibleCell": ErrorSpec(170009, 400, "Found no compatible cell"),
    "StagerUnavailable": ErrorSpec(170010, 503, "Stager is unavailable: {}"),
    "StagerError": ErrorSpec(170011, 500, "Stager error: {}"),
    "RunnerUnavailable": ErrorSpec(170015, 503, "Runner is unavailable: {}"),
    "StagingInProgress": ErrorSpec(170017, 422, "Only one build can be STAGING at a time per application."),
    "StackValidationFailed": ErrorSpec(250004, 422, "{}"),
    "BuildpackInvalid": ErrorSpec(290003, 400, "Buildpack is invalid: {}"),
    "CustomBuildpacksDisabled": ErrorSpec(290004, 400, "Custom buildpacks are disabled"),
    "JobTimeout": ErrorSpec(290006, 524, "The job execution has timed out."),
    "FeatureDisabled": ErrorSpec(330002, 403, "Feature Disabled: {}"),
    "BuildpackStacksDontMatch": ErrorSpec(390011, 422, "Uploaded buildpack stack ({}) does not match {}"),
    "BuildpackStackDoesNotExist": ErrorSpec(390012, 422, "Uploaded buildpack stack ({}) does not exist"),
    "BuildpackZipError": ErrorSpec(390013, 422, "Buildpack zip error: {}"),
    "ProcessNotFound": ErrorSpec(350003, 404, "The process could not be found: {}"),
    "DropletUploadInvalid": ErrorSpec(380002, 400, "The droplet upload is invalid: {}"),
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


UNKNOWN_ERROR: dict[str, object] = {
    "detail": "An unknown error occurred.",
    "title": "UnknownError",
    "code": 10001,
}


def render_error(errors: Sequence[CFError]) -> dict[str, object]:
    """The ``{"errors": [...]}`` envelope for one or more errors."""
    return {"errors": [e.to_dict() for e in errors]}
