"""The fault suite's servers run on SQLite and PostgreSQL, as the crash-recovery tests' do."""

from tests.cli.test_crash_recovery import database  # noqa: F401  (the fixture, shared)
