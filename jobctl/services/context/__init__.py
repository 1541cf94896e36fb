"""The context engine: fetching, extraction, feeds, documents and the syncs that use them."""
