"""Gymnasium wrappers: reward schemes, chat formatting and episode recording."""

from agent_envs.wrappers.chat_messages import ROLES, ChatMessages, MessageList

__all__ = ["ChatMessages", "MessageList", "ROLES"]
