"""Table writes on behalf of one event of a batch.

A Faust table writes each change to the changelog partition of the event being processed (the key's
state lives with its events: recovery reads it back from there), and finds that event in a context
variable the stream sets for each event it yields. An agent that takes a batch of events
(``Stream.take_events``) is past all of them, so before it writes a state it names the event the
state belongs to. ``faust.streams._current_event`` is that variable; ``Stream.current_event`` reads it.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from contextlib import contextmanager

from faust.streams import _current_event
from faust.types import EventT


@contextmanager
def acting_for(event: EventT) -> Iterator[None]:
    """Table writes inside the block go to ``event``'s partition."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)
