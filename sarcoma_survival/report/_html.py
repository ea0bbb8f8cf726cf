"""One self-contained HTML page: inline CSS, figures as data URIs, no script, no network."""
from __future__ import annotations

import html
import json
import math
import numbers

_CSS = """
body{font-family:Helvetica,Arial,sans-serif;max-width:1100px;margin:24px auto;padding:0 16px;color:#222;
line-height:1.4}
h1{font-size:1.6em;margin-bottom:0.2em}h2{border-bottom:2px solid #2a6f97;padding-bottom:3px;margin-top:1.6em;
color:#1b4965}h3{margin-bottom:0.3em}
table{border-collapse:collapse;margin:8px 0 12px 0;font-size:0.92em}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#eef4f8}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#555;font-size:0.9em}.todo{background:#fff4e0}.done{background:#eaf6ea}
.figs{display:flex;flex-wrap:wrap;gap:12px}.figs img{max-width:100%;height:auto;border:1px solid #ddd}
.warn{background:#fff4e0;border-left:4px solid #e09f3e;padding:6px 10px}
nav a{margin-right:10px}code{background:#f4f4f4;padding:0 3px}
"""


def fmt(value, digits=3):
    """A number as text (``n/a`` for NaN/None); other values as ``str``."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return "n/a" if not math.isfinite(value) else f"{value:.{digits}f}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str)
    return str(value)


def esc(value, digits=3):
    return html.escape(fmt(value, digits))


def table(headers, rows, *, classes=None):
    """An HTML table (``headers=None``: no header row); numbers right-aligned; ``classes``
    gives one CSS class per row."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in headers or ())
    body = []
    for i, row in enumerate(rows):
        cells = "".join(
            f'<td class="num">{esc(v)}</td>' if isinstance(v, numbers.Real) and not isinstance(v, bool)
            else f"<td>{esc(v)}</td>" for v in row)
        css = f' class="{classes[i]}"' if classes else ""
        body.append(f"<tr{css}>{cells}</tr>")
    thead = f"<thead><tr>{head}</tr></thead>" if head else ""
    return f"<table>{thead}<tbody>{''.join(body)}</tbody></table>"


def image(uri, alt):
    return f'<img src="{uri}" alt="{html.escape(alt)}">'


def paragraph(text, css=None):
    cls = f' class="{css}"' if css else ""
    return f"<p{cls}>{html.escape(text)}</p>"


def page(title, subtitle, sections):
    """The whole document; ``sections`` are ``(anchor, heading, body html)``."""
    nav = " ".join(f'<a href="#{a}">{html.escape(h)}</a>' for a, h, _ in sections)
    parts = [f'<section id="{a}"><h2>{html.escape(h)}</h2>{body}</section>' for a, h, body in sections]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p class=\"note\">{html.escape(subtitle)}</p>"
            f"<nav>{nav}</nav>{''.join(parts)}</body></html>\n")
