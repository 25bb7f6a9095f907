"""selectors of the inbox app."""
