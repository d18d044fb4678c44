"""Local transformers models: a model directory, or a GGUF file that transformers de-quantizes.

No constrained decoding here (plain ``generate``); the extractor parses the reply tolerantly.
The time limit is transformers' own ``max_time`` stopping criterion, so a slow call ends cleanly.
Loading never touches the network: ``local_files_only`` is always set.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from pydantic import PrivateAttr

from app.errors import ConfigError, MissingExtraError
from app.llm.local import Completion, LocalChatModel


def _load(model_path: str) -> tuple[Any, Any]:
    path = Path(model_path)
    if not path.exists():
        raise ConfigError(f"hf model path does not exist: {model_path}")
    location: dict[str, Any] = {"pretrained_model_name_or_path": str(path), "local_files_only": True}
    if path.is_file() and path.suffix == ".gguf":
        if importlib.util.find_spec("accelerate") is None:  # transformers needs it to de-quantize GGUF
            raise MissingExtraError("accelerate", "hf")
        location = {**location, "pretrained_model_name_or_path": str(path.parent), "gguf_file": path.name}
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(**location)
    model = AutoModelForCausalLM.from_pretrained(**location)
    model.eval()
    return tokenizer, model


class HFChatModel(LocalChatModel):
    _tokenizer: Any = PrivateAttr(default=None)
    _model: Any = PrivateAttr(default=None)

    def model_post_init(self, context: Any) -> None:
        super().model_post_init(context)
        self._tokenizer, self._model = _load(self.model_path)

    @property
    def _llm_type(self) -> str:
        return "amalgam-hf"

    def _complete(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        stop: list[str] | None,
        response_format: dict[str, Any] | None,
    ) -> Completion:
        import torch

        inputs = self._tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        sampling = {"do_sample": True, "temperature": self.temperature} if self.temperature > 0 else {}
        with torch.inference_mode():
            output = self._model.generate(
                **inputs,
                max_new_tokens=max_tokens,
                max_time=self.timeout_s,
                pad_token_id=self._tokenizer.eos_token_id,
                **({"do_sample": False} | sampling),
            )
        prompt_len = int(inputs["input_ids"].shape[1])
        new_tokens = output[0][prompt_len:]
        text = self._tokenizer.decode(new_tokens, skip_special_tokens=True)
        return Completion(text=_cut_at_stop(text, stop), prompt_tokens=prompt_len, completion_tokens=len(new_tokens))


def _cut_at_stop(text: str, stop: list[str] | None) -> str:
    cuts = [text.find(s) for s in stop or [] if s and s in text]
    return text[: min(cuts)] if cuts else text
