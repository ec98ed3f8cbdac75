"""Projections: one per read model, naming the events it handles and what each does to its view."""
