"""One staging, start to finish: the job behind ``POST /v3/builds``.

Load what the build needs, unpack the package, restore the build cache, fetch the buildpacks,
run the lifecycle in a sandbox, pack and store the droplet and the cache, and only then mark
the droplet and the build STAGED. Any failure marks both FAILED with Cloud Controller's error
id and text; the scratch directory and every staging process are gone when this returns.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ladle.bits.archive import ArchiveLimits, InvalidArchive
from ladle.bits.extract import extract_tgz, extract_zip
from ladle.blobstore import BlobNotFound, Blobstores
from ladle.db.buildpacks import admin_buildpacks_named, detectable_buildpacks
from ladle.db.lookup import by_guid
from ladle.db.models import App, Build, Droplet, Package, Process
from ladle.db.placement import placement_of
from ladle.db.services import env_group_vars, vcap_services
from ladle.db.session import Database
from ladle.db.states.build import BuildState, fail_build, stage_build
from ladle.errors import CFError
from ladle.jobs.executor import JobContext
from ladle.sandbox import SandboxConfig
from ladle.staging.buildpack_sources import BuildpackFetchError, BuildpackSource, Downloader, fetch_buildpack
from ladle.staging.docker_image import DockerStagingError, inspect_image
from ladle.staging.droplet import PackFailed, compress_file, pack_directory
from ladle.staging.droplet_reuse import reuse_identical_droplet
from ladle.staging.environment import as_process_env, staging_environment
from ladle.staging.lifecycle import (
    COMPILE_FAIL,
    DETECT_FAIL,
    RELEASE_FAIL,
    BuildpackSpec,
    LifecycleFailure,
    StagingResult,
    Workspace,
    run_lifecycle,
)
from ladle.staging.logs import BuildLog
from ladle.staging.sandbox import (
    DiskLimitExceeded,
    JailError,
    Limits,
    MemoryLimitExceeded,
    Mount,
    Sandbox,
    StagingCancelled,
    StagingTimedOut,
)
from ladle.staging.xxhash import key_hash
from ladle.urls import mask_credentials

__all__ = ["CANCELLED", "OnStaged", "StagingFailed", "run_staging", "staging_error"]

log = logging.getLogger("ladle.staging")

CANCELLED = "cancelled"
# What the caller adds to the transaction that marks a build (the guid) STAGED.
OnStaged = Callable[[Session, str], None]
CANCEL_CHECK_EVERY = 1.0
PACKAGE_LIMITS = ArchiveLimits(max_size=8 * 1024 * 1024 * 1024)


class StagingFailed(Exception):
    def __init__(self, error_id: str, description: str) -> None:
        super().__init__(description)
        self.error_id = error_id
        self.description = description


def staging_error(name: str, *args: object) -> StagingFailed:
    """A failure worded from CF's error table (``StagingError``, ``NoAppDetectedError``, ...)."""
    return StagingFailed(name, CFError(name, *args).detail)


def _failure_for_exit(code: int) -> StagingFailed:
    """Cloud Controller keeps the error ids it knows for these exit codes; the rest is StagingError."""
    names = {
        DETECT_FAIL: "NoAppDetectedError",
        COMPILE_FAIL: "BuildpackCompileFailed",
        RELEASE_FAIL: "BuildpackReleaseFailed",
    }
    if code in names:
        return staging_error(names[code])
    return staging_error("StagingError", "staging failed")


@dataclass
class _Plan:
    """Everything staging needs from the database, loaded once."""

    build_guid: str
    app_guid: str
    package_guid: str
    droplet_guid: str
    lifecycle_type: str
    stack: str | None
    memory_mb: int
    disk_mb: int
    log_rate_limit: int
    env: dict[str, Any]
    sources: list[BuildpackSource]
    skip_detect: bool
    web_command: str | None
    requested: list[str] = field(default_factory=list)
    docker_image: str | None = None
    docker_username: str | None = None
    docker_password: str | None = None


