"""What the contacts domain announces; whoever cares (push) listens."""

from blinker import Namespace

_signals = Namespace()

# A supervisor returned a contact to its worker (sender: the session; contact, review, now).
contact_returned = _signals.signal("contact-returned")
