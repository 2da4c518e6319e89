"""trigkit.cli.app."""
