"""Step templates: Jinja2 in a sandbox, HTML bodies auto-escaped, unknown variables refused.

A template sees the enrollment's variables plus `email` and `unsubscribe_url`.
Undefined variables are errors (`StrictUndefined`), so a step can never go
out with a hole in it: enrolling renders every step once and refuses a
contact whose variables do not cover them.
"""

import functools
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment

BUILTIN_VARIABLES = ("email", "unsubscribe_url")

_TEXT = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_HTML = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=True)


class TemplateProblem(ValueError):
    """A template that does not compile, or does not render with the given variables."""


@dataclass(frozen=True)
class StepTemplate:
    subject: str
    body_text: str
    body_html: str | None = None


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body_text: str
    body_html: str | None


def check_syntax(template: StepTemplate) -> None:
    """Raises TemplateProblem naming the part that does not compile."""
    for part, source, html in _parts(template):
        try:
            _compiled(source, html)
        except TemplateError as err:
            raise TemplateProblem(f"{part}: {err}") from None


def render(template: StepTemplate, variables: dict[str, Any]) -> RenderedEmail:
    """Renders every part; raises TemplateProblem naming a missing variable."""
    out: dict[str, str] = {}
    for part, source, html in _parts(template):
        try:
            out[part] = _compiled(source, html).render(variables)
        except UndefinedError as err:
            raise TemplateProblem(f"{part} uses {_undefined_name(err)}, which is not set") from None
        except TemplateError as err:
            raise TemplateProblem(f"{part}: {err}") from None
    # Header injection: a subject is one line whatever the variables hold.
    subject = " ".join(out["subject"].split())
    return RenderedEmail(subject, out["body_text"], out.get("body_html"))


def _parts(template: StepTemplate) -> list[tuple[str, str, bool]]:
    parts = [("subject", template.subject, False), ("body_text", template.body_text, False)]
    if template.body_html is not None:
        parts.append(("body_html", template.body_html, True))
    return parts


@functools.lru_cache(maxsize=1024)
def _compiled(source: str, html: bool) -> Any:
    return (_HTML if html else _TEXT).from_string(source)


def _undefined_name(err: UndefinedError) -> str:
    # Jinja says "'first_name' is undefined" or "'dict object' has no attribute 'x'".
    message = str(err.message or "")
    if message.endswith(" is undefined"):
        return f"variable {message.removesuffix(' is undefined')}"
    return f"an undefined value ({message})"
