"""views of the cases app."""
