"""The render stage's browser: headless Chromium behind a guarded loopback proxy."""
