"""One module per state machine: its states, the moves allowed between them, and the one
conditional update every writer uses to make a move.

A move is ``UPDATE ... WHERE guid = :guid AND state = :expected``: of two writers racing (an
upload job and a delete, a stager and a cancel) exactly one wins, and the loser learns it from
the returned flag and tidies up after itself. To add a machine (processes, instances), copy
``package.py``: a ``StrEnum`` of states, a transition table, a :class:`StateMachine`, and a
``move_<resource>`` function.
"""
