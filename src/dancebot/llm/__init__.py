"""The LLM path (PRODUCT.md §6.2, §9): client, 3-step JSON parser, Policy Enforcer, Budget Guard, health and
degradation, the extractor behind the rules and the rewriter. `layer.open_llm` builds them for a process
when `LLM_API_KEY` is set; without it the bot runs on rules alone. Import the modules directly; this
package pulls in nothing.
"""

__all__: list[str] = []
