"""Running apps: the role Diego's cells play, behind a small interface another backend can take over.

A runner reads desired state from the database (started processes with their instance counts and
versions, tasks to run, rolling deployments) and writes what it observes into ``instances`` rows
(state, address, usage, crash details) and task states. Nothing else tells it what to do, so the
API never waits on a runner and a runner that restarts finds its work where it left it.
"""