def _load_plan(ctx: JobContext) -> _Plan | None:
    with ctx.db.session() as s:
        build = by_guid(s, Build, ctx.resource_guid or "")
        if build is None or build.state != BuildState.STAGING:
            return None
        app = by_guid(s, App, build.app_guid)
        package = by_guid(s, Package, build.package_guid or "")
        droplet = s.scalars(select(Droplet).where(Droplet.build_guid == build.guid)).first()
        if app is None or package is None or droplet is None:
            raise staging_error("StagingError", "the app or its package no longer exists")
        placement = placement_of(s, app)
        web_command = s.scalar(select(Process.command).where(Process.app_guid == app.guid, Process.type == "web"))
        sources, skip_detect = _resolve_buildpacks(s, build.buildpacks or [], build.stack)
        env = staging_environment(
            placement,
            cf_api=ctx.settings.effective_external_url,
            group_env=env_group_vars(s, "staging"),
            app_env=dict(app.environment_variables or {}),
            build_env=dict(build.environment_variables or {}),
            vcap_services=vcap_services(s, app.guid),
            stack=build.stack,
            memory_mb=build.staging_memory_in_mb,
            disk_mb=build.staging_disk_in_mb,
            build_guid=build.guid,
        )
        return _Plan(
            build_guid=build.guid,
            app_guid=app.guid,
            package_guid=package.guid,
            droplet_guid=droplet.guid,
            lifecycle_type=build.lifecycle_type,
            stack=build.stack,
            memory_mb=build.staging_memory_in_mb,
            disk_mb=build.staging_disk_in_mb,
            log_rate_limit=build.staging_log_rate_limit,
            env=env,
            sources=sources,
            skip_detect=skip_detect,
            web_command=web_command,
            requested=list(build.buildpacks or []),
            docker_image=package.docker_image,
            docker_username=package.docker_username,
            docker_password=package.docker_password,
        )


def _resolve_buildpacks(session: Any, requested: list[str], stack: str | None) -> tuple[list[BuildpackSource], bool]:
    """Named buildpacks skip detection (CF's rule); otherwise every enabled admin buildpack is tried."""
    if requested:
        sources = []
        for name in requested:
            admins = admin_buildpacks_named(session, name, stack)
            if admins and admins[0].blob_key:
                bp = admins[0]
                sources.append(BuildpackSource(bp.blob_key or bp.name, bp.name, blob_key=bp.blob_key, sha256=bp.sha256))
            else:
                sources.append(BuildpackSource(name, mask_credentials(name), url=name))
        return sources, True
    admins = detectable_buildpacks(session, stack)
    return [BuildpackSource(b.blob_key or b.name, b.name, blob_key=b.blob_key, sha256=b.sha256) for b in admins], False


def _cancel_check(db: Database, build_guid: str) -> Callable[[], bool]:
    last = 0.0
    cancelled = False

    def check() -> bool:
        nonlocal last, cancelled
        now = time.monotonic()
        if not cancelled and now - last >= CANCEL_CHECK_EVERY:
            last = now
            with db.session() as s:
                cancelled = s.scalar(select(Build.state).where(Build.guid == build_guid)) != BuildState.STAGING
        return cancelled

    return check


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "K", "M", "G"):
        if value < 1024 or unit == "G":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{n}B"


