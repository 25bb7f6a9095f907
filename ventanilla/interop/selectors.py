"""selectors of the interop app."""
