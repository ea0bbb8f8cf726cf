"""Multimodal survival models for soft-tissue sarcoma (see DESIGN.md)."""
__version__ = "0.1.0.dev0"
