"""Who is acting: staff accounts and logins, the audit log of what staff did, and the verified identity of citizens."""
