"""What the night walks announce; whoever cares (push) listens."""

from blinker import Namespace

_signals = Namespace()

# A walk report flagged urgent was filed (sender: the session; report, walk, now).
urgent_report_filed = _signals.signal("urgent-report-filed")
