"""The context engine's pure services: article extraction, documents (no RQ, store or network)."""
