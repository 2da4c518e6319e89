"""trigkit.emulator (see DESIGN.md)."""
