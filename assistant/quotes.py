"""Extractive answers: the passage's own words, when Xiaobao may not paraphrase them.

When the decision says a passage answers the question but the model's sentences were all cut by the
citation check, or the model is busy or down, the citizen gets the relevant sentences of that passage
quoted verbatim (marked as a quote, with its source) rather than a refusal: the words are the
government's, so nothing can be wrong in the retelling. A statute article is quoted whole.
"""

from __future__ import annotations

from xiaobao.assistant.answerability import covered, topic_terms
from xiaobao.assistant.citations import key_terms, scrub_ids
from xiaobao.ingest.splitter import sentences
from xiaobao.knowledge.lexical import Tokenizer

QUOTE_CHARS = 240  # enough for a how-to list of a few steps, short enough to read on a phone
ARTICLE_CHARS = 600  # a statute article is quoted whole up to this length


def quote(tokenizer: Tokenizer, question: str, passage: str, doc_type: str = "") -> str:
    """The run of consecutive sentences of `passage` that best answers `question`, at most
    QUOTE_CHARS long (a statute article: the article itself). A passage that fits is quoted whole."""
    passage = scrub_ids(passage.strip())
    limit = ARTICLE_CHARS if doc_type == "statute" else QUOTE_CHARS
    if len(passage) <= limit:
        return passage
    parts = sentences(passage)
    topics = topic_terms(tokenizer, question)
    keys = key_terms(tokenizer, question)

    def score(sentence: str) -> int:
        low = sentence.lower()
        return 2 * sum(covered(tokenizer, t, low) for t in topics) + sum(k in low for k in keys)

    best = max(range(len(parts)), key=lambda i: (score(parts[i]), -i))  # ties: the earlier sentence
    # a how-to answer runs on after the sentence that names the topic (steps, materials): extend forward
    end, length = best, 0
    while end < len(parts) and (end == best or length + len(parts[end]) <= limit):
        length += len(parts[end])
        end += 1
    text = "".join(parts[best:end])
    return text if len(text) <= limit else text[: limit - 1] + "…"
