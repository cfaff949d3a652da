"""Plain-text helpers: token estimates, chunking, and the offline extractive methods.

No tokenizer is bundled (tiktoken downloads its encodings at run time), so
token counts here are estimates: about four characters per token for
English, which is what OpenAI's own guidance uses. Exact counts always come
from the provider's `usage` when a real model answers.
"""

import math
import re
from collections import Counter

CHARS_PER_TOKEN = 4
# Latin and CJK full stops, exclamation and question marks.
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+")
_WORD = re.compile(r"[^\W\d_][\w'-]*", re.UNICODE)
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
STOPWORDS = frozenset(
    "a an and are as at be been but by for from has have he her his i in into is it its"
    " of on or our she so that the their them there they this to was we were what when"
    " which who will with you your not no do does did can could would should than then"
    " also about after all any more most other some such only over very just".split()
)


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def count_tokens(text: str) -> int:
    """Words and punctuation marks: the offline provider's token count."""
    return len(_TOKEN.findall(text))


def split_into_chunks(text: str, max_tokens: int) -> list[str]:
    """Splits at paragraph, then sentence, then word boundaries, each chunk within budget."""
    limit = max(1, max_tokens * CHARS_PER_TOKEN)
    chunks: list[str] = []
    current = ""
    for piece in _pieces(text, limit):
        if current and len(current) + 1 + len(piece) > limit:
            chunks.append(current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    if current:
        chunks.append(current)
    return chunks


def _pieces(text: str, limit: int) -> list[str]:
    pieces: list[str] = []
    for sentence in sentences(text):
        while len(sentence) > limit:
            cut = sentence.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            pieces.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if sentence:
            pieces.append(sentence)
    return pieces


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(" ".join(text.split())) if s.strip()]


def truncate(text: str, max_chars: int) -> str:
    """At most `max_chars`, cut at a word boundary with an ellipsis."""
    if len(text) <= max_chars:
        return text
    cut = text.rfind(" ", 0, max_chars)
    return text[: cut if cut > 0 else max_chars - 1].rstrip(" ,;:") + "…"


def keyword_counts(text: str) -> Counter[str]:
    words = (w.lower() for w in _WORD.findall(text))
    return Counter(w for w in words if w not in STOPWORDS and len(w) > 2)


def extractive_summary(text: str, max_chars: int) -> str:
    """The most representative sentences, in their original order, within `max_chars`."""
    all_sentences = sentences(text)
    weights = keyword_counts(text)

    def score(sentence: str) -> float:
        words = [w.lower() for w in _WORD.findall(sentence)]
        return sum(weights[w] for w in words) / math.sqrt(len(words) + 1)

    ranked = sorted(range(len(all_sentences)), key=lambda i: -score(all_sentences[i]))
    chosen: list[int] = []
    used = 0
    for index in ranked:
        length = len(all_sentences[index]) + (1 if chosen else 0)
        if used + length <= max_chars:
            chosen.append(index)
            used += length
    if not chosen and all_sentences:
        return truncate(all_sentences[ranked[0]], max_chars)
    return " ".join(all_sentences[i] for i in sorted(chosen))


def top_keywords(text: str, count: int) -> list[str]:
    return [word for word, _ in keyword_counts(text).most_common(count)]


def best_label(text: str, labels: list[str]) -> tuple[str, float]:
    """The label whose words occur most in the text, and a crude confidence."""
    weights = keyword_counts(text)
    scores = [sum(weights[w.lower()] for w in _WORD.findall(label)) for label in labels]
    total = sum(scores)
    best = max(range(len(labels)), key=lambda i: scores[i])
    return labels[best], round(scores[best] / total, 3) if total else 0.0
