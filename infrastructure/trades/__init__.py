"""The Trades context's infrastructure: read-model tables, their writers and queries, the wiring."""
