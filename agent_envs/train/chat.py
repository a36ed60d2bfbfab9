"""Append-only chat tokenization: a conversation grows by token deltas, never re-templated.

The chat template is applied to a short probe conversation once per new message to learn
which text the template puts *between* messages; that text is tokenized on its own and
appended. The token ids the policy was sampled from are therefore exactly the ids it is
trained on, whatever the tokenizer would do to the whole conversation re-rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent_envs.rl import chat_message

__all__ = ["ChatFormat", "Conversation"]

_PROBE_USER, _PROBE_AGENT = "\u2063probe-user\u2063", "\u2063probe-agent\u2063"


class ChatFormat:
    """The text a tokenizer's chat template puts around messages (plain text if none).

    Example:
        >>> from agent_envs.train.tiny import build_tiny_tokenizer
        >>> fmt = ChatFormat(build_tiny_tokenizer())
        >>> fmt.first_prompt("Be brief.", "2+2?")
        '<|im_start|>system\\nBe brief.<|im_end|>\\n<|im_start|>user\\n2+2?<|im_end|>\\n<|im_start|>assistant\\n'
        >>> fmt.agent_closing, fmt.next_prompt("Wrong.")
        ('<|im_end|>\\n', '<|im_start|>user\\nWrong.<|im_end|>\\n<|im_start|>assistant\\n')
    """

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer = tokenizer
        self.templated = bool(getattr(tokenizer, "chat_template", None))
        eos = tokenizer.eos_token or ""
        if not self.templated:  # base models: a plain transcript
            self.agent_closing = eos or "\n"
            return
        probe = self._probe_history("")
        rendered = self._render(probe, generation_prompt=False)
        cut = rendered.rfind(_PROBE_AGENT)
        if cut < 0:
            raise ValueError("the chat template drops assistant messages; cannot append turns")
        #: Text the template writes right after an agent reply (e.g. "<|im_end|>\n").
        self.agent_closing = rendered[cut + len(_PROBE_AGENT) :]

    def _render(self, messages: list[dict[str, str]], *, generation_prompt: bool) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=generation_prompt
        )

    @staticmethod
    def _probe_history(system: str) -> list[dict[str, str]]:
        head = [chat_message("system", system)] if system else []
        return [*head, chat_message("user", _PROBE_USER), chat_message("assistant", _PROBE_AGENT)]

    def first_prompt(self, system: str, user: str) -> str:
        """Text of the conversation start up to where the agent's first reply begins."""
        if not self.templated:
            head = f"{system}\n\n" if system else ""
            return f"{head}User: {user}\nAssistant:"
        if not system:
            return self._render([chat_message("user", user)], generation_prompt=True)
        try:
            messages = [chat_message("system", system), chat_message("user", user)]
            return self._render(messages, generation_prompt=True)
        except Exception:  # templates without a system role (Gemma's raises): merge it
            merged = chat_message("user", f"{system}\n\n{user}")
            return self._render([merged], generation_prompt=True)

    def next_prompt(self, user: str) -> str:
        """Text appended after the agent's closing: the next user message + generation prompt."""
        if not self.templated:
            return f"\nUser: {user}\nAssistant:"
        probe = self._probe_history("")
        before = self._render(probe, generation_prompt=False)
        after = self._render([*probe, chat_message("user", user)], generation_prompt=True)
        if not after.startswith(before):
            raise ValueError("the chat template re-renders earlier turns; cannot append turns")
        return after[len(before) :]


@dataclass
class Conversation:
    """Token ids of one multi-turn episode, with the agent-token mask and turn index.

    ``mask[i]`` is 1 on tokens the agent sampled; ``turn_of[i]`` is the 0-based turn of an
    agent token (-1 for context); ``value_pos[t]`` is the position whose logits sampled
    the first token of turn ``t`` (where PPO reads the turn's value).

    Example:
        >>> from agent_envs.train.tiny import build_tiny_tokenizer
        >>> tok = build_tiny_tokenizer()
        >>> conv = Conversation.start(ChatFormat(tok), "", "hi")
        >>> conv.add_agent(tok("42", add_special_tokens=False)["input_ids"] + [tok.eos_token_id],
        ...                stop_ids={tok.eos_token_id})
        >>> conv.add_user("lower")
        >>> tok.decode(conv.ids)
        '<|im_start|>user\\nhi<|im_end|>\\n<|im_start|>assistant\\n42<|im_end|>\\n<|im_start|>user\\nlower<|im_end|>\\n<|im_start|>assistant\\n'
        >>> sum(conv.mask), conv.turns, conv.value_pos
        (3, 1, [20])
    """

    fmt: ChatFormat
    ids: list[int] = field(default_factory=list)
    mask: list[int] = field(default_factory=list)
    turn_of: list[int] = field(default_factory=list)
    value_pos: list[int] = field(default_factory=list)

    @classmethod
    def start(cls, fmt: ChatFormat, system: str, user: str) -> Conversation:
        """A conversation holding the system prompt and the task, ready for the agent."""
        conv = cls(fmt)
        conv._add_context(fmt.first_prompt(system, user))
        return conv

    @property
    def turns(self) -> int:
        """Number of agent replies so far."""
        return len(self.value_pos)

    def _add_context(self, text: str) -> None:
        ids = self.fmt.tokenizer(text, add_special_tokens=False)["input_ids"]
        self.ids += ids
        self.mask += [0] * len(ids)
        self.turn_of += [-1] * len(ids)

    def add_agent(self, token_ids: list[int], *, stop_ids: set[int]) -> None:
        """Append the agent's sampled tokens (ending with a stop id, or cut by length)."""
        self.value_pos.append(len(self.ids) - 1)
        turn = self.turns - 1
        self.ids += list(token_ids)
        self.mask += [1] * len(token_ids)
        self.turn_of += [turn] * len(token_ids)
        closing = self.fmt.agent_closing
        if token_ids and token_ids[-1] in stop_ids:
            # The sampled stop token already wrote the start of the closing text.
            stop_text = self.fmt.tokenizer.decode([token_ids[-1]])
            if closing.startswith(stop_text):
                closing = closing[len(stop_text) :]
        if closing:
            self._add_context(closing)

    def add_user(self, text: str) -> None:
        """Append the environment's next message and the generation prompt."""
        self._add_context(self.fmt.next_prompt(text))

    def context_copy(self) -> Conversation:
        """A copy in which every token so far is context (no agent mask, no turns).

        Used for turn-level candidates: only the candidate reply is trained on.
        """
        n = len(self.ids)
        return Conversation(self.fmt, list(self.ids), [0] * n, [-1] * n, [])
