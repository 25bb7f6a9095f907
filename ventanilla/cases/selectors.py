"""selectors of the cases app."""
