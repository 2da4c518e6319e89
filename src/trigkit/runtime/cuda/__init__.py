"""trigkit.runtime.cuda."""
