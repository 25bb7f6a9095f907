"""services of the cases app."""
