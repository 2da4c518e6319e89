"""trigkit.models (see DESIGN.md)."""
