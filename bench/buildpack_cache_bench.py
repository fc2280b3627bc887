"""Cold and warm staging of a Flask app by the system python_buildpack.

A fresh server (system buildpacks installed, as for any new user) stages a Flask app with a
``requirements.txt``. Each run clears the app's build cache and stages it (cold: pip resolves
and downloads from the package index), then stages a new package of the same app (warm: the
build cache holds the installed packages). Time runs from ``POST /v3/builds`` until the build
is STAGED. The result is warm over cold, per run and as a median (target: <= 0.30).

    python -m bench.buildpack_cache_bench [--runs 5] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from bench.staging_bench import staging_phases
from bench.support import Server, stage

FLASK_APP = {
    "app.py": (
        "import os\nfrom flask import Flask\n\napp = Flask(__name__)\n\n\n"
        '@app.route("/")\ndef hello():\n    return "hello"\n\n\n'
        'if __name__ == "__main__":\n    app.run(host="0.0.0.0", port=int(os.environ["PORT"]))\n'
    ),
    "requirements.txt": "flask==3.0.3\ngunicorn==23.0.0\n",
    "Procfile": "web: gunicorn app:app --bind 0.0.0.0:$PORT\n",
}


def app_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in FLASK_APP.items():
            zf.writestr(name, content)
    return out.getvalue()


def upload_package(server: Server, app_guid: str, bits: bytes) -> str:
    package = server.post("/v3/packages", {"type": "bits", "relationships": {"app": {"data": {"guid": app_guid}}}})
    r = server.http.post(f"/v3/packages/{package['guid']}/upload", files={"bits": ("app.zip", bits)})
    r.raise_for_status()
    while (state := server.http.get(f"/v3/packages/{package['guid']}").json()["state"]) != "READY":
        if state == "FAILED":
            raise RuntimeError("package upload failed")
        time.sleep(0.02)
    return str(package["guid"])


def stage_seconds(server: Server, package_guid: str) -> tuple[float, str, str]:
    """Seconds to STAGED, the build's log, and its guid."""
    elapsed, build = stage(server, package_guid)
    return elapsed, server.http.get(f"/v3/builds/{build}/logs").text, build


def clear_cache(server: Server, app_guid: str) -> None:
    r = server.http.post(f"/v3/apps/{app_guid}/actions/clear_buildpack_cache")
    r.raise_for_status()
    while (job := server.http.get(r.headers["location"]).json())["state"] == "PROCESSING":
        time.sleep(0.02)
    if job["state"] != "COMPLETE":
        raise RuntimeError(job["errors"])


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None, help="where the server's data dir goes")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="ladle-bench-", dir=args.workdir))
    bits = app_zip()
    try:
        log_path = workdir / "server.log"
        server = Server(workdir / "data", log_path=log_path)
        try:
            app = server.app()
            colds, warms, builds = [], [], []
            for run in range(1, args.runs + 1):
                clear_cache(server, app)
                cold, cold_log, cold_build = stage_seconds(server, upload_package(server, app, bits))
                warm, warm_log, warm_build = stage_seconds(server, upload_package(server, app, bits))
                builds.append((cold_build, warm_build))
                if "Downloading flask" not in cold_log or "Downloading flask" in warm_log:
                    raise RuntimeError("the cold staging should download and the warm one should not")
                colds.append(cold)
                warms.append(warm)
                print(f"run {run}: cold {cold:6.2f}s   warm {warm:6.2f}s   warm/cold {warm / cold:5.2f}", flush=True)
        finally:
            server.stop()
        phases = staging_phases(log_path)
        print("\nphases as the server measured them (s), cold | warm:")
        for run, (cold_build, warm_build) in enumerate(builds, 1):
            shown = [" ".join(f"{k} {v:.2f}" for k, v in phases.get(b, {}).items()) for b in (cold_build, warm_build)]
            print(f"  run {run}: {shown[0]}  |  {shown[1]}")
        ratios = sorted(w / c for w, c in zip(warms, colds, strict=True))
        cold, warm, ratio = statistics.median(colds), statistics.median(warms), statistics.median(ratios)
        print(
            f"\nmedian over {args.runs} runs: cold {cold:.2f}s, warm {warm:.2f}s; "
            f"median warm/cold {ratio:.2f} (range {ratios[0]:.2f}-{ratios[-1]:.2f}; target <= 0.30)"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
