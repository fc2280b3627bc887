"""The code Ladle's system buildpacks run, shipped inside each buildpack zip as ``lib/bpkit``.

Everything here runs under the host's ``python3`` inside the staging sandbox, so it uses the
standard library only and never imports Ladle itself.
"""
