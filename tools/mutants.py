#!/usr/bin/env python3
"""make mutants: every backend bug of tools/mutants.txt must fail the golden suite.

For each mutant: the one source file it changes is compiled with the change,
linked with the rest of an ordinary build (build/obj/), and the resulting
allconv runs `golden check data/golden`, which must exit 1 and name a failing
case and output. Prints the table (mutant, first failing case and output, how
many cases fail) and writes it to build-mutants/table.md. Exits 1 when a
mutant survives (a hole in the suite) or does not apply (its text is gone).

    python3 tools/mutants.py [--build DIR] [--cxx g++]

Standard library only; run from the repository root.
"""
import argparse
import glob
import os
import re
import subprocess
import sys
import tempfile


def read_mutants(path):
    mutants, current = [], None
    for number, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.rstrip("\n")
        if line.startswith("@ "):
            current = {"name": line[2:].strip(), "file": None, "edits": [], "line": number}
            mutants.append(current)
        elif line.startswith("file "):
            current["file"] = line[5:].strip()
        elif line.startswith("- "):
            current["edits"].append([line[2:], None])
        elif line.startswith("+ "):
            current["edits"][-1][1] = line[2:]
    return mutants


def first_failure(report):
    """The first failing case and the outputs named under it, from golden check's table."""
    lines = report.splitlines()
    failed = [i for i, l in enumerate(lines) if l.rstrip().endswith("FAIL")]
    if not failed:
        return None, 0
    case = lines[failed[0]].split()[0]
    outputs = []
    for l in lines[failed[0] + 1:]:
        m = re.match(r"^    (\S+): ", l)
        if not m:
            break
        outputs.append(m.group(1))
    cases = len({lines[i].split()[0] for i in failed})
    return f"{case} / {', '.join(outputs) or '?'}", cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--cxx", default=os.environ.get("CXX", "g++"))
    args = ap.parse_args()
    subprocess.run(["make", "-s", f"BUILD={args.build}", f"{args.build}/allconv"], check=True)
    # The objects of today's sources (an old build folder may hold others).
    lib = [f"{args.build}/obj/{c[:-4]}.o" for c in sorted(glob.glob("src/**/*.cpp", recursive=True))]
    tools = [f"{args.build}/obj/{c[:-4]}.o" for c in sorted(glob.glob("tools/*.cpp"))]
    rows, holes = [], 0
    os.makedirs("build-mutants", exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for i, m in enumerate(read_mutants("tools/mutants.txt"), 1):
            text = open(m["file"], encoding="utf-8").read()
            missing = [old for old, _ in m["edits"] if old not in text]
            if missing:
                rows.append((m["name"], m["file"], "DOES NOT APPLY: " + missing[0], 0))
                holes += 1
                continue
            for old, new in m["edits"]:
                text = text.replace(old, new)
            source = os.path.join(tmp, f"mutant{i}.cpp")
            open(source, "w", encoding="utf-8").write(text)
            obj, exe = source[:-4] + ".o", os.path.join(tmp, f"allconv{i}")
            # -iquote: the file's own relative includes ("conv.hpp", "../tensor.hpp") resolve as in src/.
            subprocess.run([args.cxx, "-std=c++17", "-O2", "-ffp-contract=off", "-pthread", "-iquote",
                            os.path.dirname(m["file"]), "-c", source, "-o", obj], check=True)
            original = f"{args.build}/obj/{m['file'][:-4]}.o"
            objects = [o for o in lib if o != original] + [obj] + tools
            subprocess.run([args.cxx, "-pthread", *objects, "-o", exe, "-pthread"], check=True)
            run = subprocess.run([exe, "golden", "check", "data/golden"], capture_output=True, text=True)
            where, cases = first_failure(run.stdout)
            if run.returncode != 1 or where is None:
                rows.append((m["name"], m["file"], "SURVIVED (golden check passed)", 0))
                holes += 1
            else:
                rows.append((m["name"], m["file"], where, cases))
            print(f"mutant {i:2d}: {rows[-1][0]}: {rows[-1][2]}", flush=True)
    table = ["| mutant (a backend bug) | changed | first failing case / outputs | cases failing |",
             "|---|---|---|---|"]
    table += [f"| {n} | `{f}` | {w} | {c} |" for n, f, w, c in rows]
    open("build-mutants/table.md", "w", encoding="utf-8").write("\n".join(table) + "\n")
    print("\n".join(table))
    print(f"mutants: {len(rows) - holes} killed, {holes} survived or did not apply")
    return 1 if holes else 0


if __name__ == "__main__":
    sys.exit(main())
