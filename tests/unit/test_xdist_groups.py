"""The suite's ``xdist_group`` marks must hold: tests that share one machine-wide resource (the
RabbitMQ the broker-outage test stops, the server whose feature flags change) rely on running one
after another on the same worker."""

from __future__ import annotations

import os

import pytest


@pytest.mark.xdist_group("grouping-check")
def test_a_grouped_test_is_scheduled_by_its_group(request: pytest.FixtureRequest) -> None:
    if "PYTEST_XDIST_WORKER" not in os.environ:
        pytest.skip("only tests run by xdist workers are scheduled by group")
    # xdist's loadgroup schedules by a "@group" suffix it adds to the node id on the worker.
    assert request.node.nodeid.endswith("@grouping-check"), (
        f"xdist did not tag {request.node.nodeid!r} with its group: tests of one xdist_group may run "
        "side by side (pytest and pytest-xdist versions that do not work together?)"
    )
