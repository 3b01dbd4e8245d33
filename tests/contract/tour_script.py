"""Prints the API tour as one bash script: every ```sh block of the given Markdown files, in
order, with `export KEY=`/`export API=` lines left out (the caller sets both). Every curl fails on
an HTTP error unless its block says "# answers 4xx". Used by tour.sh (CI) and by
tests/upgrade/make-fixtures.sh."""
import re
import sys

tour = "\n".join(open(path).read() for path in sys.argv[1:])
print("set -euo pipefail")
print('curl() { if [ "$ALLOW_4XX" = 1 ]; then command curl "$@"; else command curl --fail-with-body "$@"; fi; }')
for n, block in enumerate(re.findall(r"```sh\n(.*?)```", tour, re.S), 1):
    lines = [l for l in block.splitlines() if not re.match(r"\s*export (KEY|API)=", l)]
    print(f"echo '--- tour block {n}' >&2")
    print(f"ALLOW_4XX={1 if re.search(r'# answers 4', block) else 0}")
    print("\n".join(l[3:] if l.startswith("   ") else l for l in lines))
    print("echo")
