"""The library the apps share: publishing to the broker and its circuit breaker, the
API's error handling and JSON parser, the admin's input checks, reading the client's
address. Not a Django app (no models, no templates), and it imports none of the apps
nor the project shell (import-linter's contracts in pyproject.toml)."""
