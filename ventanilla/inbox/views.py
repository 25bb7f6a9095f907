"""views of the inbox app."""
