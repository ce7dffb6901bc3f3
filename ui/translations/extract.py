#!/usr/bin/env python3
"""Lists the @tr strings of ui/**/*.slint and checks a .po catalogue against them.

Slint matches a bundled translation by (msgctxt, msgid[, msgid_plural]); the default context
of @tr is the name of the component (or global) the string is written in, so each entry
here carries that name as msgctxt.

usage:
  extract.py                      list every string as "context | msgid"
  extract.py --check PO           list strings missing (or untranslated) in PO, and entries in PO
                                  that no screen uses; exit 1 if any string is missing
  extract.py --update PO          add the missing strings to PO with an empty msgstr
  extract.py --pot OUT            write a template with every string
"""
import pathlib
import re
import sys

UI = pathlib.Path(__file__).resolve().parent.parent

DECL = re.compile(r"^\s*(?:export\s+)?(?:component|global)\s+([A-Za-z_][\w-]*)")
STRING = r'"((?:[^"\\]|\\.)*)"'
TR = re.compile(r"@tr\(\s*" + STRING + r"(?:\s*\|\s*" + STRING + r"\s*%)?")


def unescape(s):
    return s.replace('\\"', '"').replace("\\\\", "\\").replace("\\n", "\n")


def strings():
    """[(context, msgid, plural or None, file:line)] in source order, without duplicates."""
    seen = {}
    for path in sorted(UI.rglob("*.slint")):
        context = ""
        for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("//", 1)[0] if "@tr" not in line else line
            m = DECL.match(code)
            if m:
                context = m.group(1)
            for t in TR.finditer(line):
                if "=>" in line[t.start():t.end()]:
                    continue
                key = (context, unescape(t.group(1)), unescape(t.group(2)) if t.group(2) is not None else None)
                seen.setdefault(key, f"{path.relative_to(UI)}:{no}")
    return [(c, i, p, where) for (c, i, p), where in seen.items()]


def po_quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def parse_po(path):
    """{(context, msgid, plural): [msgstr...]} of a simple .po file."""
    entries = {}
    cur = {}
    field = None

    def flush():
        if "msgid" in cur and cur["msgid"] != "":
            key = (cur.get("msgctxt", ""), cur["msgid"], cur.get("msgid_plural"))
            if key[2] is None:
                entries[key] = [cur.get("msgstr", "")]
            else:
                entries[key] = [cur.get(f"msgstr[{i}]", "") for i in range(2)]

    for raw in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            if line == "" and cur:
                flush()
                cur = {}
                field = None
            continue
        m = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d\])?)\s+(\".*\")$", line)
        if m:
            field = m.group(1)
            if field in ("msgctxt",) and "msgid" in cur:
                flush()
                cur = {}
            cur[field] = unescape(m.group(2)[1:-1])
        elif line.startswith('"') and field:
            cur[field] += unescape(line[1:-1])
    flush()
    return entries


def entry_text(c, i, p, where, tr=None):
    out = [f"#: {where}"]
    if c:
        out.append(f"msgctxt {po_quote(c)}")
    out.append(f"msgid {po_quote(i)}")
    if p is None:
        out.append(f"msgstr {po_quote(tr[0] if tr else '')}")
    else:
        out.append(f"msgid_plural {po_quote(p)}")
        for k in range(2):
            out.append(f"msgstr[{k}] {po_quote(tr[k] if tr else '')}")
    return "\n".join(out) + "\n"


def main(argv):
    found = strings()
    if len(argv) == 1:
        for c, i, p, where in found:
            print(f"{c} | {i}" + (f" | {p}" if p is not None else "") + f"    ({where})")
        print(f"{len(found)} strings", file=sys.stderr)
        return 0
    if argv[1] == "--pot":
        head = 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        pathlib.Path(argv[2]).write_text(head + "\n".join(entry_text(*f) for f in found), encoding="utf-8")
        return 0
    po = argv[2]
    have = parse_po(po)
    missing = [f for f in found if not any(have.get((f[0], f[1], f[2]), [""]))]
    wanted = {(c, i, p) for c, i, p, _ in found}
    unused = [k for k in have if k not in wanted]
    if argv[1] == "--check":
        for c, i, p, where in missing:
            print(f"missing: {c} | {i}    ({where})")
        for c, i, p in unused:
            print(f"unused: {c} | {i}")
        print(f"{len(found)} strings, {len(missing)} missing, {len(unused)} unused")
        return 1 if missing else 0
    if argv[1] == "--update":
        absent = [f for f in found if (f[0], f[1], f[2]) not in have]
        with open(po, "a", encoding="utf-8") as out:
            for f in absent:
                out.write("\n" + entry_text(*f))
        print(f"added {len(absent)} entries")
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
