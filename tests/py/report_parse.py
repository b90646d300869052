"""Read a written report back for the tests: the HTML tables (html.parser), the sections of
summary.txt, the files the page references, and PNG headers. Nothing here comes from analyze/."""
import html.parser
import re
import struct


class Page(html.parser.HTMLParser):
    """Tables by id (headers, rows of cell text), image sources, link targets, and the text of
    each <section id=...> and of each element with an id."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables = {}
        self.imgs, self.hrefs, self.srcs = [], [], []
        self.sections = {}
        self.texts = {}
        self._table = self._row = self._cell = None
        self._section = None
        self._idstack = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id"):
            self._table = a["id"]
            self.tables[self._table] = ([], [])
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "img":
            self.imgs.append(a.get("src", ""))
        elif tag == "section":
            self._section = a.get("id")
            self.sections[self._section] = ""
        if a.get("href") is not None:
            self.hrefs.append(a["href"])
        if a.get("src") is not None:
            self.srcs.append(a["src"])
        if a.get("id") and tag not in ("table", "section"):
            self._idstack.append((tag, a["id"]))
            self.texts[a["id"]] = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            heads, rows = self.tables[self._table]
            if not heads:
                heads.extend(self._row)
            else:
                rows.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "section":
            self._section = None
        if self._idstack and self._idstack[-1][0] == tag:
            self._idstack.pop()

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._section:
            self.sections[self._section] += data
        for _, i in self._idstack:
            self.texts[i] += data


def parse_html(path):
    p = Page()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    p.close()
    return p


def parse_summary(path):
    """{key: (headers, rows)} for tables, {key: 'no data ...'} for sections without data."""
    out = {}
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^== (\w+): .* ==$", lines[i])
        if not m:
            i += 1
            continue
        key = m.group(1)
        block = []
        i += 1
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        if block and block[0].startswith("no data"):
            out[key] = block[0]
        else:
            cells = [re.split(r" {2,}", ln.strip()) for ln in block]
            out[key] = (cells[0], cells[1:])
    return out


def png_info(path):
    """(width, height) from the IHDR chunk, or None if not a PNG."""
    with open(path, "rb") as f:
        head = f.read(33)
    if len(head) < 33 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    w, h = struct.unpack(">II", head[16:24])
    return w, h


def same(cell, exp):
    """True if the printed cell shows the expected value: '-' for None, text equal after
    collapsing whitespace, ints exactly (hex as 0x..), floats within half a unit of the last
    printed decimal."""
    if exp is None:
        return cell == "-"
    if isinstance(exp, str):
        return cell == " ".join(exp.split())
    if isinstance(exp, int) and not isinstance(exp, bool):
        try:
            return (int(cell, 16) if cell.startswith("0x") else int(cell)) == (
                exp & 0xFFFFFFFFFFFFFFFF if cell.startswith("0x") else exp)
        except ValueError:
            return False
    try:
        v = float(cell)
    except ValueError:
        return False
    dec = len(cell.split(".")[1]) if "." in cell else 0
    return abs(v - exp) <= 0.5 * 10 ** -dec + 1e-9 * abs(exp)


def check_rows(name, got_rows, exp_rows):
    """Assert cell by cell; the message names the table, row and column."""
    assert len(got_rows) == len(exp_rows), f"{name}: {len(got_rows)} rows shown, {len(exp_rows)} expected"
    for i, (g, e) in enumerate(zip(got_rows, exp_rows)):
        assert len(g) == len(e), f"{name} row {i}: {g} vs {e}"
        for j, (c, x) in enumerate(zip(g, e)):
            assert same(c, x), f"{name} row {i} col {j}: shown {c!r}, SQL says {x!r}"
