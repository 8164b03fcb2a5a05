"""flowbuilder: design, test and run CALLR REAL-TIME call flows, visually, in Jupyter.

>>> import flowbuilder as fb
>>> flow = fb.Flow("hello").add("hi", "play", prompt="Hello!").add("bye", "hangup")
>>> flow.connect("hi", "bye").entry
'hi'
"""

import sys
from typing import TYPE_CHECKING

from flowbuilder._lazy import functions_over_submodules, lazy_attributes
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

if TYPE_CHECKING:
    from flowbuilder.callr.rpc import AsyncCallrClient, CallrClient
    from flowbuilder.callr.types import App, Did
    from flowbuilder.compiler import compile
    from flowbuilder.engine import EngineConfig
    from flowbuilder.export import export_python, load
    from flowbuilder.flow import Flow, FlowDiff
    from flowbuilder.nodes import kinds
    from flowbuilder.nodes.play_wav import wav_data
    from flowbuilder.phone import Script, Transcript
    from flowbuilder.program import Program
    from flowbuilder.sandbox.sandbox import Sandbox
    from flowbuilder.server.runner import serve
    from flowbuilder.simulate import simulate
    from flowbuilder.ui import Builder
    from flowbuilder.validate import Issue, validate

__version__ = "0.1.0"

# Imported on first use: the server and sandbox need tornado, the clients httpx, the builder
# ipywidgets; the rest of flowbuilder (and every ``import flowbuilder.x``) needs none of them.
# Even the graph (networkx) waits for its first use: a server restarted on a flow file it has
# served before runs the cached program and never imports it.
__getattr__, __dir__ = lazy_attributes(
    __name__,
    {
        "App": "flowbuilder.callr.types",
        "Did": "flowbuilder.callr.types",
        "compile": "flowbuilder.compiler",
        "EngineConfig": "flowbuilder.engine",
        "Flow": "flowbuilder.flow",
        "FlowDiff": "flowbuilder.flow",
        "kinds": "flowbuilder.nodes",
        "Script": "flowbuilder.phone",
        "Transcript": "flowbuilder.phone",
        "Program": "flowbuilder.program",
        "simulate": "flowbuilder.simulate",
        "Issue": "flowbuilder.validate",
        "validate": "flowbuilder.validate",
        "AsyncCallrClient": "flowbuilder.callr.rpc",
        "Builder": "flowbuilder.ui",
        "export_python": "flowbuilder.export",
        "wav_data": "flowbuilder.nodes.play_wav",
        "load": "flowbuilder.export",
        "CallrClient": "flowbuilder.callr.rpc",
        "Sandbox": "flowbuilder.sandbox.sandbox",
        "serve": "flowbuilder.server.runner",
    },
)

functions_over_submodules(__name__, ["simulate", "validate"])

# Inside IPython (a notebook's kernel), a flow displays as its diagram, and as the builder where
# widgets can render. The display belongs to the UI layer, which tells IPython about Flow.
if sys.modules.get("IPython") is not None:
    from flowbuilder.ui.display import register as _register_display

    _register_display()


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
    "export_python",
    "kinds",
    "load",
    "serve",
    "simulate",
    "validate",
    "wav_data",
]
