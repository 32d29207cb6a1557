#!/usr/bin/env python3
"""Print, one per line (NUL-separated), the shell commands of README.md's examples.

An example is an indented block (four spaces or more).  Lines that go on
with a backslash are joined; in a "$ cmd" transcript only the commands
count; a crontab line loses its five time fields.  Only commands that run
an mlb tool are kept (configuration, make, git and YAML lines are not
commands of mlb)."""
import re
import sys

lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
cmds, cur, fence = [], None, False
for raw in lines:
    if raw.startswith("```"):
        fence = not fence
        continue
    if not raw.startswith("    ") or fence:
        cur = None
        continue
    line = raw.strip()
    if cur is not None:
        cur = cur[:-1].rstrip() + " " + line
    else:
        if line.startswith("$ "):
            line = line[2:]
        elif re.match(r"^[0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ [0-9*/,-]+ ", line):
            line = line.split(" ", 5)[5]
        cur = line
    if cur.endswith("\\"):
        continue
    cmd = re.sub(r"\s+#\s.*$", "", cur).strip()
    cur = None
    words = cmd.split()
    if not words:
        continue
    if re.match(r"^mlb(-[a-z]+)?$", words[0]) or re.search(r"\|\s*mlb(-[a-z]+)?\s", cmd):
        cmds.append(cmd)
sys.stdout.write("\0".join(cmds))
