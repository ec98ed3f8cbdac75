"""The Flows context's routes: flow and run commands, and their queries."""

from interfaces.http.flows import commands, queries

routers = (commands.router, queries.router)
