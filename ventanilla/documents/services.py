"""services of the documents app."""
