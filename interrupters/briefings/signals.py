"""What the weekend briefing announces; whoever cares (push) listens."""

from blinker import Namespace

_signals = Namespace()

# A briefing was published, by a person or the scheduler (sender: the session; briefing, now).
briefing_published = _signals.signal("briefing-published")

# A new draft is being started for districts (sender: the session; district_ids, now). A
# receiver may return {"statuses": {place_id: (status, note)}, "lines": [str], "source": str}
# for the draft to start from: the situational picture answers, briefings need not know it.
briefing_drafting = _signals.signal("briefing-drafting")
