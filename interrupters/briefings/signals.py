"""What the weekend briefing announces; whoever cares (push) listens."""

from blinker import Namespace

_signals = Namespace()

# A briefing was published, by a person or the scheduler (sender: the session; briefing, now).
briefing_published = _signals.signal("briefing-published")
