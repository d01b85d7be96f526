"""The web face: sign-in sessions and the static agent and supervisor pages served at `/`."""
