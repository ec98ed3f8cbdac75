"""Everything that touches the outside world, and the composition root."""
