"""Fetch a list of URLs, at most four at a time, with progress, retries and partial results.

``fetch_stream`` yields each outcome as it finishes; a URL that fails does not stop the others.
The URLs are served in-process by ``httpx.MockTransport`` (no network); one of them hangs up
once (retried), one answers 404 (not retried). Run it: ``python examples/fetch_urls.py``.
"""

from __future__ import annotations

from collections import Counter

import anyio
import httpx

from autodocs_core import fetch_stream, retrying
from autodocs_core.resilience import FetchProgress

URLS = [f"https://files.example/{name}.txt" for name in ("alpha", "beta", "gamma", "delta")] + [
    "https://files.example/missing.txt"
]


def files() -> httpx.MockTransport:
    """A file server whose 'beta' drops the first connection and whose 'missing' is 404."""
    seen: Counter[str] = Counter()

    def handle(request: httpx.Request) -> httpx.Response:
        name = request.url.path.strip("/").removesuffix(".txt")
        seen[name] += 1
        if name == "missing":
            return httpx.Response(404)
        if name == "beta" and seen[name] == 1:
            raise httpx.ReadError("connection reset by peer", request=request)
        return httpx.Response(200, text=f"contents of {name}\n" * 3)

    return httpx.MockTransport(handle)


async def main() -> dict[str, object]:
    """Fetch every URL; print progress; return the sizes and the failures."""
    progress: list[FetchProgress] = []

    def report(p: FetchProgress) -> None:
        progress.append(p)
        print(f"\r{p.done}/{p.total} done, {p.failed} failed", end="", flush=True)

    guard = retrying(on=httpx.TransportError, attempts=3, wait_initial=0.01, name="download")
    sizes: dict[str, int] = {}
    failed: dict[str, str] = {}
    async with httpx.AsyncClient(transport=files()) as client:

        async def download(url: str) -> int:
            response = await client.get(url)
            response.raise_for_status()  # httpx.HTTPStatusError: not a TransportError
            return len(response.content)

        async with fetch_stream(
            download, URLS, limit=4, ordered=True, on_progress=report, resilience=guard
        ) as outcomes:
            async for outcome in outcomes:
                if outcome.ok:
                    sizes[outcome.item] = outcome.value or 0
                else:
                    failed[outcome.item] = type(outcome.exception).__name__
    print()
    for url, size in sizes.items():
        print(f"{size:6d} bytes  {url}")
    for url, why in failed.items():
        print(f"  failed  {url}: {why}")
    return {"sizes": sizes, "failed": failed, "progress": progress}


if __name__ == "__main__":
    anyio.run(main)
