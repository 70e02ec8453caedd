"""The UiState diagram: an SVG built from ``domain/uistate.py`` plus the path of the current call.

Nothing about the states is written down here: the nodes are ``UiState`` in declaration order (which
groups ringing, connected/transfer and final states row by row), each node lists the buttons
``state_buttons`` renders and the ``BackgroundCallCard::`` event each fires (``BUTTON_EVENTS``), with
the listed/hidden, closable and timer rules as tags. uistate.py defines no transition table (apps may set
any state), so the only edges drawn are the transitions the current call actually took.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from ..domain.events import BACKGROUND_PREFIX
from ..domain.uistate import (
    BUTTON_EVENTS,
    CLOSABLE_STATES,
    HIDDEN_STATES,
    STATE_RULES,
    UiState,
    state_buttons,
)

__all__ = ["Button", "StateNode", "render_svg", "state_nodes"]

DIRECTIONS = ("incoming", "outgoing")
COLUMNS = 5
GAP_X = 72  # vertical gutters carry edges between columns
GAP_Y = 84  # horizontal gutters carry edges between rows
MARGIN = 72
HEAD_H = 48
LINE_H = 16  # a button takes two lines: its name, then the event it fires
LANES = 7  # parallel tracks per gutter, so edges sharing a gutter stay apart
#: glyph widths of the monospace font at 13, 12 and 11 px (text widths are estimated, not measured)
CHAR_13, CHAR_12, CHAR_11 = 7.9, 7.25, 6.65


#: self-contained styling, so the SVG reads the same inline in the page and opened on its own
_STYLE = (
    "svg.cc-diagram{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}"
    ".cc-diagram__bg{fill:#1b1e24}"
    ".cc-node__box{fill:#242830;stroke:#3a404c;stroke-width:1}"
    ".cc-node__head{fill:#2c313b}"
    ".cc-node__num{fill:#8b93a3;font-weight:600}"
    ".cc-node__name{fill:#e6e9ef;font-weight:700;font-size:13px}"
    ".cc-node.is-hidden .cc-node__box{stroke-dasharray:5 3}"
    ".cc-node.is-visited .cc-node__box{fill:#1f3148;stroke:#4d7fbf}"
    ".cc-node.is-visited .cc-node__head{fill:#26405f}"
    ".cc-node.is-current .cc-node__box{fill:#173a2c;stroke:#3ddc97;stroke-width:3}"
    ".cc-node.is-current .cc-node__head{fill:#1e5a40}"
    ".cc-node__none{fill:#6b7282;font-style:italic}"
    ".cc-tag rect{fill:#3a404c}.cc-tag text{fill:#c9ced8;font-size:10px}"
    ".cc-tag--hidden rect{fill:#5a4a1e}.cc-tag--hidden text{fill:#ffd479}"
    ".cc-tag--now rect{fill:#3ddc97}.cc-tag--now text{fill:#0d2a1d;font-weight:700}"
    ".cc-tag--timer rect{fill:#2d3f57}.cc-tag--esc rect{fill:#4a2f45}"
    ".cc-btn__name{fill:#9fd0ff;font-weight:600}.cc-btn__arrow{fill:#6b7282}"
    ".cc-btn__event{fill:#b6e3a8;font-size:11px}.cc-btn__noevent{fill:#6b7282;font-size:11px;font-style:italic}"
    ".cc-btn__cond{fill:#8b93a3;font-style:italic;font-size:10px}"
    ".cc-edge__halo{fill:none;stroke:#1b1e24;stroke-width:7;opacity:.85}"
    ".cc-edge__line{fill:none;stroke:#ffb347;stroke-width:2;stroke-linejoin:round}"
    ".cc-arrowhead{fill:#ffb347}"
    ".cc-edge__badge{fill:#ffb347}"
    ".cc-edge__label{fill:#2a1a00;font-weight:700;font-size:11px;text-anchor:middle}"
    ".cc-legend text{fill:#c9ced8}.cc-legend__note{fill:#8b93a3}"
    ".cc-legend__current{fill:#173a2c;stroke:#3ddc97;stroke-width:2}"
    ".cc-legend__visited{fill:#1f3148;stroke:#4d7fbf}"
)


@dataclass(frozen=True)
class Button:
    """A button of a state and the event it fires; ``condition`` says when it shows, if not always."""

    name: str
    event: str | None
    condition: str = ""


@dataclass(frozen=True)
class StateNode:
    key: str
    number: int
    listed: bool
    closable: bool
    timer: str
    buttons: tuple[Button, ...]


def state_nodes(direction: str | None = None) -> list[StateNode]:
    """One node per ``UiState``. Buttons that depend on the call direction or on the card being foldable
    carry a condition, unless ``direction`` pins the direction (then the other direction's are left out)."""
    directions = (direction,) if direction in DIRECTIONS else DIRECTIONS
    nodes = []
    for state in UiState:
        variants = {(d, f): state_buttons(state, d, foldable=f) for d in directions for f in (True, False)}
        order: list[str] = []
        for names in sorted(variants.values(), key=len, reverse=True):  # the fullest row gives the order
            order += [n for n in names if n not in order]
        buttons = []
        for name in order:
            in_dirs = [d for d in directions if name in variants[(d, True)]]
            unfoldable = all(name in variants[(d, False)] for d in in_dirs)
            conditions = [] if len(in_dirs) == len(directions) else [f"{in_dirs[0]} call"]
            if not unfoldable:
                conditions.append("when foldable")
            buttons.append(Button(name, BUTTON_EVENTS.get(name), ", ".join(conditions)))
        rule = STATE_RULES[state]
        nodes.append(StateNode(
            key=state.name, number=int(state), listed=state.name not in HIDDEN_STATES,
            closable=state in CLOSABLE_STATES, timer=rule.timer, buttons=tuple(buttons),
        ))
    return nodes


# -- layout ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Box:
    x: float
    y: float
    w: float
    h: float
    row: int
    col: int

    @property
    def bottom(self) -> float:
        return self.y + self.h


def _tags(node: StateNode, current: bool) -> list[tuple[str, str]]:
    tags = []
    if not node.listed:
        tags.append(("hidden", "not in CallCardGetListUiStates (still accepted by CallCardSetUiState)"))
    if node.closable:
        tags.append(("Esc", "Esc closes the card in this state"))
    if node.timer != "unchanged":
        tags.append((f"timer {node.timer}", f"entering {node.key} {node.timer}s the call timer"))
    if current:
        tags.append(("now", "the card is in this state"))
    return tags


def _tag_w(label: str) -> float:
    return len(label) * 6.1 + 10


def _node_width(nodes: Sequence[StateNode]) -> float:
    """One width for every node: enough for the widest name, tag row, button or event line."""
    widest = 0.0
    for n in nodes:
        widest = max(widest, 30 + len(n.key) * CHAR_13, sum(_tag_w(t) + 4 for t, _ in _tags(n, True)))
        for b in n.buttons:
            cond = len(b.condition) + 3 if b.condition else 0
            event = (b.event or "").removeprefix(BACKGROUND_PREFIX) or "no event"
            widest = max(widest, len(b.name) * CHAR_12 + cond * 6.1, (len(event) + 2) * CHAR_11 + 8)
    return round(widest + 22)


def _layout(nodes: Sequence[StateNode]) -> tuple[dict[str, _Box], float, float]:
    """A grid in declaration order, COLUMNS per row; each row as tall as its tallest node."""
    width = _node_width(nodes)
    rows = [nodes[i:i + COLUMNS] for i in range(0, len(nodes), COLUMNS)]
    boxes: dict[str, _Box] = {}
    y = float(MARGIN)
    for r, row in enumerate(rows):
        h = HEAD_H + 2 * LINE_H * max(max(len(n.buttons) for n in row), 1) + 8
        for c, node in enumerate(row):
            boxes[node.key] = _Box(MARGIN + c * (width + GAP_X), y, width, h, r, c)
        y += h + GAP_Y
    total_w = 2 * MARGIN + COLUMNS * width + (COLUMNS - 1) * GAP_X
    return boxes, total_w, y - GAP_Y + MARGIN


# -- nodes -----------------------------------------------------------------------------------------------


def _node_svg(node: StateNode, box: _Box, *, current: bool, visited: bool) -> str:
    cls = "cc-node" + (" is-current" if current else "") + (" is-visited" if visited else "")
    cls += "" if node.listed else " is-hidden"
    x, y = box.x, box.y
    out = [
        f'<g class="{cls}" data-state="{escape(node.key)}" data-number="{node.number}"'
        f' data-current="{str(current).lower()}" data-visited="{str(visited).lower()}">',
        f"<title>{escape(node.key)} (UiState {node.number})</title>",
        f'<rect class="cc-node__box" x="{x}" y="{y}" width="{box.w}" height="{box.h}" rx="8"/>',
        f'<rect class="cc-node__head" x="{x + 1}" y="{y + 1}" width="{box.w - 2}" height="{HEAD_H - 2}"'
        ' rx="7"/>',
        f'<text class="cc-node__num" x="{x + 10}" y="{y + 19}">{node.number}</text>',
        f'<text class="cc-node__name" x="{x + 30}" y="{y + 19}">{escape(node.key)}</text>',
    ]
    tx = x + 10
    for label, hint in _tags(node, current):
        w = _tag_w(label)
        out.append(
            f'<g class="cc-tag cc-tag--{escape(label.split()[0].lower())}"><title>{escape(hint)}</title>'
            f'<rect x="{tx:.1f}" y="{y + 27}" width="{w:.1f}" height="15" rx="3"/>'
            f'<text x="{tx + 5:.1f}" y="{y + 38}">{escape(label)}</text></g>'
        )
        tx += w + 4
    ly = y + HEAD_H + 14
    if not node.buttons:
        out.append(f'<text class="cc-node__none" x="{x + 10}" y="{ly}">no buttons</text>')
    for b in node.buttons:
        hint = f"{b.name} fires {b.event}" if b.event else f"{b.name} fires no event"
        cond = f'<tspan class="cc-btn__cond"> · {escape(b.condition)}</tspan>' if b.condition else ""
        event = (
            f'<tspan class="cc-btn__event">{escape(b.event.removeprefix(BACKGROUND_PREFIX))}</tspan>'
            if b.event else '<tspan class="cc-btn__noevent">no event</tspan>'
        )
        out.append(
            f'<g class="cc-btn" data-button="{escape(b.name)}" data-event="{escape(b.event or "")}">'
            f"<title>{escape(hint + (f' ({b.condition})' if b.condition else ''))}</title>"
            f'<text x="{x + 10}" y="{ly}"><tspan class="cc-btn__name">{escape(b.name)}</tspan>{cond}</text>'
            f'<text x="{x + 18}" y="{ly + LINE_H}"><tspan class="cc-btn__arrow">↳ </tspan>{event}</text></g>'
        )
        ly += 2 * LINE_H
    out.append("</g>")
    return "".join(out)


# -- edges -----------------------------------------------------------------------------------------------

Point = tuple[float, float]


def _route(a: _Box, b: _Box, lane: int, rows: list[tuple[float, float]]) -> list[Point]:
    """An orthogonal path from ``a`` to ``b`` through the gutters between nodes, on track ``lane``.

    Leave ``a`` through its bottom (``b`` below) or its top (``b`` level or above), run along the gutter
    next to ``a``; when ``b`` is more than one row away, drop down the vertical gutter left of ``b`` to
    the gutter next to ``b``; enter ``b`` from that side.
    """
    shift = (lane - LANES // 2)
    port = 0.14 + 0.72 * (lane + 0.5) / LANES
    ax, bx = a.x + a.w * port, b.x + b.w * port
    down = b.row > a.row

    def gutter_below(row: int) -> float:
        return rows[row][1] + GAP_Y / 2 + shift * 9

    def gutter_above(row: int) -> float:
        return rows[row][0] - GAP_Y / 2 + shift * 9

    start: Point = (ax, a.bottom if down else a.y)
    first = gutter_below(a.row) if down else gutter_above(a.row)
    points = [start, (ax, first)]
    near_b = gutter_above(b.row) if down else gutter_below(b.row) if b.row < a.row else first
    if abs(b.row - a.row) > 1:
        vx = b.x - GAP_X / 2 + shift * 8
        points += [(vx, first), (vx, near_b)]
    points += [(bx, near_b), (bx, b.y if down or b.row == a.row else b.bottom)]
    clean: list[Point] = []
    for p in points:  # drop repeats and middle points of straight runs
        if clean and p == clean[-1]:
            continue
        if len(clean) >= 2 and (clean[-2][0] == clean[-1][0] == p[0] or clean[-2][1] == clean[-1][1] == p[1]):
            clean[-1] = p
            continue
        clean.append(p)
    return clean


def _path_d(points: list[Point], radius: float = 7.0) -> str:
    """SVG path data through ``points`` with rounded corners."""
    d = f"M{points[0][0]:.1f},{points[0][1]:.1f}"
    for prev, here, nxt in zip(points, points[1:], points[2:], strict=False):
        def toward(p: Point, q: Point) -> Point:
            dist = abs(q[0] - p[0]) + abs(q[1] - p[1])
            k = min(radius, dist / 2) / dist if dist else 0.0
            return p[0] + (q[0] - p[0]) * k, p[1] + (q[1] - p[1]) * k

        p1, p2 = toward(here, prev), toward(here, nxt)
        d += f" L{p1[0]:.1f},{p1[1]:.1f} Q{here[0]:.1f},{here[1]:.1f} {p2[0]:.1f},{p2[1]:.1f}"
    return d + f" L{points[-1][0]:.1f},{points[-1][1]:.1f}"


def _edge_svg(points: list[Point], steps: list[dict[str, Any]]) -> str:
    """The arrow along ``points``, labelled with the step numbers that took it where it leaves its node."""
    label = ",".join(str(s["step"]) for s in steps)
    first = steps[0]
    lx, ly = points[1] if len(points) > 2 else (
        (points[0][0] + points[1][0]) / 2, (points[0][1] + points[1][1]) / 2)
    d = _path_d(points)
    lw = 10 + 7 * len(label)
    return (
        f'<g class="cc-edge" data-from="{escape(first["from"])}" data-to="{escape(first["to"])}" '
        f'data-steps="{escape(label)}"><title>{escape(first["from"])} → {escape(first["to"])} '
        f"(step {escape(label)})</title>"
        f'<path class="cc-edge__halo" d="{d}"/>'
        f'<path class="cc-edge__line" d="{d}" marker-end="url(#cc-arrow)"/>'
        f'<rect class="cc-edge__badge" x="{lx - lw / 2:.1f}" y="{ly - 9:.1f}" width="{lw}" height="18"'
        ' rx="9"/>'
        f'<text class="cc-edge__label" x="{lx:.1f}" y="{ly + 4:.1f}">{escape(label)}</text></g>'
    )


# -- the picture -----------------------------------------------------------------------------------------


def render_svg(
    *, current: str | None = None, path: Sequence[str] = (), transitions: Sequence[dict[str, Any]] = (),
    direction: str | None = None,
) -> str:
    """The diagram as one ``<svg>`` element: all 15 states, ``current`` highlighted, the states in ``path``
    marked visited, one arrow per distinct ``transitions`` pair (``{step, from, to}``) labelled by step."""
    nodes = state_nodes(direction)
    boxes, width, height = _layout(nodes)
    row_spans: dict[int, tuple[float, float]] = {}
    for box in boxes.values():
        top, bottom = row_spans.get(box.row, (box.y, box.bottom))
        row_spans[box.row] = (min(top, box.y), max(bottom, box.bottom))
    rows = [row_spans[r] for r in sorted(row_spans)]
    visited = set(path)
    legend_y = height - MARGIN / 2 + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="cc-diagram" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="UiState diagram" '
        f'data-current="{escape(current or "")}">',
        '<defs><marker id="cc-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="cc-arrowhead"/></marker></defs>',
        f"<style>{_STYLE}</style>",
        f'<rect class="cc-diagram__bg" x="0" y="0" width="{width:.0f}" height="{height:.0f}"/>',
    ]
    parts += [_node_svg(n, boxes[n.key], current=n.key == current, visited=n.key in visited) for n in nodes]
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for t in transitions:
        if t["from"] in boxes and t["to"] in boxes and t["from"] != t["to"]:
            grouped.setdefault((t["from"], t["to"]), []).append(t)
    parts.append('<g class="cc-edges">')
    for i, ((a, b), steps) in enumerate(grouped.items()):
        points = _route(boxes[a], boxes[b], i % LANES, rows)
        parts.append(_edge_svg(points, steps))
    parts.append("</g>")
    parts.append(
        f'<g class="cc-legend" transform="translate({MARGIN},{legend_y:.0f})">'
        '<rect class="cc-legend__current" x="0" y="-11" width="14" height="14" rx="3"/>'
        '<text x="20" y="0">current state</text>'
        '<rect class="cc-legend__visited" x="130" y="-11" width="14" height="14" rx="3"/>'
        '<text x="150" y="0">visited in this call</text>'
        '<path class="cc-edge__line" d="M300,-4 L340,-4" marker-end="url(#cc-arrow)"/>'
        '<text x="348" y="0">transition taken (step number)</text>'
        '<text x="600" y="0" class="cc-legend__note">button ↳ the BackgroundCallCard event it fires · '
        'dashed: not listed by CallCardGetListUiStates</text></g>'
    )
    parts.append("</svg>")
    return "".join(parts)
