"""What every browser test shares."""

from playwright.async_api import expect

# How long an expectation waits before it fails: a bound on a failure, not a timing. The suite
# runs a test file on every core at once (scripts/check), so a page can wait out another
# worker's busy seconds; Playwright's own default is 5 s.
expect.set_options(timeout=15_000)
