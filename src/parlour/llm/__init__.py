"""Language models behind one streaming interface: the offline extractive answerer, a local
SmolLM2 in process, and any OpenAI-compatible or Anthropic endpoint."""