class _Phases:
    """Wall time of each part of a staging, for the log (where the time goes when one is slow)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(time.perf_counter() - started, 3)


def run_staging(ctx: JobContext, on_staged: OnStaged | None = None) -> bool:
    """Stage the job's build; True if it ended STAGED (False: failed, cancelled or gone).
    ``on_staged`` runs in the transaction that marks the build STAGED."""
    try:
        plan = _load_plan(ctx)
    except StagingFailed as exc:
        fail_build(ctx.db, ctx.resource_guid or "", exc.error_id, exc.description)
        return False
    if plan is None:
        return False  # cancelled (or finished) before a worker picked it up
    settings = ctx.settings
    scratch = settings.scratch_dir / "staging" / plan.build_guid
    shutil.rmtree(scratch, ignore_errors=True)
    build_log = BuildLog(ctx.db, plan.app_guid, plan.build_guid, plan.log_rate_limit)
    if plan.lifecycle_type == "docker":
        return _stage_docker(ctx, plan, build_log, on_staged)
    say = build_log.write
    staged = False
    sandbox: Sandbox | None = None
    phases = _Phases()
    try:
        workspace = Workspace(scratch / "droplet", scratch / "cache")
        with phases("package"):
            _unpack_package(ctx.blobstores, plan, workspace, say)
        with phases("cache_restore"):
            _restore_cache(ctx.blobstores, plan, workspace, say)
        if not plan.sources:
            raise staging_error("StagingError", CFError("NoBuildpacksFound").detail)
        sandbox_config = SandboxConfig.from_settings(settings)
        limits = Limits(memory_mb=plan.memory_mb, disk_mb=plan.disk_mb)
        with phases("buildpacks"):
            specs = _fetch_buildpacks(ctx, plan, scratch, say, config=sandbox_config, limits=limits)
        restored_cache = _fingerprint(workspace.cache_dir)
        cancelled = _cancel_check(ctx.db, plan.build_guid)
        try:
            sandbox = Sandbox(
                scratch,
                mounts=[
                    # Where Cloud Foundry's builder keeps each of them.
                    Mount(workspace.droplet_root, "/tmp/contents", writable=True),
                    Mount(workspace.build_dir, "/tmp/app", writable=True),
                    Mount(workspace.cache_dir, "/tmp/cache", writable=True),
                    *(Mount(s.path, f"/tmp/buildpacks/{key_hash(s.key)}", writable=False) for s in specs),
                ],
                limits=limits,
                deadline=time.monotonic() + settings.staging_timeout,
                cancelled=cancelled,
                config=sandbox_config,
            )
        except JailError as exc:
            raise _sandbox_unavailable(exc, say) from None
        for note in sandbox.notes:
            say(f"Note: {note}")
        try:
            with phases("lifecycle"):
                result = run_lifecycle(
                    workspace,
                    specs,
                    skip_detect=plan.skip_detect,
                    sandbox=sandbox,
                    env=as_process_env(plan.env, plan.build_guid),
                    say=say,
                    output=build_log.write,
                )
        except LifecycleFailure as exc:
            say(f"Exit status {exc.exit_code}")
            raise _failure_for_exit(exc.exit_code) from exc
        except StagingTimedOut:
            say(f"Staging timed out after {settings.staging_timeout} seconds")
            raise staging_error("StagingTimeExpired", "staging failed") from None
        except DiskLimitExceeded:
            say(f"Staging used more than its {plan.disk_mb}MB of disk")
            raise staging_error("StagingError", "disk quota exceeded") from None
        except MemoryLimitExceeded:
            say(f"Staging used more than its {plan.memory_mb}MB of memory")
            raise staging_error("StagingError", "memory limit exceeded") from None
        say("Exit status 0")
        if not result.process_types.get("web") and not plan.web_command:
            raise staging_error("StagingError", "Start command not specified")
        say("Uploading droplet, build artifacts cache...")
        with phases("droplet"):
            cache_changed = _fingerprint(workspace.cache_dir) != restored_cache
            staged = _store_droplet(
                ctx,
                plan,
                workspace,
                scratch,
                result=result,
                build_log=build_log,
                on_staged=on_staged,
                cache_changed=cache_changed,
            )
    except StagingCancelled:
        say("Staging was cancelled")
    except StagingFailed as exc:
        # Every line is stored before the build ends, so a reader that stops at the end misses none.
        build_log.close()
        fail_build(ctx.db, plan.build_guid, exc.error_id, exc.description)
        log.info("staging failed", extra={"build": plan.build_guid, "error": exc.error_id})
    finally:
        if sandbox is not None:
            sandbox.close()
        build_log.close()
        shutil.rmtree(scratch, ignore_errors=True)
        log.info("staging ended", extra={"build": plan.build_guid, "phase_seconds": phases.seconds})
    return staged


def _stage_docker(ctx: JobContext, plan: _Plan, build_log: BuildLog, on_staged: OnStaged | None) -> bool:
    try:
        result = inspect_image(
            plan.docker_image or "",
            username=plan.docker_username,
            password=plan.docker_password,
            insecure_registries=ctx.settings.insecure_docker_registries,
            private_registries=ctx.settings.private_docker_registries,
            say=build_log.write,
        )
    except DockerStagingError as exc:
        build_log.write(str(exc))
        build_log.close()
        fail_build(ctx.db, plan.build_guid, "StagingError", CFError("StagingError", str(exc)).detail)
        return False
    build_log.write("Staging Complete")
    build_log.close()
    staged = _mark_staged(
        ctx,
        plan,
        on_staged,
        process_types=result.process_types,
        execution_metadata=result.execution_metadata,
        image=result.image,
        docker_username=plan.docker_username,
        docker_password=plan.docker_password,
    )
    if staged:  # else cancelled meanwhile
        log.info("docker staging complete", extra={"build": plan.build_guid, "image": result.image})
    return staged


def _unpack_package(blobstores: Blobstores, plan: _Plan, ws: Workspace, say: Callable[[str], None]) -> None:
    say("Downloading app package...")
    try:
        with blobstores.packages.open_local(plan.package_guid) as local:
            say(f"Downloaded app package ({_size(local.stat().st_size)})")
            extract_zip(local, ws.build_dir, PACKAGE_LIMITS)
    except BlobNotFound:
        raise staging_error("StagingError", "the package's bits are missing") from None
    except InvalidArchive as exc:
        say(str(exc))
        raise staging_error("StagingError", "staging failed") from None


def _cache_key(plan: _Plan) -> str:
    return f"{plan.app_guid}/{plan.stack or 'none'}"


def _restore_cache(blobstores: Blobstores, plan: _Plan, ws: Workspace, say: Callable[[str], None]) -> None:
    ws.cache_dir.mkdir(parents=True, exist_ok=True)
    store = blobstores.buildpack_cache
    key = _cache_key(plan)
    if not store.exists(key):
        return
    say("Downloading build artifacts cache...")
    try:
        with store.open_local(key) as archive:
            extract_tgz(archive, ws.cache_dir)
            say(f"Downloaded build artifacts cache ({_size(archive.stat().st_size)})")
    except (BlobNotFound, OSError, ValueError) as exc:
        # A missing or damaged cache only costs time: stage without it.
        say(f"Failed to download build artifacts cache: {exc}")
        shutil.rmtree(ws.cache_dir, ignore_errors=True)
        ws.cache_dir.mkdir(parents=True, exist_ok=True)


def _sandbox_unavailable(exc: JailError, say: Callable[[str], None]) -> StagingFailed:
    say(str(exc))
    log.error("no sandbox for user code", extra={"reason": str(exc)})
    return staging_error("StagingError", "buildpacks cannot be run in a sandbox on this server")


def _fetch_buildpacks(
    ctx: JobContext,
    plan: _Plan,
    scratch: Path,
    say: Callable[[str], None],
    *,
    config: SandboxConfig,
    limits: Limits,
) -> list[BuildpackSpec]:
    work_dir = scratch / "buildpackdownloads"
    downloader = Downloader(config, work_dir, scratch / "fetch", limits)
    specs = []
    try:
        for source in plan.sources:
            try:
                path = fetch_buildpack(
                    source,
                    work_dir=work_dir,
                    shared_dir=ctx.settings.build_cache_dir,
                    store=ctx.blobstores.buildpacks,
                    downloader=downloader,
                    say=say,
                )
            except BuildpackFetchError as exc:
                for note in downloader.notes:
                    say(f"Note: {note}")
                say(str(exc))
                raise staging_error("StagingError", "staging failed") from None
            except JailError as exc:
                raise _sandbox_unavailable(exc, say) from None
            specs.append(BuildpackSpec(source.key, path, source.name))
    finally:
        downloader.close()
    return specs


def _fingerprint(directory: Path) -> list[tuple[str, int, int, int]]:
    """Every entry under ``directory`` with its size, mode and modification time."""
    out = []
    for path in sorted(directory.rglob("*")):
        info = path.lstat()
        out.append((str(path.relative_to(directory)), info.st_size, info.st_mode, info.st_mtime_ns))
    return out


def _store_droplet(
    ctx: JobContext,
    plan: _Plan,
    ws: Workspace,
    scratch: Path,
    *,
    result: StagingResult,
    build_log: BuildLog,
    on_staged: OnStaged | None,
    cache_changed: bool = True,
) -> bool:
    say = build_log.write
    for empty in ("tmp", "logs"):
        (ws.droplet_root / empty).mkdir(exist_ok=True)
    tarball = scratch / "droplet.tgz"
    cache_tarball = scratch / "cache.tgz"
    # A build cache the buildpacks left as it was restored is already stored as it is.
    store_cache = cache_changed or not ctx.blobstores.buildpack_cache.exists(_cache_key(plan))
    try:
        cache_digest = pack_directory(ws.cache_dir, cache_tarball).digest if store_cache else None
        lookup = reuse_identical_droplet(
            ctx.db,
            ctx.blobstores.droplets,
            app_guid=plan.app_guid,
            droplet_guid=plan.droplet_guid,
            root=ws.droplet_root,
            tar=scratch / "droplet.tar",
        )
        if lookup.reused is not None:
            digest, content = lookup.reused.digest, lookup.reused.content_sha256
            say(f"Droplet unchanged: the same files as droplet {lookup.reused.earlier_guid}, whose bits are reused")
        else:
            if lookup.tar is not None and lookup.content_sha256 is not None:
                digest, content = compress_file(lookup.tar, tarball), lookup.content_sha256
            else:
                packed = pack_directory(ws.droplet_root, tarball)
                digest, content = packed.digest, packed.content_sha256
            ctx.blobstores.droplets.put_file(plan.droplet_guid, tarball, digest=digest, move=True)
    except PackFailed as exc:
        say(f"Failed to compress droplet filesystem: {exc}")
        raise staging_error("StagingError", "staging failed") from None
    if cache_digest is not None:
        ctx.blobstores.buildpack_cache.put_file(_cache_key(plan), cache_tarball, digest=cache_digest, move=True)
    say(f"Uploaded droplet ({_size(digest.size)})")
    say("Uploading complete")
    build_log.close()
    staged = _mark_staged(
        ctx,
        plan,
        on_staged,
        process_types=result.process_types,
        execution_metadata="",
        buildpack_receipts=_receipts(plan, result),
        sidecars=result.sidecars,
        sha1=digest.sha1,
        sha256=digest.sha256,
        size=digest.size,
        content_sha256=content,
    )
    if not staged:
        # Cancelled at the last moment: the build's failure stands; the blob goes.
        ctx.blobstores.droplets.delete(plan.droplet_guid)
        return False
    log.info("staging complete", extra={"build": plan.build_guid, "droplet": plan.droplet_guid, "bytes": digest.size})
    return True


def _mark_staged(ctx: JobContext, plan: _Plan, on_staged: OnStaged | None, **droplet: object) -> bool:
    """Build and droplet STAGED together, only if the build is still STAGING (not cancelled).
    The app's current droplet stays as it is: clients assign it (as with Cloud Controller)."""
    with ctx.db.session() as s:
        staged = stage_build(s, plan.build_guid, make_current=False, **droplet)
        if staged and on_staged is not None:
            on_staged(s, plan.build_guid)
        s.commit()
    return staged


def _receipts(plan: _Plan, result: StagingResult) -> list[dict[str, Any]]:
    """The droplet's ``buildpacks``: one per buildpack used, enriched with what config.yml said."""
    records = {record.key: record for record in result.buildpacks}
    used = plan.sources if plan.skip_detect else [s for s in plan.sources if s.key == result.buildpack_key][:1]
    receipts = []
    for source in used:
        record = records.get(source.key)
        receipts.append(
            {
                "name": source.name,
                "detect_output": result.detect_output if not plan.skip_detect else None,
                "buildpack_name": (record.name or None) if record else None,
                "version": (record.version or None) if record else None,
            }
        )
    return receipts
