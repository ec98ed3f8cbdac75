"""The accounts read model's projection."""
