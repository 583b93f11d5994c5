#!/usr/bin/env python3
"""Checks that the code the reference and the tutorial show is the code the suite builds.

    check_snippets.py SOURCE_DIR            check
    check_snippets.py SOURCE_DIR --update   copy every whole file into its block again

In docs/api/*.md and docs/tutorial.md, every ```cpp block must be introduced by the
paragraph just before it, which names its file, `docs/examples/NAME`:

- "From `docs/examples/NAME`...": the block is an excerpt, lines that stand together,
  in that order, in the file;
- otherwise the block is the whole file, to the byte.

Every file of docs/examples/ must be shown (whole or in part) somewhere. Relative links
in those pages must lead to files that exist (except the pages still being written
elsewhere, PENDING).
"""

import pathlib
import re
import sys

# Pages of the reference that are written in other branches; linked before they land.
PENDING: set[str] = set()

FENCE = "```cpp"


def blocks(lines):
    """Yields (first line index, end line index, introducing line, code) for each ```cpp
    block; lines[first + 1:end] is the code."""
    i = 0
    while i < len(lines):
        if lines[i].strip() == FENCE:
            # The paragraph just before the block.
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            paragraph = []
            while j >= 0 and lines[j].strip():
                paragraph.insert(0, lines[j].strip())
                j -= 1
            intro = " ".join(paragraph)
            end = i + 1
            while end < len(lines) and lines[end].strip() != "```":
                end += 1
            yield i, end, intro, "\n".join(lines[i + 1:end]) + "\n"
            i = end
        i += 1


def is_excerpt(intro):
    return intro.lstrip().lower().startswith("from ")


def update(page, examples):
    lines = page.read_text().split("\n")
    for first, end, intro, _ in reversed(list(blocks(lines))):
        named = re.search(r"`docs/examples/([\w.]+)`", intro)
        if named and not is_excerpt(intro) and (examples / named.group(1)).exists():
            code = (examples / named.group(1)).read_text().rstrip("\n").split("\n")
            lines[first + 1:end] = code
    page.write_text("\n".join(lines))


def main():
    root = pathlib.Path(sys.argv[1])
    pages = sorted((root / "docs" / "api").glob("*.md")) + [root / "docs" / "tutorial.md"]
    examples = root / "docs" / "examples"
    if sys.argv[2:] == ["--update"]:
        for page in pages:
            if page.exists():
                update(page, examples)
    shown = set()
    errors = []
    count = 0
    for page in pages:
        rel = page.relative_to(root)
        if not page.exists():
            errors.append("%s is missing" % rel)
            continue
        text = page.read_text()
        for first, _, intro, code in blocks(text.split("\n")):
            line = first + 1
            count += 1
            named = re.search(r"`docs/examples/([\w.]+)`", intro)
            if not named:
                errors.append("%s:%d: a cpp block not introduced by a paragraph naming "
                              "`docs/examples/FILE`" % (rel, line))
                continue
            source = examples / named.group(1)
            if not source.exists():
                errors.append("%s:%d: %s does not exist" % (rel, line, source.relative_to(root)))
                continue
            shown.add(source.name)
            whole = source.read_text()
            if is_excerpt(intro):
                if code not in whole:
                    errors.append("%s:%d: the excerpt is not in %s as shown (edit the file, then "
                                  "copy it here)" % (rel, line, source.relative_to(root)))
            elif code != whole:
                errors.append("%s:%d: the block differs from %s (edit the file, then copy it "
                              "here: check_snippets.py SOURCE_DIR --update)"
                              % (rel, line, source.relative_to(root)))
        prose = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks
        prose = re.sub(r"`[^`\n]*`", "", prose)  # inline code
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", prose):
            if re.match(r"^[a-z]+:", target):
                continue  # https:, mailto:
            resolved = (page.parent / target).resolve()
            if resolved.exists():
                continue
            try:
                if str(resolved.relative_to(root.resolve())) in PENDING:
                    continue
            except ValueError:
                pass
            errors.append("%s: the link %s leads nowhere" % (rel, target))
    for source in sorted(examples.iterdir()):
        if source.suffix in (".cpp", ".hpp") and source.name not in shown:
            errors.append("docs/examples/%s is shown by no page" % source.name)
    for error in errors:
        print(error)
    if errors:
        return 1
    print("%d blocks in %d pages match docs/examples/" % (count, len(pages)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
