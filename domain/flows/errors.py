"""The Flows context's named errors: a move the lifecycle does not allow is a conflict (409)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.shared.errors import Category, DomainError, NotFound


class InvalidFlow(DomainError):
    code = "invalid_flow"
    title = "The flow is not valid"
    category = Category.INVALID


class InvalidStepConfig(DomainError):
    """One or more steps name an unknown agent or give it a config it refuses; ``errors`` lists every field."""

    code = "invalid_step_config"
    title = "One or more steps' agent or config is not valid"
    category = Category.INVALID

    def __init__(self, errors: Sequence[dict[str, Any]]) -> None:
        self.errors = [dict(error) for error in errors]
        super().__init__(f"{len(self.errors)} invalid step field(s)")

    def extensions(self) -> dict[str, Any]:
        return {"errors": self.errors}


class FlowNotFound(NotFound):
    code = "flow_not_found"
    title = "No such flow"


class FlowRunNotFound(NotFound):
    code = "flow_run_not_found"
    title = "No such flow run"


class FlowNotEditable(DomainError):
    code = "flow_not_editable"
    title = "A flow's steps can be edited only while it is a draft or paused"


class FlowStopped(DomainError):
    code = "flow_stopped"
    title = "The flow is stopped and accepts no further change"


class FlowAlreadyActive(DomainError):
    code = "flow_already_active"
    title = "The flow is already active"


class FlowNotActive(DomainError):
    code = "flow_not_active"
    title = "The flow is not active: only an active flow runs or can be paused"


class ActiveFlowsLimitReached(DomainError):
    code = "active_flows_limit"
    title = "The plan's limit of active flows is reached: pause or stop another flow first"

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"The plan allows {limit} active flow(s); pause or stop another first")

    def extensions(self) -> dict[str, Any]:
        return {"limit": self.limit}


class RunFinished(DomainError):
    code = "flow_run_finished"
    title = "The run has completed or failed and takes no further step"


class StepOutOfOrder(DomainError):
    code = "flow_step_out_of_order"
    title = "A run's steps start, complete and fail one at a time, in order"
