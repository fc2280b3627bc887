"""Sample apps as users push them, one per system buildpack, as ``{path: content}`` for a zip.

The Go and Ruby apps need nothing from the network (vendored modules, ``vendor/cache``); the
Flask and Express apps install real packages from PyPI and the npm registry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = [
    "EXPRESS",
    "FLASK",
    "GO",
    "STATIC",
    "binary_app",
    "ruby_app",
]

DATA = Path(__file__).parent / "data"

STATIC: dict[str, str | bytes] = {
    "Staticfile": "root: public\npushstate: enabled\n",
    "public/index.html": "<!DOCTYPE html><h1>hello from staticfile</h1>\n",
    "public/style.css": "h1 { color: teal; }\n",
    "README.md": "not part of the site\n",
}

FLASK: dict[str, str | bytes] = {
    "app.py": (
        "import os\n\n"
        "from flask import Flask\n\n"
        "app = Flask(__name__)\n\n\n"
        '@app.route("/")\n'
        "def hello():\n"
        '    return "hello from flask"\n\n\n'
        'if __name__ == "__main__":\n'
        '    app.run(host="0.0.0.0", port=int(os.environ["PORT"]))\n'
    ),
    "requirements.txt": "flask==3.0.3\n",
    "Procfile": "web: python app.py\n",
}

EXPRESS: dict[str, str | bytes] = {
    "package.json": (
        "{\n"
        '  "name": "ladle-express-sample",\n'
        '  "version": "1.0.0",\n'
        '  "private": true,\n'
        '  "engines": { "node": ">=18" },\n'
        '  "scripts": { "start": "node server.js" },\n'
        '  "dependencies": { "express": "4.21.2" }\n'
        "}\n"
    ),
    "package-lock.json": (DATA / "express-package-lock.json").read_bytes(),
    "server.js": (
        "const express = require('express');\n"
        "const app = express();\n"
        "app.get('/', (req, res) => res.send('hello from express'));\n"
        "app.listen(process.env.PORT, () => console.log('listening on ' + process.env.PORT));\n"
    ),
}

GO: dict[str, str | bytes] = {
    "go.mod": "module example.com/hello\n\ngo 1.19\n\nrequire example.com/greeting v1.0.0\n",
    "main.go": (
        "package main\n\n"
        'import (\n\t"fmt"\n\t"net/http"\n\t"os"\n\n\t"example.com/greeting"\n)\n\n'
        "func main() {\n"
        '\thttp.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {\n'
        '\t\tfmt.Fprint(w, greeting.Hello("go"))\n'
        "\t})\n"
        '\tif err := http.ListenAndServe(":"+os.Getenv("PORT"), nil); err != nil {\n'
        "\t\tfmt.Fprintln(os.Stderr, err)\n\t\tos.Exit(1)\n\t}\n"
        "}\n"
    ),
    # A vendored module: the build needs no network and no module proxy.
    "vendor/modules.txt": "# example.com/greeting v1.0.0\n## explicit; go 1.19\nexample.com/greeting\n",
    "vendor/example.com/greeting/greeting.go": (
        'package greeting\n\nfunc Hello(who string) string { return "hello from " + who + " (vendored)" }\n'
    ),
}

RUBY_SERVER = """require "socket"
require "ladle_greeting"

server = TCPServer.new("0.0.0.0", Integer(ENV.fetch("PORT")))
loop do
  client = server.accept
  client.gets
  while (line = client.gets) && line != "\\r\\n"; end
  body = LadleGreeting.hello("ruby")
  client.write("HTTP/1.1 200 OK\\r\\nContent-Length: #{body.bytesize}\\r\\nConnection: close\\r\\n\\r\\n#{body}")
  client.close
end
"""

GEMSPEC = """Gem::Specification.new do |s|
  s.name = "ladle_greeting"
  s.version = "1.0.0"
  s.summary = "A gem for Ladle's tests"
  s.authors = ["Ladle"]
  s.files = ["lib/ladle_greeting.rb"]
  s.license = "Apache-2.0"
end
"""

GEMFILE_LOCK = """GEM
  remote: https://rubygems.org/
  specs:
    ladle_greeting (1.0.0)

PLATFORMS
  ruby

DEPENDENCIES
  ladle_greeting
"""


def ruby_app(work: Path) -> dict[str, str | bytes]:
    """A Ruby app whose one gem is in ``vendor/cache`` (built here with ``gem build``)."""
    source = work / "gem"
    (source / "lib").mkdir(parents=True, exist_ok=True)
    (source / "ladle_greeting.gemspec").write_text(GEMSPEC)
    (source / "lib" / "ladle_greeting.rb").write_text(
        'module LadleGreeting\n  def self.hello(who)\n    "hello from #{who} (gem from vendor/cache)"\n  end\nend\n'
    )
    subprocess.run(["gem", "build", "ladle_greeting.gemspec"], cwd=source, check=True, capture_output=True)
    return {
        "Gemfile": 'source "https://rubygems.org"\ngem "ladle_greeting"\n',
        "Gemfile.lock": GEMFILE_LOCK,
        "app.rb": RUBY_SERVER,
        "Procfile": "web: bundle exec ruby app.rb\n",
        "vendor/cache/ladle_greeting-1.0.0.gem": (source / "ladle_greeting-1.0.0.gem").read_bytes(),
    }


def binary_app(work: Path) -> dict[str, str | bytes]:
    """A prebuilt program (compiled here, as users compile before ``cf push -b binary_buildpack``)."""
    source = work / "binary-src"
    source.mkdir(parents=True, exist_ok=True)
    (source / "go.mod").write_text("module example.com/server\n\ngo 1.19\n")
    main = str(GO["main.go"]).replace('"example.com/greeting"', "")
    (source / "main.go").write_text(main.replace('greeting.Hello("go")', '"hello from a binary"'))
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOCACHE": str(work / "gocache")}
    go = shutil.which("go") or "go"
    subprocess.run([go, "build", "-o", str(work / "server"), "."], cwd=source, env=env, check=True, capture_output=True)
    return {"server": (work / "server").read_bytes(), "Procfile": "web: ./server\n"}
