"""services of the interop app."""
