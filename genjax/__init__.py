"""genjax: a JAX/Flax research codebase for image generation."""

__version__ = "0.1.0"
