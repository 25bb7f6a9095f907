"""forms of the inbox app."""
