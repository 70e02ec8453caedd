"""docs/testing.md shows the example files verbatim: each block marked ``<!-- example: PATH -->`` must
equal that file, and every file of the example must be shown."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "testing.md"
BLOCK = re.compile(r"<!-- example: (?P<path>\S+) -->\n```\w*\n(?P<text>.*?)```\n", re.S)


def test_every_example_file_is_in_the_doc_verbatim():
    shown = {m["path"]: m["text"] for m in BLOCK.finditer(DOC.read_text())}
    example = Path(__file__).parent
    files = sorted([*(example / "app").iterdir(), example / "test_softphone.py"])
    assert sorted(shown) == [str(f.relative_to(ROOT)) for f in files]
    for path, text in shown.items():
        assert (ROOT / path).read_text() == text, f"docs/testing.md shows an outdated {path}"
