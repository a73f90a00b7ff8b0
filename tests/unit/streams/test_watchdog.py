from streams.watchdog import StallDetector


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
