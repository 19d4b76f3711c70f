"""Each organisation's knowledge: importing FAQs, storing them per tenant, and retrieving the
entries that answer a question, with a confidence the assistant uses to abstain."""
