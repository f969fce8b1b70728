"""The LLM path (PRODUCT.md §6, §9): client, 3-step JSON parser, policy enforcer, budget guard.

Not wired into the conversation yet: the bot runs on rules alone until it is. Import the modules directly
(`dancebot.llm.client`, `.jsonparse`, `.policy`, `.budget`, `.prompts`); this package pulls in nothing.
"""

__all__: list[str] = []
