"""Parlour: self-hostable, multi-tenant live chat with an assistant grounded in each organisation's
own knowledge. `parlour.app.create_app` assembles the service; `parlour.cli` runs it."""

__version__ = "0.1.0"
