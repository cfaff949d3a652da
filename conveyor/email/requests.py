"""What clients send: sequences with their steps, contacts to enroll, webhook events."""

from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

from conveyor.email.message import address_of
from conveyor.email.templates import StepTemplate, TemplateProblem, check_syntax

MAX_DELAY_SECONDS = 366 * 24 * 3600


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True)


def normalize_address(value: str) -> str:
    """The address as stored and compared: validated, lower-cased."""
    try:
        # `.test` addresses pass, so a sequence can be tried against the local sink.
        checked = validate_email(value.strip(), check_deliverability=False, test_environment=True)
    except EmailNotValidError as err:
        raise ValueError(f"{value!r} is not a valid email address: {err}") from None
    return checked.normalized.lower()


class StepIn(_Body):
    delay_seconds: int = Field(
        ge=0, le=MAX_DELAY_SECONDS,
        description="After enrollment for the first step, after the previous step for the others.",
    )  # fmt: skip
    subject: str = Field(min_length=1, max_length=500)
    body_text: str = Field(min_length=1, max_length=200_000)
    body_html: str | None = Field(None, min_length=1, max_length=500_000)

    @model_validator(mode="after")
    def _compiles(self) -> "StepIn":
        try:
            check_syntax(self.template)
        except TemplateProblem as err:
            raise ValueError(str(err)) from None
        return self

    @property
    def template(self) -> StepTemplate:
        return StepTemplate(self.subject, self.body_text, self.body_html)


class SequenceIn(_Body):
    name: str = Field(min_length=1, max_length=200)
    sender: str = Field(
        min_length=3, max_length=320, description="`hello@acme.test` or `Acme <hello@acme.test>`."
    )
    steps: list[StepIn] = Field(min_length=1, max_length=50)

    @field_validator("sender")
    @classmethod
    def _valid_sender(cls, sender: str) -> str:
        normalize_address(address_of(sender) or sender)
        if "\n" in sender or "\r" in sender:
            raise ValueError("sender must be one line")
        return sender.strip()


class ContactIn(_Body):
    email: str = Field(max_length=320)
    variables: dict[str, Any] = Field(default_factory=dict)

    @field_validator("email")
    @classmethod
    def _valid_email(cls, email: str) -> str:
        return normalize_address(email)


class ContactsIn(_Body):
    enrollments: list[ContactIn] = Field(min_length=1, max_length=1000)


EventType = Literal["reply", "bounce", "complaint", "unsubscribe"]


class EmailEventIn(_Body):
    """A reply, bounce, complaint or unsubscribe, for the message it concerns.

    `messageId` is the Message-ID Conveyor sent (a reply's In-Reply-To, a
    bounce's original message); without it, `orgId` and `email` name the contact.
    """

    type: EventType
    message_id: str | None = None
    org_id: str | None = None
    email: str | None = None

    @model_validator(mode="after")
    def _identifies_a_contact(self) -> "EmailEventIn":
        if self.message_id:
            self.message_id = f"<{self.message_id.strip().strip('<>')}>"
        elif self.org_id and self.email:
            self.email = normalize_address(self.email)
        else:
            raise ValueError("give messageId, or orgId and email")
        return self
