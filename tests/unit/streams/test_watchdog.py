from streams.runtime.watchdog import StallDetector


def test_a_partition_fetched_past_its_commit_and_idle_is_stalled_only_after_patience():
    d = StallDetector(patience=10)
    assert not d.stalled(0, committed=19, position=57, in_flight=False, now=0)
    assert not d.stalled(0, committed=19, position=57, in_flight=False, now=9.9)
    assert d.stalled(0, committed=19, position=57, in_flight=False, now=10)


def test_progress_in_flight_work_or_a_caught_up_commit_resets_the_clock():
    d = StallDetector(patience=10)
    d.stalled(0, committed=19, position=57, in_flight=False, now=0)
    assert not d.stalled(0, committed=30, position=57, in_flight=False, now=11)  # the commit moved
    assert not d.stalled(0, committed=30, position=57, in_flight=False, now=20)
    assert not d.stalled(0, committed=30, position=57, in_flight=True, now=22)  # the agent is busy
    assert not d.stalled(0, committed=30, position=57, in_flight=False, now=31)
    assert not d.stalled(0, committed=57, position=57, in_flight=False, now=100)  # caught up


def test_partitions_are_independent_and_a_never_committed_partition_counts_from_zero():
    d = StallDetector(patience=5)
    d.stalled(0, committed=None, position=3, in_flight=False, now=0)
    d.stalled(1, committed=None, position=0, in_flight=False, now=0)
    assert d.stalled(0, committed=None, position=3, in_flight=False, now=5)
    assert not d.stalled(1, committed=None, position=0, in_flight=False, now=5)
    d.forget(0)
    assert not d.stalled(0, committed=None, position=3, in_flight=False, now=6)


def test_liveness_quiet_while_idle_or_moving():
    from streams.runtime.watchdog import Liveness

    live = Liveness(limit=60, progress_at=0, watched_at=0)
    live.watched(0, now=100)  # nothing waiting: idle for ever is fine
    assert live.problem(now=150) is None
    live.watched(500, now=150)  # work arrives: its clock starts now, not at the last event long ago
    assert live.problem(now=200) is None
    live.progressed(now=205)
    live.watched(400, now=206)
    assert live.problem(now=260) is None


def test_liveness_flags_waiting_events_nobody_processes():
    from streams.runtime.watchdog import Liveness

    live = Liveness(limit=60, progress_at=0, watched_at=0)
    live.watched(500, now=10)
    live.watched(500, now=71)
    assert live.problem(now=71) == "500 events waiting and none processed for 61s"


def test_liveness_flags_a_watchdog_that_stopped_completing_rounds():
    from streams.runtime.watchdog import Liveness

    live = Liveness(limit=60, progress_at=0, watched_at=0)
    live.watched(0, now=10)
    assert live.problem(now=71) == "the partition watchdog has not completed a round for 61s"
