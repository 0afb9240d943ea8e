"""Sub-commands of the ``b2b-soap`` CLI, one module per topic."""
