"""The session registry (deploy/warehouse/sessions.py) on a clock the test moves by hand."""

from __future__ import annotations

import pytest

from deploy.warehouse.errors import QueryError
from deploy.warehouse.sessions import Sessions


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_request_at_a_time_and_expiry_after_the_last():
    clock = Clock()
    sessions = Sessions(clock)
    s = sessions.enter("alice", "s1", "10", check=False)
    with pytest.raises(QueryError) as info:
        sessions.enter("alice", "s1", None, check=True)
    assert info.value.name == "SESSION_IS_LOCKED"
    clock.now += 100  # a long request: the session does not expire under it
    sessions.leave(s)
    clock.now += 9
    assert sessions.enter("alice", "s1", None, check=True) is s  # the timeout counts from its last answer
    sessions.leave(s)
    clock.now += 10
    with pytest.raises(QueryError) as info:
        sessions.enter("alice", "s1", None, check=True)
    assert info.value.name == "SESSION_NOT_FOUND" and len(sessions) == 0


def test_sessions_belong_to_their_account_and_are_capped():
    sessions = Sessions(Clock(), limit=2)
    a = sessions.enter("alice", "s", None, check=False)
    b = sessions.enter("bob", "s", None, check=False)
    assert a is not b
    with pytest.raises(QueryError) as info:
        sessions.enter("carol", "s", None, check=False)
    assert info.value.code == 202


@pytest.mark.parametrize("timeout, name", [("3601", "INVALID_SESSION_TIMEOUT"), ("1e3", "INVALID_SESSION_TIMEOUT")])
def test_bad_timeouts(timeout, name):
    with pytest.raises(QueryError) as info:
        Sessions(Clock()).enter("alice", "s", timeout, check=False)
    assert info.value.name == name


class Handle:
    """Stands in for the engine handle a session keeps for its temporary tables: only its closing is seen here."""

    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_a_session_with_temporary_tables_closes_its_handle_when_it_ends():
    clock = Clock()
    sessions = Sessions(clock)
    s = sessions.enter("alice", "s1", "10", check=False)
    s.handle = handle = Handle()
    sessions.leave(s)
    clock.now += 11
    sessions.enter("alice", "other", None, check=False)  # any request expires what is due
    assert handle.closed and s.handle is None
    ended = sessions.enter("alice", "s2", "0", check=False)  # a timeout of 0 ends with its request
    ended.handle = second = Handle()
    sessions.leave(ended)
    assert second.closed


def test_sessions_with_temporary_tables_are_capped():
    sessions = Sessions(Clock(), handles=1)
    sessions.may_hold_handle()
    s = sessions.enter("alice", "s1", None, check=False)
    s.handle = Handle()
    with pytest.raises(QueryError) as info:
        sessions.may_hold_handle()
    assert info.value.code == 202
    sessions.close()
    assert s.handle is None and len(sessions) == 0
    sessions.may_hold_handle()
