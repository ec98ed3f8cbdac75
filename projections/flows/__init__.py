"""The Flows context's read models."""
