"""A node that only runs jobs needs no web code: the worker side imports neither Starlette nor
``ladle.api``, even after it has built its services and run a job."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

WORKER = textwrap.dedent(
    """
    import importlib, json, pkgutil, sys
    from pathlib import Path

    from tests.support.waiting import wait_until

    import ladle
    import ladle.cli  # what `ladle worker` runs
    for package in ("ladle.jobs", "ladle.staging", "ladle.blobstore", "ladle.db", "ladle.db.states"):
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__):
            importlib.import_module(f"{package}.{info.name}")

    from ladle.actions.jobs import add_job
    from ladle.config import Settings
    from ladle.db.lookup import by_guid
    from ladle.db.models import Job
    from ladle.services import build_services

    services = build_services(Settings(data_dir=Path(sys.argv[1])))
    services.start()
    with services.db.session() as s:
        job = add_job(s, "app.clear_buildpack_cache", resource_type="app", resource_guid="no-such-app")
        s.commit()
    services.executor.submit(job.guid)

    def finished():
        with services.db.session() as s:
            state = by_guid(s, Job, job.guid).state
        return state if state != "PROCESSING" else None

    state = wait_until(finished, timeout=20, interval=0.02)
    services.stop()
    web = sorted(
        name for name in sys.modules
        if name.split(".")[0] in ("starlette", "uvicorn") or name.startswith(("ladle.api", "ladle.app"))
    )
    print(json.dumps({"job": state, "web_modules": web}))
    """
)


def test_worker_side_imports_no_web_code(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", WORKER, str(tmp_path)],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"job": "COMPLETE", "web_modules": []}
