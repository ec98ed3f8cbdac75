"""The Work orders context: welding jobs from creation through inspection to completion."""
