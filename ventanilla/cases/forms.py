"""forms of the cases app."""
