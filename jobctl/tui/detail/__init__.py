"""One job in full: payload, result, error with traceback, timeline, raw JSON."""
