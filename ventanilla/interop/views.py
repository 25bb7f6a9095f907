"""views of the interop app."""
