"""The platform's services (context engine, content factory, analytics, ...): later issues."""
