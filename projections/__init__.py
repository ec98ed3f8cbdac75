"""Projections: which events each read model handles and what each does to its view."""
