"""What accounts and sessions announce; whoever cares (push) listens."""

from blinker import Namespace

_signals = Namespace()

# Devices whose sessions just ended (sender: the session; device_session_ids).
devices_signed_out = _signals.signal("devices-signed-out")
