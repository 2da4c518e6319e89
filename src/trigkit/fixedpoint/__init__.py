"""trigkit.fixedpoint."""
