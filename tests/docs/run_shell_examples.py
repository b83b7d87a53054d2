#!/usr/bin/env python3
"""Runs every shell example of the README and docs/ against a real node, so none can drift.

A fenced block whose language is sh, bash, shell or console is an example:
- ``sh``/``bash``/``shell``: the block runs in bash (-euo pipefail) and must exit 0.
- ``console``: ``$ `` starts a command (a line ending in ``\\`` continues it); the lines after
  it, up to the next ``$ ``, are its expected output, where ``...`` stands for any text and
  white space is not compared (the docs wrap long JSON).
A block that cannot run here says so after its language, with the reason:
```sh no-test: starts the whole suite```. One without a reason is an error.

The node is ``ithaca server --dev`` on a free loopback port with its own data folder. The
examples' ``127.0.0.1:8080`` becomes the node's address, and they see ITHACA_API_KEY (the dev
key), ITHACA_API_URL and ITHACA_URL. Each block runs in a scratch folder of its own. The last line printed is ``N passed, N failed``.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = ["README.md", "docs/*.md", "*/README.md", "*/*/README.md", "*/*/*/README.md"]
SHELL = {"sh", "bash", "shell", "console"}
FENCE = re.compile(r"^```(\S*)(.*)$")


@dataclass
class Example:
    path: Path
    line: int
    language: str
    options: str
    body: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"


def examples(path: Path) -> list[Example]:
    found, block, start = [], None, 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        fence = FENCE.match(line)
        if block is None and fence and fence.group(1) in SHELL:
            block, start = (fence.group(1), fence.group(2).strip(), []), number
        elif block is not None and line.startswith("```"):
            found.append(
                Example(path, start, block[0], block[1], "\n".join(block[2]) + "\n")
            )
            block = None
        elif block is not None:
            block[2].append(line)
    return found


def doc_files() -> list[Path]:
    files = set()
    for pattern in DOCS:
        files.update(p for p in REPO.glob(pattern) if "node_modules" not in p.parts)
    return sorted(files)


def console_steps(body: str) -> list[tuple[str, str]]:
    steps, command, output, continuing = [], None, [], False
    for line in body.splitlines():
        if continuing:
            command += "\n" + line
            continuing = line.endswith("\\")
        elif line.startswith("$ "):
            if command is not None:
                steps.append((command, "\n".join(output)))
            command, output = line[2:], []
            continuing = line.endswith("\\")
        elif command is not None:
            output.append(line)
    if command is not None:
        steps.append((command, "\n".join(output)))
    return steps


def matches(expected: str, actual: str) -> bool:
    squeeze = lambda s: re.sub(r"\s+", "", s)
    parts = [re.escape(p) for p in squeeze(expected).split("...")]
    return re.fullmatch(".*?".join(parts), squeeze(actual), flags=re.DOTALL) is not None


class Node:
    def __init__(self, binary: Path):
        self.data = Path(tempfile.mkdtemp(prefix="ithaca-docs-"))
        port_file = self.data / "port"
        self.log = (self.data / "server.log").open("wb")
        self.proc = subprocess.Popen(
            [
                str(binary),
                "server",
                "--dev",
                "--listen",
                "127.0.0.1:0",
                "--data",
                str(self.data),
                "--port-file",
                str(port_file),
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.monotonic() + 30
        while not port_file.is_file() or not port_file.read_text().strip():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the node did not start; see {self.data / 'server.log'}")
            time.sleep(0.05)
        self.address = f"127.0.0.1:{port_file.read_text().strip()}"
        self.key = (self.data / "dev-api-key").read_text().strip()
        self.wait_ready(deadline)

    def wait_ready(self, deadline: float) -> None:
        # /readyz where the node has it; a node without it is taken as ready once it answers.
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://{self.address}/readyz", timeout=2):
                    return
            except urllib.error.HTTPError as e:
                if e.code == 404:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        sys.exit("the node did not become ready")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def run(example: Example, node: Node, env: dict) -> str | None:
    """None when the example holds, else what went wrong. A block is one shell session, so a
    console block's commands share variables and the working folder."""
    body = example.body.replace("127.0.0.1:8080", node.address)
    steps = console_steps(body) if example.language == "console" else [(body, None)]
    marker = "--- ithaca docs: step done ---"
    script = "".join(f"{command}\necho '{marker}'\n" for command, _ in steps)
    with tempfile.TemporaryDirectory(prefix="ithaca-doc-example-") as scratch:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            check=False,
            cwd=scratch,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    outputs = done.stdout.split(marker + "\n")
    for index, (command, expected) in enumerate(steps):
        if index >= len(outputs) - 1:  # the step did not finish
            return f"exit {done.returncode}: {command}\n{outputs[-1]}{done.stderr}"
        if expected is not None and not matches(expected, outputs[index]):
            return f"output differs: {command}\nexpected:\n{expected}\ngot:\n{outputs[index]}"
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--bin", type=Path, default=REPO / "build/dev/apps/ithaca/ithaca"
    )
    parser.add_argument(
        "--list", action="store_true", help="list the examples, run nothing"
    )
    args = parser.parse_args()

    all_examples = [e for f in doc_files() for e in examples(f)]
    passed, failed, skipped = 0, 0, []
    if args.list:
        for e in all_examples:
            print(e.where, e.language, e.options)
        return 0
    node = Node(args.bin)
    env = {
        **os.environ,
        "ITHACA_API_KEY": node.key,
        "ITHACA_API_URL": f"http://{node.address}",
        "ITHACA_URL": f"http://{node.address}",
        "PATH": f"{args.bin.parent}:{os.environ['PATH']}",
    }
    try:
        for e in all_examples:
            if e.options.startswith("no-test"):
                reason = e.options[len("no-test") :].lstrip(":").strip()
                if reason:
                    skipped.append(f"{e.where}: {reason}")
                    continue
                failed += 1
                print(f"FAIL {e.where}: no-test needs a reason")
                continue
            problem = run(e, node, env)
            if problem:
                failed += 1
                print(f"FAIL {e.where}: {problem}")
            else:
                passed += 1
                print(f"ok   {e.where}")
    finally:
        node.stop()
    for s in skipped:
        print(f"skip {s}")
    print(f"{passed} passed, {failed} failed, {len(skipped)} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
