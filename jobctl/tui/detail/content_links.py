"""What a content job's detail page adds: the content items a generate-content job stored (with
their length as the platform counts it, and the command that shows each), the image a
generate-image job drew. Read from the job's result alone: the page needs no other query."""

from __future__ import annotations

from typing import Any

from rich.text import Text


def content_links(job_type: str, result: Any) -> Text | None:
    """A CONTENT section for the job's detail page, or None for other jobs (or no result)."""
    if not isinstance(result, dict):
        return None
    t = Text()
    if job_type == "generate-content" and isinstance(result.get("items"), list):
        provider = f"{result.get('provider', '?')} ({result.get('model', '?')})"
        t.append("\nCONTENT ITEMS\n", style="bold").append(f"  by {provider}\n", style="dim")
        for item in result["items"]:
            if not isinstance(item, dict):
                continue
            t.append(f"  {item.get('id')}  {item.get('platform'):<9} v{int(item.get('variation', 0)) + 1}  ")
            t.append(f"{item.get('characters')}/{item.get('limit')} chars  ")
            t.append(f"jobctl content show {item.get('id')}\n", style="dim")
        return t
    if job_type == "generate-image" and "path" in result:
        t.append("\nIMAGE\n", style="bold")
        size = f"{result.get('width')}x{result.get('height')}"
        t.append(f"  {result.get('id')}  {size}  {result.get('path')}\n")
        if result.get("content_item_id"):
            t.append(f"  for {result['content_item_id']}\n", style="dim")
        return t
    return None
