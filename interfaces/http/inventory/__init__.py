"""The Inventory context's routes: commands and queries."""

from interfaces.http.inventory import commands, queries

routers = (commands.router, queries.router)
