"""Answer spans cut from sentences the ASR really produced (the 60-minute haystacks)."""

from __future__ import annotations

import pytest

from retrieval.extract import best_span

GENERATOR_Q = "How many litres of diesel per hour does the backup generator in the east wing burn?"


@pytest.mark.parametrize(
    ("sentence", "question", "span"),
    [
        (
            "The spirit turbine blades will arrive at dock seven on Thursday.",
            "On which day will the spare turbine blades arrive at dock seven?",
            "Thursday",
        ),
        (
            "The orchard on Miller Road produced 3,000 kilos of pears this year.",
            "How many kilos of pears did the orchard on Miller Road produce this year?",
            "3,000",
        ),
        (
            "Our new warehouse manager is called Priya Akafur.",
            "What is the name of the new warehouse manager?",
            "Priya Akafur",
        ),
        # "forty litres" heard as "for the leaders": no number, so no span (the answerer
        # gives the sentence) rather than "America".
        ("America, generator in the east wing burns for the leaders of diesel.", GENERATOR_Q, None),
    ],
)
def test_best_span(sentence: str, question: str, span: str | None) -> None:
    assert best_span(sentence, question) == span
