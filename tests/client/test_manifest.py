"""The manifest ``ladle push`` sends: as the cf CLI builds it from a file and flags."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ladle.client.manifest import Flags, ManifestError, plan_push


def test_flags_only(tmp_path: Path) -> None:
    (plan,) = plan_push(tmp_path, None, Flags(name="web", memory="256M", instances=2, buildpacks=("python_buildpack",)))
    assert plan.name == "web" and plan.directory == tmp_path.resolve() and plan.docker_image is None
    assert yaml.safe_load(plan.manifest) == {
        "applications": [
            {
                "name": "web",
                "memory": "256M",
                "instances": 2,
                "buildpacks": ["python_buildpack"],
                "default-route": True,
            }
        ]
    }


def test_manifest_file_with_flags_on_the_web_process(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "manifest.yml").write_text(
        "applications:\n"
        "- name: one\n  path: src\n  processes:\n  - type: web\n    memory: 64M\n  - type: worker\n"
        "- name: two\n  no-route: true\n  docker:\n    image: busybox\n"
    )
    one, two = plan_push(tmp_path, None, Flags())
    assert (one.name, one.directory) == ("one", (tmp_path / "src").resolve())
    assert "path" not in yaml.safe_load(one.manifest)["applications"][0]
    (only,) = plan_push(tmp_path, None, Flags(name="one", memory="128M", command="run"))
    app = yaml.safe_load(only.manifest)["applications"][0]
    assert app["processes"][0] == {"type": "web", "memory": "128M", "command": "run"}
    assert "memory" not in app and app["default-route"] is True
    assert two.docker_image == "busybox"
    assert "default-route" not in yaml.safe_load(two.manifest)["applications"][0]  # no-route wins


def test_bad_manifests(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="app name is required"):
        plan_push(tmp_path, None, Flags())
    (tmp_path / "m.yml").write_text("applications: {}\n")
    with pytest.raises(ManifestError, match="has no list of applications"):
        plan_push(tmp_path, tmp_path / "m.yml", Flags())
    (tmp_path / "m.yml").write_text("applications:\n- name: a\n")
    # As the cf CLI: the name given overrides the name of a manifest's only app.
    assert [p.name for p in plan_push(tmp_path, tmp_path / "m.yml", Flags(name="b"))] == ["b"]
    (tmp_path / "m.yml").write_text("applications:\n- name: a\n- name: c\n")
    with pytest.raises(ManifestError, match="Could not find app named 'b' in manifest"):
        plan_push(tmp_path, tmp_path / "m.yml", Flags(name="b"))
