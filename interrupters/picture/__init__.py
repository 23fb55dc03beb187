"""The shared situational picture (EST, the municipal lägesbild): place observations from every
partner, each place against its own recent past, and the cycle of periods with actions.

About places, times and trends, never people: nothing of the programme's participants,
contacts or conflicts enters it, only an interrupter's explicit place signal (DESIGN.md).
"""
