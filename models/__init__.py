"""Shipped model weights and their configs (installed as voiceguard.models)."""
