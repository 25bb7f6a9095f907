"""forms of the documents app."""
