"""views of the documents app."""
