"""One blueprint per section of the LA review pages."""
