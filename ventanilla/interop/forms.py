"""forms of the interop app."""
