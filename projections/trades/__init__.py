"""The Trades context's read models."""
