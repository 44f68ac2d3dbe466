"""Schemathesis hooks for fieldgate-server: tus chunk bodies are raw bytes."""
import schemathesis

# Alias the built-in serializer for binary bodies.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
