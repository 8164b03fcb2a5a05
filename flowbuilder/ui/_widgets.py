"""ipywidgets and anywidget, which only the builder and the panels need (the ``jupyter`` extra):
imported here once, so that a missing extra says how to install it instead of a bare
ModuleNotFoundError from deep inside the builder."""

try:
    import anywidget
    import ipywidgets as widgets
except ModuleNotFoundError as missing:  # pragma: no cover - the dev install has both
    raise ImportError(
        f"the builder needs ipywidgets and anywidget ({missing.name} is not installed): "
        "pip install 'flowbuilder[jupyter]'"
    ) from missing

__all__ = ["anywidget", "widgets"]
