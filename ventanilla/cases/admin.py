"""admin of the cases app."""
