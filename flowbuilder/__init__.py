"""flowbuilder: design, test and run CALLR REAL-TIME call flows, visually, in Jupyter.

>>> import flowbuilder as fb
>>> flow = fb.Flow("hello").add("hi", "play", prompt="Hello!").add("bye", "hangup")
>>> flow.connect("hi", "bye").entry
'hi'
"""

from typing import Any

from flowbuilder.callr.rpc import AsyncCallrClient, CallrClient
from flowbuilder.callr.types import App, Did
from flowbuilder.compiler import Program, compile
from flowbuilder.engine import EngineConfig
from flowbuilder.errors import (
    CallbackAuthError,
    CallbackError,
    CallrApiError,
    CallrAuthError,
    CallrError,
    CallrProtocolError,
    CallrTransportError,
    ExportError,
    FlowbuilderError,
    FlowError,
    FlowValidationError,
    NodeConfigError,
    ScenarioError,
    UnknownNodeKindError,
)
from flowbuilder.flow import Flow, FlowDiff
from flowbuilder.nodes import kinds
from flowbuilder.phone import Script, Transcript
from flowbuilder.sandbox import Sandbox
from flowbuilder.server import serve
from flowbuilder.simulate import simulate
from flowbuilder.validate import Issue, validate

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The builder needs ipywidgets; import it on first use so the rest never does.
    if name == "Builder":
        from flowbuilder.ui import Builder

        return Builder
    raise AttributeError(f"module 'flowbuilder' has no attribute {name!r}")


__all__ = [
    "App",
    "AsyncCallrClient",
    "Builder",
    "CallbackAuthError",
    "CallbackError",
    "CallrApiError",
    "CallrAuthError",
    "CallrClient",
    "CallrError",
    "CallrProtocolError",
    "CallrTransportError",
    "Did",
    "EngineConfig",
    "ExportError",
    "Flow",
    "FlowDiff",
    "FlowError",
    "FlowValidationError",
    "FlowbuilderError",
    "Issue",
    "NodeConfigError",
    "Program",
    "Sandbox",
    "ScenarioError",
    "Script",
    "Transcript",
    "UnknownNodeKindError",
    "compile",
    "kinds",
    "serve",
    "simulate",
    "validate",
]
