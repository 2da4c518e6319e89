"""trigkit.firmware.rtl.generate."""
