"""The Accounts context's adapters: its read model (tables, writer, queries), hashing and token signing, wiring."""
