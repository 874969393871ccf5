"""TLS facts: the server-flight wire parser and one deadline-bounded handshake attempt."""
