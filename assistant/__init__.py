"""The dialogue: the engine (guard → route → tool or retrieval → answer, refuse or hand off), its tools,
the answer decision and citation check, what it stores, the LLM client and the local model server."""
