"""admin of the inbox app."""
