"""The inventory read model's projection."""
