"""LA administration shared by the CLI, the admin SOAP service and the web pages."""
