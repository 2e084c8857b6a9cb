"""The trust-chain picture drawn by Graphviz (``dot``): SVG or PNG, the same graph as the Mermaid one.

Where Markdown does not render Mermaid (a wiki, a slide, a ticket), an image does. The graph comes from
``picture.trust_graph``; broken links are red and dashed as in the Mermaid flowchart. The `graphviz`
Python package writes the DOT text and runs Graphviz's ``dot`` binary, which must be on PATH.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from certless_ops.errors import UserError
from certless_ops.plan.picture import TrustGraph, trust_graph

FORMATS = ("svg", "png")
BROKEN = "#dd0000"
INSTALL_DOT = (
    "Graphviz's `dot` is not on PATH; --format svg and png need it: install Graphviz "
    "(Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz), or use --format mermaid"
)

# Mermaid's shapes in Graphviz terms: compute and grants boxes, the app a pill, the identity a hexagon.
_SHAPES: dict[str, dict[str, str]] = {
    "rect": {"shape": "box"},
    "round": {"shape": "box", "style": "rounded"},
    "hex": {"shape": "hexagon"},
}


def dot_graph(graph: TrustGraph) -> Any:
    """A ``graphviz.Digraph`` of the trust graph (left to right, as the Mermaid flowchart)."""
    import graphviz

    dot = graphviz.Digraph("trust_chain", graph_attr={"rankdir": "LR", "fontname": "Helvetica"})
    dot.attr("node", fontname="Helvetica", fontsize="11")
    dot.attr("edge", fontname="Helvetica", fontsize="9")
    for node in graph.nodes:
        # escape(): a backslash or a <...> in a name is text, never a DOT escape or an HTML label.
        dot.node(node.id, graphviz.escape(node.label), **_SHAPES[node.shape])
    for edge in graph.edges:
        style = {"color": BROKEN, "fontcolor": BROKEN, "style": "dashed", "penwidth": "2"}
        dot.edge(edge.a, edge.b, graphviz.escape(edge.label), **(style if edge.broken else {}))
    return dot


def render_image(plan: Mapping[str, Any], fmt: str) -> bytes:
    """The plan's trust chain as svg or png bytes; without `dot`, a UserError saying what to install."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r}: expected one of {', '.join(FORMATS)}")
    try:
        import graphviz
    except ImportError:
        raise UserError(
            "the `graphviz` Python package is not installed; --format svg and png need it "
            "(pip install graphviz, or ./dev setup), or use --format mermaid"
        ) from None
    try:
        data: bytes = dot_graph(trust_graph(plan)).pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise UserError(INSTALL_DOT) from None
    except graphviz.CalledProcessError as exc:
        detail = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
        raise UserError(f"Graphviz's `dot` failed: {(detail or ['no message'])[-1][:200]}") from None
    return data
