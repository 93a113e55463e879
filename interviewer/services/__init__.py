"""The use cases of every role (interview, bank edits, review, staff); they own the transactions."""
