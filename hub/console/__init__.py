"""The back-office console: a server-rendered web application for Dukcapil staff and operators.

FastAPI routes render Jinja2 templates; every page works as plain HTML forms (POST, then a
redirect), and the one script (static/console.js) only adds progress polling and confirmations.
Routes call the same use cases as the CLI (hub.bootstrap.BackOffice); no SQL here.
"""
