#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The man pages say what the program says: compares the rendered
blkqos(8) and blkqos.rules(5) (plain text, as man shows them) with
'blkqos --help', each 'blkqos COMMAND --help' and 'blkqos keys'.

usage: check_man.py BLKQOS MAN8_TEXT MAN5_TEXT
Prints "ok - ..." / "not ok - ..." per check and "N passed, N failed".
"""
import re
import subprocess
import sys

passed = failed = 0


def check(name, want, seen):
    global passed, failed
    if want == seen:
        passed += 1
        print("ok - %s" % name)
    else:
        failed += 1
        print("not ok - %s expected %r, seen %r" % (name, want, seen))


def run(*args):
    return subprocess.run(args, capture_output=True, text=True).stdout


def sections(text):
    """{'NAME': body} of a rendered page: headings at column 0."""
    out, cur = {}, None
    for line in text.splitlines():
        if re.match(r"^[A-Z][A-Z ]+$", line):
            cur = line.strip()
            out[cur] = ""
        elif cur:
            out[cur] += line + "\n"
    return out


def subsections(body):
    """{'run': text} of a section: subheadings indented by three."""
    out, cur = {}, None
    for line in body.splitlines():
        m = re.match(r"^   (\S+)$", line)
        if m:
            cur = m.group(1)
            out[cur] = ""
        elif cur:
            out[cur] += line + "\n"
    return out


# an option starts a word ("'<name>--incoming'" is not one)
LONG = re.compile(r"(?<![^\s\[(|'])--[a-z][a-z-]*[a-z]")
SHORT = re.compile(r"(?<![\w-])-[a-z](?![\w-])")


def longopts(text):
    return sorted(set(LONG.findall(text)) - {"--help"})


def main():
    blkqos, man8, man5 = sys.argv[1:4]
    page8 = sections(open(man8).read())
    page5 = sections(open(man5).read())
    for s in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS",
              "EXIT STATUS", "SERVICE", "FILES", "SEE ALSO"):
        check("blkqos(8) has a %s section" % s, True, s in page8)

    main_help = run(blkqos, "--help")
    m = re.search(r"^Commands:\n(.*?)\n\n", main_help, re.S | re.M)
    help_cmds = sorted(re.findall(r"^  ([a-z]+) ", m.group(1), re.M)) if m else []
    check("--help lists commands", True, len(help_cmds) > 0)
    man_cmds = subsections(page8.get("COMMANDS", ""))
    check("the commands of --help are blkqos(8)'s COMMANDS", help_cmds, sorted(man_cmds))

    # the global options: --help's "Options:" paragraph, blkqos(8)'s OPTIONS
    m = re.search(r"^Options:(.*?)\n'", main_help, re.S | re.M)
    help_short = sorted(set(SHORT.findall(m.group(1)))) if m else []
    man_short = sorted(set(re.findall(r"^       (-[a-z])\b", page8.get("OPTIONS", ""), re.M)))
    check("--help's options (%s) are blkqos(8)'s OPTIONS" % " ".join(help_short),
          help_short, man_short)

    for cmd in help_cmds:
        h = run(blkqos, cmd, "--help")
        check("blkqos %s --help: its options are in blkqos(8) under %s, no more" % (cmd, cmd),
              longopts(h), longopts(man_cmds.get(cmd, "")))

    # exit codes: "Exit codes: 0 ok, 1 failure ..." against EXIT STATUS
    m = re.search(r"^Exit codes:(.*)", main_help, re.S | re.M)
    help_codes = sorted(set(re.findall(r"(?:^|[\s,:])(\d) [a-z]", m.group(1)))) if m else []
    man_codes = sorted(re.findall(r"^       (\d)\s", page8.get("EXIT STATUS", ""), re.M))
    check("--help's exit codes are blkqos(8)'s EXIT STATUS", help_codes, man_codes)

    # blkqos.rules(5)'s key table against 'blkqos keys' (key, unit, default, example)
    keys = run(blkqos, "keys").splitlines()[1:]
    table = page5.get("XENSTORE KEYS", "")
    rows = {}
    for line in table.splitlines():
        f = re.split(r"\s{2,}", line.strip())
        if len(f) == 4 and (f[0].startswith("qos/") or f[0] in
                            ("tokens-refill", "tokens-max", "credit")):
            rows[f[0]] = f
    names = [k.split()[0] for k in keys if k.strip()]
    check("blkqos.rules(5) has every key of 'blkqos keys', no more", sorted(names), sorted(rows))
    for k in keys:
        if not k.strip():
            continue
        name = k.split()[0]
        r = rows.get(name)
        ok = r is not None and re.match(r"^" + r"\s+".join(re.escape(x) for x in r) + r"\s", k)
        check("blkqos.rules(5): %s has the unit, default and example of 'blkqos keys'" % name,
              True, bool(ok))

    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
