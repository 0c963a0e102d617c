"""AWS access for collection: scope, sessions (profiles, role assumption with refreshable credentials), accounts
and regions, and the one place where API calls are made, counted and turned into evidence or gaps."""
