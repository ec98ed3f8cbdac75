"""The Work orders context's routes: commands (one by one, or a whole file) and queries."""

from interfaces.http.work_orders import commands, queries

routers = (commands.router, queries.router)
