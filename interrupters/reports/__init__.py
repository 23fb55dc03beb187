"""Every figure of the programme (DESIGN.md, "Evaluation with researchers"): the indicators'
definitions, their computation per area and month, and small-count suppression."""
