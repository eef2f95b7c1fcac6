"""The dialogue side: the local model and its server, the LLM client, and (next) the dialogue engine."""
