"""One thin module per job type: payload -> service -> JSON result."""
