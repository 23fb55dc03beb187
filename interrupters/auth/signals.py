"""What accounts and sessions announce; whoever cares (push) listens."""

from blinker import Namespace

_signals = Namespace()

# Devices whose sessions just ended (sender: the session; device_session_ids).
devices_signed_out = _signals.signal("devices-signed-out")
# An admin reset a person's second factors (sender: the session; user_id, event_id, now).
second_factors_reset = _signals.signal("second-factors-reset")
