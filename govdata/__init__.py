"""The government's own data behind Xiaobao's service tools: the service-item catalogue with form
schemas and review points, persons and enterprises (数源), applications (the case system) and the
免申即享 policies — each behind an adapter a district plugs its real systems into."""
