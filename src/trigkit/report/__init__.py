"""trigkit.report (see DESIGN.md)."""
