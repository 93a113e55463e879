"""The use cases of every role, between the doors (web/, the CLI) and the machinery (engine, store, bank)."""
