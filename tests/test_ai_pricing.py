"""Prices and costs, computed exactly; no server needed."""

from decimal import Decimal

import pytest

from conveyor.ai.pricing import OFFLINE_MODEL, PriceTable, Usage
from conveyor.ai.text import extractive_summary, split_into_chunks, truncate


def test_cost_is_exact_and_prices_cached_input_apart() -> None:
    usage = Usage(tokens_in=1_000, cached_tokens_in=400, tokens_out=250)
    cost = PriceTable().cost_cents("gpt-4o-mini", usage)
    # (600 * 0.15 + 400 * 0.075 + 250 * 0.60) USD per 1M tokens, in cents.
    assert cost == Decimal("0.027")
    assert PriceTable().cost_cents(OFFLINE_MODEL, usage) == 0


def test_configuration_overrides_and_adds_models() -> None:
    prices = PriceTable({"gpt-4o-mini": {"input": 1.0}, "my-model": {"output": 2.0}})
    assert prices.cost_cents("gpt-4o-mini", Usage(1_000_000, 0, 0)) == Decimal(100)
    assert prices.cost_cents("my-model", Usage(0, 0, 500_000)) == Decimal(100)
    with pytest.raises(ValueError, match="unknown price fields"):
        PriceTable({"gpt-4o": {"inptu": 1.0}})


def test_chunks_respect_the_budget_and_keep_every_word() -> None:
    text = " ".join(f"Sentence number {i} says something." for i in range(200))
    chunks = split_into_chunks(text, max_tokens=50)
    assert all(len(chunk) <= 200 for chunk in chunks)
    assert " ".join(chunks).split() == text.split()


def test_offline_summary_stays_within_length_and_uses_whole_sentences() -> None:
    text = "Cats sleep a lot. Dogs bark at night. Cats and dogs both like food. Birds sing."
    summary = extractive_summary(text, max_chars=40)
    assert 0 < len(summary) <= 40
    assert all(sentence.rstrip(".") + "." in text for sentence in summary.split(". ") if sentence)
    assert truncate("a b c d e f", 6) == "a b c…"
