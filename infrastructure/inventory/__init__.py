"""The Inventory context's adapters: its read model (tables, writer, queries), wiring."""
