"""The template agent: renders its step's prompt with the run's inputs and the earlier steps' outputs.

Pure: no I/O, no clock. The prompt is a Jinja2 template run in the sandbox (``rendering.py``); a prompt
that does not compile is refused when the flow is defined (``prompt_problems``). The output is
``{"text": <the rendered prompt>}``; a render past ``max_bytes`` (config, at most 64 KiB) fails the step.

Config: ``{"max_bytes": 1 … 65536}`` (optional; 65536 by default).
"""

from __future__ import annotations

from collections.abc import Mapping

from application.flows.agents import ConfigProblem, Json, StepCall, StepResult
from application.flows.builtin.configs import ConfigReader
from application.flows.builtin.rendering import MAX_OUTPUT_BYTES, PromptRenderer


class TemplateAgent:
    """``template``: a step whose output is its prompt, rendered."""

    name = "template"

    def __init__(self, renderer: PromptRenderer | None = None) -> None:
        self._renderer = renderer or PromptRenderer()

    def validate_config(self, config: Mapping[str, Json]) -> dict[str, Json]:
        reader = ConfigReader(self.name, config, {"max_bytes"})
        max_bytes = reader.integer("max_bytes", low=1, high=MAX_OUTPUT_BYTES, default=MAX_OUTPUT_BYTES)
        reader.done()
        return {"max_bytes": max_bytes}

    def prompt_problems(self, prompt: str) -> list[ConfigProblem]:
        return self._renderer.problems(prompt, ())

    def run(self, call: StepCall) -> StepResult:
        max_bytes = call.config.get("max_bytes", MAX_OUTPUT_BYTES)
        text = self._renderer.render(
            call.prompt,
            inputs=call.inputs,
            outputs=call.outputs,
            max_bytes=max_bytes if isinstance(max_bytes, int) else MAX_OUTPUT_BYTES,
        )
        return StepResult(output={"text": text})
