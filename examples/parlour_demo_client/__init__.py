"""A demo organisation's web app: a page that embeds the Parlour widget, and a backend route that
mints end-user tokens from Parlour with the organisation's API key. It talks to Parlour only over
HTTP, as any organisation's app would; it imports nothing from Parlour."""
