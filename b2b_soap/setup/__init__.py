"""Setting up an LA server: bases, users, groups, the first run (bootstrap) and the demo.

Shared by the CLI, the admin SOAP service and the web pages.
"""
