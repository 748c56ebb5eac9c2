"""A self-contained HTML page of explanations: inline CSS, no script, no font or image to fetch.

Each text is one block: its label and logit decomposition, the text with every kept token coloured
by its share of the contributions to the explained class's logit (green for, red against, the
strongest token of the block at full colour; `Token.score`), and tables of the top n-grams for the
logit and for the margin over the runner-up. Hovering a token shows its score. Text that truncation
left out is shown greyed.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Iterator

from textcnn.explanation import Attribution, Explanation

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 60em;
       color: #1b1b1b; background: #fff; line-height: 1.5; }
h1 { font-size: 1.3em; }
.block { border: 1px solid #d0d0d0; border-radius: 6px; padding: 0.8em 1.1em; margin: 1.2em 0; }
.head { font-size: 0.95em; margin-bottom: 0.5em; }
.label { font-weight: 600; }
.sum { color: #555; font-family: ui-monospace, monospace; font-size: 0.85em; }
.text { font-size: 1.05em; margin: 0.6em 0; white-space: pre-wrap; word-wrap: break-word; }
.tok { border-radius: 3px; padding: 0 1px; }
.dropped { color: #9a9a9a; font-style: italic; }
.tables { display: flex; gap: 2em; flex-wrap: wrap; }
table { border-collapse: collapse; font-size: 0.85em; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.2em; }
td, th { padding: 1px 8px; text-align: left; }
td.num { text-align: right; font-family: ui-monospace, monospace; }
.pos { color: #1a7f37; } .neg { color: #c62828; }
.legend { font-size: 0.85em; color: #555; }
"""


def render_html(explanations: Iterable[Explanation], *, title: str = "textcnn explanations") -> str:
    """The whole page as one string."""
    return "".join(iter_html(explanations, title=title))


def iter_html(explanations: Iterable[Explanation], *, title: str = "textcnn explanations") -> Iterator[str]:
    """The page in pieces (header, one block per text, footer), to write it without holding it whole."""
    yield (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        '<p class="legend">Each token is coloured by its share of the n-gram contributions to the explained '
        'class\'s logit: <span class="tok" style="background: rgba(26,127,55,0.45)">for</span> / '
        '<span class="tok" style="background: rgba(198,40,40,0.45)">against</span>. Contributions plus the bias '
        "equal the logit exactly.</p>\n"
    )
    for number, explanation in enumerate(explanations, start=1):
        yield render_block(explanation, number)
    yield "</body></html>\n"


def render_block(explanation: Explanation, number: int) -> str:
    """One text's block."""
    e = explanation
    strongest = max((abs(t.score) for t in e.tokens), default=0.0) or 1.0
    pieces = []
    for segment in e.segments():
        text = html.escape(segment.text)
        if segment.kind == "token" and segment.token is not None:
            token = e.tokens[segment.token]
            pieces.append(
                f'<span class="tok" style="background: {_colour(token.score / strongest)}" '
                f'title="{token.score:+.4f} (margin {token.margin:+.4f})">{text}</span>'
            )
        elif segment.kind == "dropped":
            pieces.append(f'<span class="dropped" title="not seen by the model (truncated)">{text}</span>')
        else:
            pieces.append(text)
    predicted = "" if e.label == e.predicted else f" (predicted: {html.escape(str(e.predicted))})"
    dropped = f", truncated: the model saw {len(e.tokens)} tokens" if e.truncated else ""
    return (
        f'<div class="block"><div class="head">#{number} <span class="label">{html.escape(str(e.label))}</span>'
        f" p={e.probability:.3f}{predicted}{dropped}<br>"
        f'<span class="sum">logit {e.logit.value:+.4f} = bias {e.logit.bias:+.4f} + n-grams '
        f"{e.logit.value - e.logit.bias:+.4f}; margin over {html.escape(str(e.runner_up))} "
        f"{e.margin.value:+.4f}</span></div>"
        f'<div class="text">{"".join(pieces)}</div>'
        f'<div class="tables">{_table(e.logit, f"logit of {e.label}")}'
        f"{_table(e.margin, f'{e.label} vs {e.runner_up}')}</div></div>\n"
    )


def _table(attribution: Attribution, caption: str) -> str:
    rows = [
        f'<tr><td class="num {"pos" if n.score >= 0 else "neg"}">{n.score:+.4f}</td>'
        f"<td>{html.escape(n.text) or '<i>(empty)</i>'}</td><td>{','.join(map(str, n.kernel_sizes))}</td></tr>"
        for n in attribution.ngrams
    ]
    rows.append(f'<tr><td class="num">{attribution.rest:+.4f}</td><td><i>other n-grams</i></td><td></td></tr>')
    rows.append(f'<tr><td class="num">{attribution.bias:+.4f}</td><td><i>bias</i></td><td></td></tr>')
    return (
        f"<table><caption>{html.escape(caption)}</caption>"
        f"<tr><th>score</th><th>n-gram</th><th>widths</th></tr>{''.join(rows)}</table>"
    )


def _colour(strength: float) -> str:
    """Green for positive, red for negative, opacity by |strength| in [0, 1]."""
    alpha = min(1.0, abs(strength)) * 0.6
    rgb = "26,127,55" if strength >= 0 else "198,40,40"
    return f"rgba({rgb},{alpha:.3f})"
