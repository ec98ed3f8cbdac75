"""What every context's domain shares: errors and their categories, unique keys, roles, quantities, moved topics."""
