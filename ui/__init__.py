"""Web pages. No business logic here: they call the same services as the API."""
