"""Turning source files into citable chunks and keeping the index in step with them."""
