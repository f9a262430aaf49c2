"""The back-office console (issue #11) in a real browser: Playwright on Debian's chromium."""
