"""Private compiled extensions (Cython wrappers over csrc/). Use voiceguard.features instead."""
