"""What the records path announces; whoever cares (push, audit, figures) listens."""

from blinker import Namespace

_signals = Namespace()

# A record that raises a conflict to level 3 or 4 is held for correction: the escalation it
# carries is unconfirmed and must not wait unseen (sender: the session; actor, held, now).
escalation_held = _signals.signal("escalation-held")
