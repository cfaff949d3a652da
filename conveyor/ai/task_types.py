"""The registry of AI task types: each is one entry of input, prompt and output.

A type declares what its input looks like, how to ask a model for it (a
prompt and a strict JSON schema for the answer), how to check the answer, and
how the offline provider answers without a model. Adding a type is adding an
entry to TASK_TYPES.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from conveyor.ai import text as texts


class BadModelOutput(ValueError):
    """The model answered, but not with what the task asked for."""


class _TaskInput(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    content: str = Field(min_length=1, description="The text to work on.")

    @field_validator("content")
    @classmethod
    def _not_blank(cls, content: str) -> str:
        if not content.strip():
            raise ValueError("content must not be empty")
        return content


class SummarizeInput(_TaskInput):
    max_length: int = Field(500, ge=50, le=5000, alias="maxLength", description="In characters.")


class KeywordsInput(_TaskInput):
    max_keywords: int = Field(10, ge=1, le=50, alias="maxKeywords")


class ClassifyInput(_TaskInput):
    labels: list[str] = Field(min_length=2, max_length=50)

    @field_validator("labels")
    @classmethod
    def _distinct_labels(cls, labels: list[str]) -> list[str]:
        cleaned = [label.strip() for label in labels]
        if any(not label or len(label) > 100 for label in cleaned):
            raise ValueError("labels must be 1 to 100 characters each")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("labels must be distinct")
        return cleaned


@dataclass(frozen=True)
class Prompt:
    """One model call: messages, the answer's JSON schema, and the offline answer."""

    system: str
    user: str
    schema_name: str
    schema: dict[str, Any]
    max_output_tokens: int
    offline: Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class TaskType:
    name: str
    input_model: type[_TaskInput]
    prompt: Callable[[Any, str], Prompt]
    check: Callable[[Any, dict[str, Any]], dict[str, Any]]


def _object_schema(**properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def summarize_prompt(max_length: int, text: str) -> Prompt:
    return Prompt(
        system="You write faithful, concise summaries in the language of the text.",
        user=f"Summarize the text below in at most {max_length} characters.\n\nText:\n{text}",
        schema_name="summary",
        schema=_object_schema(summary={"type": "string"}),
        max_output_tokens=max_length // 2 + 64,
        offline=lambda: {"summary": texts.extractive_summary(text, max_length)},
    )


def _check_summary(task: SummarizeInput, output: dict[str, Any]) -> dict[str, Any]:
    summary = str(output.get("summary", "")).strip()
    if not summary:
        raise BadModelOutput("the model returned an empty summary")
    return {"summary": texts.truncate(summary, task.max_length)}


def _keywords_prompt(task: KeywordsInput, text: str) -> Prompt:
    return Prompt(
        system="You extract the key topics of a text as short keywords or phrases.",
        user=f"List at most {task.max_keywords} keywords for the text below.\n\nText:\n{text}",
        schema_name="keywords",
        schema=_object_schema(keywords={"type": "array", "items": {"type": "string"}}),
        max_output_tokens=task.max_keywords * 12 + 32,
        offline=lambda: {"keywords": texts.top_keywords(text, task.max_keywords)},
    )


def _check_keywords(task: KeywordsInput, output: dict[str, Any]) -> dict[str, Any]:
    keywords = [str(k).strip() for k in output.get("keywords", []) if str(k).strip()]
    return {"keywords": list(dict.fromkeys(keywords))[: task.max_keywords]}


def _classify_prompt(task: ClassifyInput, text: str) -> Prompt:
    def offline() -> dict[str, Any]:
        label, confidence = texts.best_label(text, task.labels)
        return {"label": label, "confidence": confidence}

    return Prompt(
        system="You classify texts into exactly one of the given labels.",
        user=f"Labels: {', '.join(task.labels)}\n\nClassify the text below.\n\nText:\n{text}",
        schema_name="classification",
        schema=_object_schema(
            label={"type": "string", "enum": task.labels},
            confidence={"type": "number"},
        ),
        max_output_tokens=64,
        offline=offline,
    )


def _check_label(task: ClassifyInput, output: dict[str, Any]) -> dict[str, Any]:
    label = output.get("label")
    if label not in task.labels:
        raise BadModelOutput(f"the model answered {label!r}, not one of the given labels")
    confidence = output.get("confidence")
    return {
        "label": label,
        "confidence": confidence if isinstance(confidence, int | float) else None,
    }


TASK_TYPES: dict[str, TaskType] = {
    task_type.name: task_type
    for task_type in (
        TaskType(
            "SUMMARIZE",
            SummarizeInput,
            lambda task, text: summarize_prompt(task.max_length, text),
            _check_summary,
        ),
        TaskType("EXTRACT_KEYWORDS", KeywordsInput, _keywords_prompt, _check_keywords),
        TaskType("CLASSIFY", ClassifyInput, _classify_prompt, _check_label),
    )
}
