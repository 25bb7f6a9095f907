"""`make bench`: load tests against production mode (see README.md)."""
