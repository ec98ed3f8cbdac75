"""The template agent and the sandboxed renderer every prompt goes through."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from application.flows.agents import AgentFailed, InvalidAgentConfig, StepCall, validate_step
from application.flows.builtin.rendering import MAX_ITERATIONS, PromptRenderer
from application.flows.builtin.template import TemplateAgent

renderer = PromptRenderer()


def render(source: str, inputs: dict[str, Any] | None = None, outputs: list[dict[str, Any]] | None = None) -> str:
    return renderer.render(source, inputs=inputs or {}, outputs=outputs or [])


def step(prompt: str, config: dict[str, Any] | None = None, **inputs: Any) -> StepCall:
    agent = TemplateAgent()
    return StepCall(
        flow_id=uuid.uuid4(),
        run_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        step_index=2,
        attempt=1,
        prompt=prompt,
        config=validate_step(agent, prompt, config or {}),
        inputs=inputs,
        outputs=[{"text": "first"}, {"action": "buy", "price": "101.5"}],
    )


def test_the_prompt_is_rendered_with_the_inputs_and_the_earlier_outputs() -> None:
    result = TemplateAgent().run(
        step("{{ inputs.symbol }} at {{ previous.price }} after {{ outputs[0].text|upper }}", symbol="BTC/USDT")
    )

    assert result.output == {"text": "BTC/USDT at 101.5 after FIRST"}
    assert result.signal is None


def test_loops_conditions_and_filters_work_inside_the_bounds() -> None:
    text = render(
        "{% for s in inputs.symbols %}{{ loop.index }}={{ s|lower }}{% if not loop.last %}, {% endif %}{% endfor %}"
        " | {{ inputs.symbols|join('/') }} | {{ inputs.symbols|length }} | {{ 'ab' * 3 }}",
        {"symbols": ["BTC", "ETH"]},
    )

    assert text == "1=btc, 2=eth | BTC/ETH | 2 | ababab"


def test_a_name_the_run_does_not_hold_fails_the_step_rather_than_rendering_empty() -> None:
    with pytest.raises(AgentFailed) as failed:
        render("price: {{ inputs.price }}")

    assert not failed.value.retryable
    assert "price" in failed.value.message


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ inputs.__class__ }}",
        "{{ inputs.items.__self__ }}",
        "{{ outputs.__len__() }}",
        "{{ range.__globals__ }}",
        "{{ self.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ (inputs|attr('__class__')) }}",
        "{{ 'x'.format }}",
        "{{ '{0.__class__}'.format(1) }}",
        "{{ '%s' % inputs }}",
        "{{ outputs.append(1) }}",
        "{{ inputs.update({'a': 1}) }}",
        "{{ inputs.pop('symbol') }}",
    ],
)
def test_the_sandbox_refuses_attribute_tricks_and_mutation(source: str) -> None:
    with pytest.raises(AgentFailed) as failed:
        render(source, {"symbol": "BTC/USDT"}, [{"text": "a"}])

    assert not failed.value.retryable


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x' * 1000000000 }}",
        "{{ 'x'.ljust(1000000000) }}",
        "{{ 'x'|center(1000000000) }}",
        "{{ 2 ** 100000 }}",
        "{{ 'a'.replace('', 'b' * 60000) }}",
        "{{ range(100000)|map('string')|join('x' * 60000) }}",
        "{{ ('x' * 60000).join(['a', 'b']) }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{% set s = 'x' * 40000 %}{{ s + s }}",
    ],
)
def test_a_template_asking_for_unbounded_memory_or_time_fails_fast(source: str) -> None:
    began = time.monotonic()

    with pytest.raises(AgentFailed):
        render(source)

    assert time.monotonic() - began < 2


def test_the_loop_budget_counts_every_loop_of_a_render() -> None:
    fits = (
        "{% for i in range(100) %}{% for j in range(" + str(MAX_ITERATIONS // 100 - 1) + ") %}{% endfor %}{% endfor %}"
    )
    assert render(fits) == ""
    with pytest.raises(AgentFailed, match="loop iterations"):
        render(
            "{% for i in range(100) %}{% for j in range(" + str(MAX_ITERATIONS // 100) + ") %}{% endfor %}{% endfor %}"
        )


def test_an_output_over_the_steps_byte_limit_fails_the_step_while_it_streams() -> None:
    call = step("{% for i in range(1000) %}0123456789{% endfor %}", {"max_bytes": 5000})

    with pytest.raises(AgentFailed) as failed:
        TemplateAgent().run(call)

    assert not failed.value.retryable
    assert "larger than 5000 bytes" in failed.value.message


def test_an_output_the_stores_cannot_hold_fails_the_step() -> None:
    with pytest.raises(AgentFailed, match="U\\+0000"):
        render("a{{ '\\x00' }}b")


def test_line_feeds_and_tabs_are_kept() -> None:
    assert render("a\n\tb\n") == "a\n\tb\n"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ inputs.x ", "does not compile"),
        ("{% if %}", "does not compile"),
        ("{% macro f() %}{{ f() }}{% endmacro %}", "macros are not allowed"),
        ("{% call f() %}{% endcall %}", "call blocks"),
        ("{% for x in inputs recursive %}{{ loop(x) }}{% endfor %}", "recursive loops"),
        ("{% include 'other' %}", "include"),
        ("{% extends 'base' %}", "extends"),
        ("{% import 'm' as m %}", "import"),
        ("{{ inputs.a ~ inputs.b }}", "~ operator"),
    ],
)
def test_a_prompt_the_agent_cannot_render_is_refused_when_the_flow_is_defined(source: str, reason: str) -> None:
    with pytest.raises(InvalidAgentConfig) as invalid:
        validate_step(TemplateAgent(), source, {})

    (problem,) = invalid.value.problems
    assert problem.loc == ("prompt",)
    assert reason in problem.msg


def test_prompt_and_config_problems_are_listed_together_each_at_its_loc() -> None:
    with pytest.raises(InvalidAgentConfig) as invalid:
        validate_step(TemplateAgent(), "{{ x", {"max_bytes": 0, "colour": "red"})

    assert sorted(p.loc for p in invalid.value.problems) == [
        ("config", "colour"),
        ("config", "max_bytes"),
        ("prompt",),
    ]


@pytest.mark.parametrize("config", [{"max_bytes": 0}, {"max_bytes": 65537}, {"max_bytes": "10"}, {"max_bytes": True}])
def test_a_byte_limit_outside_1_to_64_kib_is_refused(config: dict[str, Any]) -> None:
    with pytest.raises(InvalidAgentConfig) as invalid:
        TemplateAgent().validate_config(config)

    assert [p.loc for p in invalid.value.problems] == [("max_bytes",)]


def test_the_config_is_normalised_with_its_default() -> None:
    assert TemplateAgent().validate_config({}) == {"max_bytes": 65536}
