"""ruby_buildpack: apps with a ``Gemfile``, installed with the host's Ruby and Bundler.

Gems go to ``deps/<index>/bundle`` (``BUNDLE_PATH``), without the development and test groups
unless ``BUNDLE_WITHOUT`` says otherwise. With ``vendor/cache`` in the app the install is
offline (``bundle install --local``). The installed gems are kept in the build cache and copied
back before the next install, so Bundler finds them already there. A ``config.ru`` app starts
with ``rackup`` unless the Procfile says otherwise.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .common import Buildpack, BuildpackError, Dirs, capture, header, host_tool, run, say, staging_env, write_profile

WITHOUT = "development:test"


class Ruby(Buildpack):
    name = "ruby"
    title = "Ruby"

    def detect(self, build: Path) -> str | None:
        return "Gemfile found" if (build / "Gemfile").is_file() else None

    def supply(self, dirs: Dirs) -> None:
        ruby, bundle = host_tool("ruby"), host_tool("bundle") or host_tool("bundler")
        if ruby is None or bundle is None:
            raise BuildpackError(
                "Ruby with Bundler is not installed on this Ladle host (Debian: apt-get install ruby ruby-bundler)"
            )
        env = staging_env(dirs)
        version = capture([ruby, "-e", "print RUBY_VERSION"], env=env) or "unknown"
        abi = capture([ruby, "-e", "print RbConfig::CONFIG['ruby_version']"], env=env) or version
        say(f"Using the host's Ruby {version} and {capture([bundle, '--version'], env=env) or 'Bundler'}")
        target, cache = dirs.dep / "bundle", dirs.cache / "bundle"
        if cache.is_dir():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(cache, target, symlinks=True)
            say("Gems installed by the last staging are reused (build cache)")
        env.update(BUNDLE_PATH=str(target), BUNDLE_GEMFILE=str(dirs.build / "Gemfile"), BUNDLE_JOBS="4")
        env.setdefault("BUNDLE_WITHOUT", WITHOUT)
        locked = (dirs.build / "Gemfile.lock").is_file()
        if locked:
            env["BUNDLE_FROZEN"] = "true"
        local = (dirs.build / "vendor" / "cache").is_dir()
        header("Installing gems with bundle install" + (" --local (from vendor/cache, offline)" if local else ""))
        if run([bundle, "install", *(["--local"] if local else [])], env=env, cwd=dirs.build) != 0:
            raise BuildpackError("bundle install failed (Bundler's message is above)")
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(target, cache, symlinks=True)
        bin_dir = dirs.dep / "bin"
        bin_dir.mkdir(parents=True, exist_ok=True)
        for name, path in (("ruby", ruby), ("bundle", bundle)):
            (bin_dir / name).unlink(missing_ok=True)
            (bin_dir / name).symlink_to(path)
        lines = [
            f'export BUNDLE_PATH="{dirs.at_launch("bundle")}"',
            'export BUNDLE_GEMFILE="$HOME/Gemfile"',
            f'export BUNDLE_WITHOUT="${{BUNDLE_WITHOUT:-{env["BUNDLE_WITHOUT"]}}}"',
            f'export PATH="{dirs.at_launch("bundle", "ruby", abi, "bin")}:$PATH"',
            'export RACK_ENV="${RACK_ENV:-production}"',
            'export RAILS_ENV="${RAILS_ENV:-production}"',
        ]
        if locked:
            lines.append("export BUNDLE_FROZEN=true")
        write_profile(dirs, "ruby", "\n".join(lines) + "\n")

    def web_command(self, build: Path, index: str) -> str | None:
        if (build / "config.ru").is_file():
            return "bundle exec rackup config.ru --port $PORT --host 0.0.0.0"
        return None


BUILDPACK = Ruby()
