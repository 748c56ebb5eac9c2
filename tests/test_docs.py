"""The README stays short and every relative link in the documentation leads somewhere.

README.md and docs/*.md link to each other and to files of the repository; a page renamed or a
heading reworded would leave a dead link that nothing else notices.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = sorted((ROOT / "docs").glob("*.md"))
MAX_README_LINES = 250

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$", re.MULTILINE)
# A commit id: 7-40 hex digits with at least one digit and one letter (so not a plain number or word).
COMMIT_ID = re.compile(r"\b(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b")
DATE = re.compile(r"\b(19|20)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])\b")


def without_code_blocks(text: str) -> str:
    return FENCE.sub("", text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    kept = "".join(c for c in text if c in " -" or unicodedata.category(c)[0] in "LNM" or c == "_")
    return kept.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for match in HEADING.finditer(without_code_blocks(path.read_text(encoding="utf-8"))):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def relative_links(path: Path) -> list[str]:
    text = INLINE_CODE.sub("", without_code_blocks(path.read_text(encoding="utf-8")))
    return [
        target for target in LINK.findall(text) if not re.match(r"^[a-z][a-z0-9+.-]*:", target)
    ]  # http:, https:, mailto: lead elsewhere


def test_the_pages_exist() -> None:
    names = {page.name for page in PAGES}
    expected = {
        "index.md",
        "cli.md",
        "data-formats.md",
        "training.md",
        "word-vectors.md",
        "python-api.md",
        "batch-prediction.md",
        "model-folder.md",
        "defaults.md",
        "benchmarks.md",
        "measurements.md",
    }
    assert expected <= names, f"missing docs pages: {sorted(expected - names)}"


def test_the_index_lists_every_page() -> None:
    listed = {target.partition("#")[0] for target in relative_links(ROOT / "docs" / "index.md")}
    missing = [page.name for page in PAGES if page.name != "index.md" and page.name not in listed]
    assert not missing, f"docs/index.md does not link to {missing}"


@pytest.mark.parametrize("path", [README, *PAGES], ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path: Path) -> None:
    broken = []
    for target in relative_links(path):
        file_part, _, fragment = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target} (no file {file_part})")
        elif fragment and linked.suffix == ".md" and fragment not in anchors(linked):
            broken.append(f"{target} (no heading #{fragment} in {linked.name})")
    assert not broken, f"{path.name}: broken links: {broken}"


def test_the_link_check_sees_links() -> None:
    """Guards the checker itself: the README's own links are found, and a dead one would be."""
    assert "docs/cli.md" in relative_links(README)
    assert slug("IMDB with in-domain vectors and Kim's sizes") == "imdb-with-in-domain-vectors-and-kims-sizes"
    assert slug("`textcnn eval`") == "textcnn-eval"
    assert slug("Several GPUs: torchrun") == "several-gpus-torchrun"


def test_readme_is_short() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= MAX_README_LINES, f"README.md has {len(lines)} lines; move detail into docs/"


def test_readme_body_has_no_dates_or_commit_ids() -> None:
    body = without_code_blocks(README.read_text(encoding="utf-8"))
    dates = [m.group(0) for m in DATE.finditer(body)]
    commits = COMMIT_ID.findall(body)
    assert not dates, f"README.md carries dates {dates}: the measurement log (docs/measurements.md) keeps them"
    assert not commits, f"README.md cites commits {commits}: the measurement log (docs/measurements.md) keeps them"


def test_the_patterns_catch_what_they_should() -> None:
    assert DATE.search("run on 2026-11-27 at noon")
    assert COMMIT_ID.search("commit fb782a8 and")
    assert not COMMIT_ID.search("1000000 rows, a facade, deadbeef")
    assert without_code_blocks("a\n```bash\nfb782a8\n```\nb") == "a\n\nb"
