"""The use cases: what the web app and the CLI can ask of the application, one module per job."""
