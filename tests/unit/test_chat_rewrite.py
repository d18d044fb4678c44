"""The offline follow-up rewrite: names of the previous turn put before a question that refers back."""

from __future__ import annotations

from app.chat import ChatMessage, names_in, standalone_question


def _history(*turns: tuple[str, str]) -> list[ChatMessage]:
    return [ChatMessage(role=role, content=text) for role, text in turns]  # type: ignore[arg-type]


def test_first_question_is_asked_as_is() -> None:
    result = standalone_question(_history(("user", "Who designed the Halvorsen Viaduct?")))
    assert (result.question, result.rewritten_by) == ("Who designed the Halvorsen Viaduct?", "none")


def test_pronoun_follow_up_gets_the_previous_turns_names() -> None:
    messages = _history(
        ("user", "Who designed the Halvorsen Viaduct?"),
        ("assistant", "It was designed by the engineer Ingrid Solberg [1]. It opened in 1931."),
        ("user", "Where was she born?"),
    )
    result = standalone_question(messages)
    assert result.rewritten_by == "rules"
    assert result.question == "Halvorsen Viaduct, Ingrid Solberg: Where was she born?"


def test_self_contained_follow_up_is_left_alone() -> None:
    messages = _history(
        ("user", "Who designed the Halvorsen Viaduct?"),
        ("assistant", "Ingrid Solberg [1]."),
        ("user", "Where does the Kestrel River rise?"),
    )
    assert standalone_question(messages).rewritten_by == "none"


def test_names_skip_question_words_and_keep_inner_particles() -> None:
    assert names_in("Who founded the Bank of England in London?") == ["Bank of England", "London"]
    assert names_in("What did Lewis Carroll's friend write?") == ["Lewis Carroll"]


class _FailingModel:
    def invoke(self, prompt: str) -> object:
        raise TimeoutError("the LLM endpoint timed out")


class _RewritingModel:
    def __init__(self) -> None:
        self.prompts: list[str] = []

    def invoke(self, prompt: str) -> object:
        self.prompts.append(prompt)
        return type("Reply", (), {"content": '"Where was Ingrid Solberg born?"\n'})()


def test_llm_rewrite_is_used_and_a_failing_llm_falls_back_to_the_rule() -> None:
    messages = _history(("user", "Who designed the Halvorsen Viaduct?"), ("user", "Where was she born?"))
    model = _RewritingModel()
    by_llm = standalone_question(messages, model)
    assert (by_llm.question, by_llm.rewritten_by) == ("Where was Ingrid Solberg born?", "llm")
    assert "Who designed the Halvorsen Viaduct?" in model.prompts[0]
    fallback = standalone_question(messages, _FailingModel())
    assert fallback.rewritten_by == "rules" and fallback.question.startswith("Halvorsen Viaduct")
