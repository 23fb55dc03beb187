"""Research projects and their exports (issue 11, item 3; DESIGN.md, "Evaluation with
researchers")."""
