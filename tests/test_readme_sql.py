"""The SQL the README gives operators runs as written on the migrated schema."""

import re
from pathlib import Path

from tests.helpers import Stack

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_statements() -> list[str]:
    blocks = re.findall(r"```sql\n(.*?)```", README.read_text(), flags=re.DOTALL)
    statements = [s.strip() for block in blocks for s in block.split(";")]
    return [
        s for s in statements if s and not all(line.startswith("--") for line in s.splitlines())
    ]


async def test_every_readme_query_runs(stack: Stack) -> None:
    statements = readme_statements()
    assert len(statements) >= 10
    for statement in statements:
        await stack.sql(statement)
