"""The knowledge base: chunks, embedders, lexical features, the Qdrant index and hybrid retrieval."""
