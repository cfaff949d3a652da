"""Model prices and context windows, versioned; overridable by configuration.

Prices are USD per 1M tokens, as OpenAI publishes them. Costs are computed
with Decimal and stored as exact numerics in cents: a short summary costs a
few thousandths of a cent, and sums over months must not drift.
"""

from dataclasses import dataclass
from decimal import Decimal

PRICE_TABLE_VERSION = "2026-12-01"
OFFLINE_MODEL = "local-extractive"
_PER_MILLION = Decimal(1_000_000)
_CENTS_PER_DOLLAR = Decimal(100)


@dataclass(frozen=True)
class ModelPrice:
    input: Decimal
    cached_input: Decimal
    output: Decimal
    context_tokens: int


def _price(input: str, cached: str, output: str, context: int) -> ModelPrice:
    return ModelPrice(Decimal(input), Decimal(cached), Decimal(output), context)


PRICES: dict[str, ModelPrice] = {
    "gpt-4o-mini": _price("0.15", "0.075", "0.60", 128_000),
    "gpt-4o": _price("2.50", "1.25", "10.00", 128_000),
    "gpt-4.1": _price("2.00", "0.50", "8.00", 1_047_576),
    "gpt-4.1-mini": _price("0.40", "0.10", "1.60", 1_047_576),
    "gpt-4.1-nano": _price("0.10", "0.025", "0.40", 1_047_576),
    "o4-mini": _price("1.10", "0.275", "4.40", 200_000),
    "o3": _price("2.00", "0.50", "8.00", 200_000),
    "gpt-5": _price("1.25", "0.125", "10.00", 400_000),
    "gpt-5-mini": _price("0.25", "0.025", "2.00", 400_000),
    "gpt-5-nano": _price("0.05", "0.005", "0.40", 400_000),
    OFFLINE_MODEL: _price("0", "0", "0", 1_000_000),
}


@dataclass(frozen=True)
class Usage:
    """Tokens of one or more model calls, as the provider's `usage` reports them."""

    tokens_in: int = 0
    cached_tokens_in: int = 0
    tokens_out: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            self.tokens_in + other.tokens_in,
            self.cached_tokens_in + other.cached_tokens_in,
            self.tokens_out + other.tokens_out,
        )


def _overridden(base: ModelPrice, fields: dict[str, float]) -> ModelPrice:
    unknown = set(fields) - {"input", "cached_input", "output", "context_tokens"}
    if unknown:
        raise ValueError(f"unknown price fields {sorted(unknown)}")
    return ModelPrice(
        input=Decimal(str(fields.get("input", base.input))),
        cached_input=Decimal(str(fields.get("cached_input", base.cached_input))),
        output=Decimal(str(fields.get("output", base.output))),
        context_tokens=int(fields.get("context_tokens", base.context_tokens)),
    )


class PriceTable:
    """The built-in prices with configuration's overrides applied."""

    def __init__(self, overrides: dict[str, dict[str, float]] | None = None) -> None:
        self._prices = dict(PRICES)
        for model, fields in (overrides or {}).items():
            base = self._prices.get(model, _price("0", "0", "0", 128_000))
            self._prices[model] = _overridden(base, fields)

    @property
    def models(self) -> list[str]:
        return sorted(self._prices)

    def get(self, model: str) -> ModelPrice | None:
        return self._prices.get(model)

    def cost_cents(self, model: str, usage: Usage) -> Decimal:
        """Exact cost: uncached input, cached input and output, each at its own price."""
        price = self._prices[model]
        dollars = (
            (usage.tokens_in - usage.cached_tokens_in) * price.input
            + usage.cached_tokens_in * price.cached_input
            + usage.tokens_out * price.output
        ) / _PER_MILLION
        return dollars * _CENTS_PER_DOLLAR
