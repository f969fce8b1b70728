"""The studio knowledge base: schema 1.0 models and the YAML loader that reports every problem."""

from dancebot.kb.loader import KBInvalid, KBProblem, LoadedKB, load_kb, validate_kb
from dancebot.kb.schema import KnowledgeBase

__all__ = ["KBInvalid", "KBProblem", "KnowledgeBase", "LoadedKB", "load_kb", "validate_kb"]
