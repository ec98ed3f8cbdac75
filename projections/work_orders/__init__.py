"""The work-order read models' projections: the orders, their timelines, the workshop dashboard."""
