"""Transport only: the REST API, the chat gateway and static assets, over the services."""
