"""The `gpu` compile target (owned by the GPU work); registers in trigkit.compile.targets.TARGETS."""
