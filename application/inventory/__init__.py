"""The Inventory application: items, their stock, and the draws work orders make on it."""
