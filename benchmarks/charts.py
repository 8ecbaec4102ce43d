"""SVG charts of the benchmark results, drawn from the results JSON by the bench run itself.

No plotting library: grouped horizontal bars in plain SVG (a few dozen lines), so the charts
render on GitHub and in any browser, diff as text, and need nothing beyond the standard library.
``python -m benchmarks.charts`` redraws them from ``benchmarks/results/*.json``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"
IMAGES = Path(__file__).parent.parent / "docs" / "img"

COLOURS = {
    "core": "#1f6feb",
    "mcp": "#2da44e",
    "peer": "#cf222e",
    "ours": "#2da44e",
    "ours_first": "#8ddb9f",
    "others": "#8c959f",
    "sdk_import": "#bf8700",
    "interpreter": "#d0d7de",
}
LABELS = {
    "core": "autodocs (core API)",
    "mcp": "autodocs (MCP server)",
    "peer": "autodoc-mcp 0.5.1",
    "ours": "autodocs",
    "ours_first": "autodocs, first start (no snapshot)",
    "others": "other libraries (same run)",
    "sdk_import": "python -c 'import mcp' (our venv)",
    "interpreter": "python -c pass (our venv)",
}


def bar_chart(
    title: str,
    groups: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    *,
    unit: str,
    maximum: float | None = None,
    note: str = "",
) -> str:
    """Horizontal grouped bars: one group per row label, one bar per series."""
    label_w, bar_w, row_h, bar_h = 350, 340, 8, 14
    series = sorted({s for _, bars in groups for s, _ in bars}, key=list(COLOURS).index)
    top = 52 + 18 * ((len(series) + 2) // 3)
    height = top + sum(len(bars) * bar_h + row_h for _, bars in groups) + 44
    peak = maximum or max((v for _, bars in groups for _, v in bars), default=1.0) or 1.0
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + bar_w + 90}" '
        f'height="{height}" font-family="sans-serif" font-size="12">',
        '<rect width="100%" height="100%" fill="white"/>',
        f'<text x="10" y="22" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]
    for i, name in enumerate(series):
        x, y = 10 + (i % 3) * 240, 40 + 18 * (i // 3)
        out.append(f'<rect x="{x}" y="{y}" width="12" height="12" fill="{COLOURS[name]}"/>')
        out.append(f'<text x="{x + 18}" y="{y + 11}">{escape(LABELS[name])}</text>')
    y = top
    for label, bars in groups:
        out.append(
            f'<text x="{label_w - 8}" y="{y + bar_h * len(bars) / 2 + 4}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
        for name, value in bars:
            width = max(1.0, bar_w * min(value, peak) / peak)
            out.append(
                f'<rect x="{label_w}" y="{y}" width="{width:.1f}" height="{bar_h - 2}" '
                f'fill="{COLOURS[name]}"/>'
            )
            out.append(
                f'<text x="{label_w + width + 4:.1f}" y="{y + bar_h - 4}" '
                f'font-size="11">{value:.3g}{escape(unit)}</text>'
            )
            y += bar_h
        y += row_h
    for i, line in enumerate(_wrap(note, 110)):
        out.append(f'<text x="10" y="{height - 26 + 13 * i}" font-size="11">{escape(line)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines[:2]


def _faultlab_groups(
    data: dict[str, Any], metric: str
) -> list[tuple[str, list[tuple[str, float]]]]:
    groups: dict[str, list[tuple[str, float]]] = {}
    for key in sorted(data["scenarios"], key=_scenario_order):
        runs = data["scenarios"][key]
        label, _, target = key.rpartition(" [")
        scenario, _, size = label.rpartition(" (")
        if metric == "served" and "outage" in scenario:
            continue  # every call fails by design there; its figures are time and requests
        values = [_metric(r, metric) for r in runs]
        if not values:
            continue
        row = f"{scenario.split(' (')[0][:44]} (n={size.rstrip(')')})"
        groups.setdefault(row, []).append((target.rstrip("]"), statistics.median(values)))
    order = list(COLOURS)
    return [(s, sorted(b, key=lambda p: order.index(p[0]))) for s, b in groups.items()]


def _scenario_order(key: str) -> tuple[int, str, int]:
    label = key.rpartition(" [")[0]
    size = label.rpartition(" (")[2].rstrip(")")
    number = label.split(". ")[0]
    digits = "".join(c for c in number if c.isdigit()) or "0"
    return (int(digits), number, -int(size) if size.isdigit() else 0)


def _metric(run: dict[str, Any], metric: str) -> float:
    if metric == "served":  # fresh answers and stale copies served while the index was down
        return 100.0 * (run.get("success_rate", 0.0) + run.get("stale_rate", 0.0))
    return float(run[metric])


def render_all(results: Path = RESULTS, images: Path = IMAGES) -> list[Path]:
    """Draw every chart whose results exist; return the files written."""
    images.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def write(name: str, svg: str) -> None:
        path = images / name
        path.write_text(svg, encoding="utf-8")
        written.append(path)

    faultlab = results / "faultlab.json"
    if faultlab.exists():
        data = json.loads(faultlab.read_text("utf-8"))
        write(
            "faultlab-success.svg",
            bar_chart(
                "Fault lab: calls answered, fresh or stale (median of seeds)",
                _faultlab_groups(data, "served"),
                unit="%",
                maximum=100.0,
                note="Higher is better. n = calls per run (the peer runs smaller sizes where it "
                "waits 30 s per hang). The outage scenario is left out: every call fails there.",
            ),
        )
        write(
            "faultlab-p99.svg",
            bar_chart(
                "Fault lab: p99 latency per call",
                _faultlab_groups(data, "p99_s"),
                unit=" s",
                note="Lower is better. The peer waits 30 s per hung request.",
            ),
        )
    startup = results / "startup.json"
    if startup.exists():
        data = json.loads(startup.read_text("utf-8"))
        runs = data["startup_s"]
        write(
            "startup.svg",
            bar_chart(
                "Server start to the first tools/list answer (median)",
                [("start-up", [(k, statistics.median(v)) for k, v in runs.items() if v])],
                unit=" s",
                note="Lower is better. Same machine, same run, interleaved.",
            ),
        )
    overhead = results / "overhead.json"
    if overhead.exists():
        data = json.loads(overhead.read_text("utf-8"))
        rows = data.get("asyncio", [])
        write(
            "overhead.svg",
            bar_chart(
                "Per-call overhead on the success path (asyncio)",
                [
                    (
                        _short(f"{r['library']}: {r['variant']}", 50),
                        [("ours" if r["library"] == "autodocs" else "others", r["ns"] / 1000)],
                    )
                    for r in rows
                ],
                unit=" µs",
                note="Lower is better. Measured side by side in one process.",
            ),
        )
    return written


if __name__ == "__main__":
    for path in render_all():
        print(path)
