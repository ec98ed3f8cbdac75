"""The Trades application."""
