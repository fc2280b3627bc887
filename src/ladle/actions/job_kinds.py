"""Every kind of job Ladle runs, by operation name."""

from __future__ import annotations

from ladle.actions import (
    buildpacks,
    deletion,
    droplet_copy,
    droplet_upload,
    droplets,
    manifest_apply,
    package_copy,
    package_upload,
    packages,
    quotas,
    retention,
    routes,
    staging_jobs,
)
from ladle.jobs.executor import JobKind

__all__ = ["job_kinds"]


def job_kinds() -> dict[str, JobKind]:
    kinds = [
        # Deletes can safely run again if a worker died halfway: they start from what is left.
        JobKind("app.delete", deletion.run_app_delete, max_attempts=3, routing=True),
        JobKind("space.delete", deletion.run_space_delete, max_attempts=3, routing=True),
        JobKind("organization.delete", deletion.run_organization_delete, max_attempts=3, routing=True),
        JobKind("role.delete", deletion.run_role_delete, max_attempts=3),
        JobKind("route.delete", routes.run_route_delete, max_attempts=3, routing=True),
        JobKind("organization_quota.delete", quotas.run_organization_quota_delete, max_attempts=3),
        JobKind("space_quota.delete", quotas.run_space_quota_delete, max_attempts=3),
        JobKind("space.delete_unmapped_routes", routes.run_unmapped_routes_delete, max_attempts=3, routing=True),
        # Applying a manifest is not idempotent halfway (scales, routes): one attempt, as in CC.
        JobKind("space.apply_manifest", manifest_apply.run_apply_manifest, routing=True),
        # An upload job takes its file out of the uploads bucket, so once started it cannot start
        # again: an interrupted upload fails cleanly (one that never started resumes).
        JobKind("package.upload", package_upload.run_package_upload, on_failure=package_upload.fail_upload),
        JobKind(
            "package.copy", package_copy.run_package_copy, max_attempts=3, on_failure=package_copy.fail_package_copy
        ),
        JobKind("package.delete", packages.run_package_delete, max_attempts=3),
        JobKind("droplet.upload", droplet_upload.run_droplet_upload, on_failure=droplet_upload.fail_droplet_upload),
        JobKind(
            "droplet.copy", droplet_copy.run_droplet_copy, max_attempts=3, on_failure=droplet_copy.fail_droplet_copy
        ),
        JobKind("droplet.delete", droplets.run_droplet_delete, max_attempts=3),
        JobKind("bits.delete_expired", retention.run_expired_blob_delete, max_attempts=3),
        # A staging cut short by a crash starts again once; its build is failed after that.
        JobKind("build.stage", staging_jobs.run_build_stage, max_attempts=2, on_failure=staging_jobs.fail_staging),
        JobKind("buildpack.upload", buildpacks.run_buildpack_upload, on_failure=buildpacks.fail_buildpack_upload),
        JobKind("buildpack.delete", buildpacks.run_buildpack_delete, max_attempts=3),
        JobKind("app.clear_buildpack_cache", staging_jobs.run_clear_buildpack_cache, max_attempts=3),
    ]
    return {kind.operation: kind for kind in kinds}
