# The kept counts move with every contact written: their flush listener must be registered
# wherever contacts are.
from interrupters.contacts import tallies as tallies
