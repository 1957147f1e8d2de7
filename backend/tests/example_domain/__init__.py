"""A tiny job domain kept with the tests: it shows what a new domain writes (this folder)
and how it joins the platform (one line in core/domains.py's DOMAINS; here platform.py adds
it, since a test must not edit the application). No table: a real domain's tables also need
a migration."""
