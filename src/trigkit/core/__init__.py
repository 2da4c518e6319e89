"""trigkit.core."""
