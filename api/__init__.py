"""The HTTP layer: routers by resource, their dependencies and the mapping of service errors to HTTP."""
