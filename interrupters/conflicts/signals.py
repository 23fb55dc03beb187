"""What conflicts announce; whoever cares (push) listens."""

from blinker import Namespace

_signals = Namespace()

# A conflict rose to level 3 or 4 (sender: the session; actor, conflict, event, from_level, now).
conflict_escalated = _signals.signal("conflict-escalated")
