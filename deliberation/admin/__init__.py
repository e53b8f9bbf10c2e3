"""Administration: people's roles and status, divisions and memberships, the audit log."""
