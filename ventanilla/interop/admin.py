"""admin of the interop app."""
