"""trigkit.bundle."""
