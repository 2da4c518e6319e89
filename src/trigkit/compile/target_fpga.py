"""The `fpga` compile target (owned by the FPGA work); registers in trigkit.compile.targets.TARGETS."""
