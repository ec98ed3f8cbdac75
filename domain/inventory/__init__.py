"""The Inventory context: the workshop's stock of material, received, consumed and adjusted."""
