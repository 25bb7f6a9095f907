"""services of the inbox app."""
