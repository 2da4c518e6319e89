"""trigkit.firmware (see DESIGN.md)."""
