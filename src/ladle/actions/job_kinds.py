"""Every kind of job Ladle runs, by operation name."""

from __future__ import annotations

from ladle.actions import buildpacks, deletion, droplets, package_bits, retention, staging_jobs
from ladle.jobs.executor import JobKind

__all__ = ["job_kinds"]


def job_kinds() -> dict[str, JobKind]:
    kinds = [
        # Deletes can safely run again if a worker died halfway: they start from what is left.
        JobKind("app.delete", deletion.run_app_delete, max_attempts=3),
        JobKind("space.delete", deletion.run_space_delete, max_attempts=3),
        JobKind("organization.delete", deletion.run_organization_delete, max_attempts=3),
        JobKind("role.delete", deletion.run_role_delete, max_attempts=3),
        # An upload's file does not survive a restart, so an interrupted upload fails cleanly.
        JobKind("package.upload", package_bits.run_package_upload, on_failure=package_bits.fail_upload),
        JobKind("package.copy", package_bits.run_package_copy, max_attempts=3, on_failure=package_bits.fail_copy),
        JobKind("package.delete", package_bits.run_package_delete, max_attempts=3),
        # A staging cut short by a crash starts again once; its build is failed after that.
        JobKind("droplet.upload", droplets.run_droplet_upload, on_failure=droplets.fail_droplet_upload),
        JobKind("droplet.copy", droplets.run_droplet_copy, max_attempts=3, on_failure=droplets.fail_droplet_copy),
        JobKind("droplet.delete", droplets.run_droplet_delete, max_attempts=3),
        JobKind("bits.delete_expired", retention.run_expired_blob_delete, max_attempts=3),
        JobKind("build.stage", staging_jobs.run_build_stage, max_attempts=2, on_failure=staging_jobs.fail_staging),
        JobKind("buildpack.upload", buildpacks.run_buildpack_upload, on_failure=buildpacks.fail_buildpack_upload),
        JobKind("buildpack.delete", buildpacks.run_buildpack_delete, max_attempts=3),
        JobKind("app.clear_buildpack_cache", staging_jobs.run_clear_buildpack_cache, max_attempts=3),
    ]
    return {kind.operation: kind for kind in kinds}
