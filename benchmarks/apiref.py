"""Does the answer contain what a coder needs? The apiref evaluation (issue 11, "Measure").

For each triple of ``apiref_eval.json`` (package, version constraint, question) the target is asked
the way an assistant would: its docs tool with ``query`` at ``max_tokens=2000`` and, when the
triple names a ``symbol`` and the target has it, the API reference tool. Each answer is scored:

- **facts found**: the triple's patterns (case-insensitive regular expressions) found in the text;
- **version exact**: the answer's version is the one the constraint resolved to when the set was
  written (``expect_version``);
- **tokens**: the answer's own count and the real count (cl100k_base, o200k_base via bpe-openai);
- **cost per new version**: requests and bytes the index served for the triple (fresh cache);
- **latency**: the first (cold, empty cache directory) and the second (warm) call.

The index is a cassette (``_cassette``) on loopback in its own process: ``--record`` fetches
what is missing from the real index (https://pypi.org) and stores it; the default replays.
``--quick`` runs the slice whose cassettes are committed (CI, no network).
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
from anyio.streams.buffered import BufferedByteReceiveStream

from ._cassette import CASSETTES
from ._harness import machine, save, versions, write_docs_section
from ._targets import OURS, open_mcp

EVAL = Path(__file__).resolve().parent / "apiref_eval.json"
BUDGET = 2000
QUICK = (
    "httpx-timeout-0.24",
    "httpx-proxy-absent-0.24",
    "click7-option",
    "tenacity8-wait-exponential",
    "attrs-define-options",
    "docopt-sdist-only",
)
"""The CI slice: small packages whose cassettes are committed (they replay without network)."""

PREFETCH_WHOLE = 1 << 20
"""In record mode, artifacts up to this size are stored whole (any future read replays)."""
PREFETCH_GAP = 64 * 1024
"""Otherwise the zip's tail, central directory and source members, merged across gaps this small."""

TARGETS = {"ours": 0.80, "cold_kb": 150, "cold_requests": 2, "warm_ms": 50}


def load_set() -> list[dict[str, Any]]:
    """The evaluation triples."""
    return list(json.loads(EVAL.read_text("utf-8"))["triples"])


def facts_found(text: str, facts: list[str]) -> list[bool]:
    """Which fact patterns occur in *text* (case-insensitive)."""
    return [re.search(f, text, re.I | re.S) is not None for f in facts]


class Tokenizers:
    """Real token counts with bpe-openai, when it is installed."""

    NAMES = ("cl100k_base", "o200k_base")

    def __init__(self) -> None:
        try:
            import bpe_openai
        except ImportError:
            self.encoders: dict[str, Any] = {}
        else:
            self.encoders = {n: bpe_openai.get_encoding(n) for n in self.NAMES}

    def count(self, text: str) -> dict[str, int]:
        return {n: len(e.encode(text)) for n, e in self.encoders.items()}


# -- the index process ---------------------------------------------------------------------


@asynccontextmanager
async def cassette_server(
    packages: list[str] | None, *, record: bool, directory: Path = CASSETTES
) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    """Run ``python -m benchmarks._cassette serve`` in its own process; yield its index URL."""
    args = [sys.executable, "-m", "benchmarks._cassette", "serve", str(directory)]
    if record:
        args.append("--record")
    if packages is not None:
        args += ["--packages", *packages]
    proc = await anyio.open_process(args, stdout=subprocess.PIPE, stderr=None)
    try:
        assert proc.stdout is not None
        line = await BufferedByteReceiveStream(proc.stdout).receive_until(b"\n", 65536)
        url = json.loads(line)["index"]
        async with httpx.AsyncClient(timeout=300) as control:
            yield url, control
            if record:
                await control.get(f"{url}/_cassette/save")
    finally:
        proc.terminate()
        with anyio.move_on_after(10):
            await proc.wait()
        await proc.aclose()


async def server_stats(control: httpx.AsyncClient, url: str, *, reset: bool = False) -> Any:
    path = "reset" if reset else "stats"
    return (await control.get(f"{url}/_cassette/{path}")).json()


# -- targets -------------------------------------------------------------------------------


class Asker:
    """Calls the docs and API-reference tools of a target; returns (text, version, tokens)."""

    has_api = False

    async def docs(self, t: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def api(self, t: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


class McpAsker(Asker):
    def __init__(self, client: Any, tools: set[str]) -> None:
        self.client = client
        self.has_api = "get_api_reference" in tools

    async def _call(self, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
        result = await self.client.call_tool(tool, arguments)
        text = "\n".join(getattr(c, "text", "") for c in result.content)
        if result.is_error:
            try:
                error = json.loads(text).get("error_type", "error")
            except ValueError:
                error = "error"
            return {"text": text, "version": None, "tokens": None, "error": error}
        content = result.structured_content or {}
        body = content.get("documentation") or content.get("text") or text
        return {
            "text": body,
            "version": content.get("version"),
            "tokens": content.get("tokens"),
            "error": None,
        }

    async def docs(self, t: Mapping[str, Any]) -> dict[str, Any]:
        args = {"package_name": t["package"], "query": t["query"], "max_tokens": BUDGET}
        if t["constraint"]:
            args["version_constraint"] = t["constraint"]
        return await self._call("get_package_docs", args)

    async def api(self, t: Mapping[str, Any]) -> dict[str, Any]:
        args = {
            "package_name": t["package"],
            "symbol": t["symbol"],
            "query": t["query"],
            "max_tokens": BUDGET,
        }
        if t["constraint"]:
            args["version_constraint"] = t["constraint"]
        return await self._call("get_api_reference", args)


class CoreAsker(Asker):
    def __init__(self, service: Any) -> None:
        self.service = service
        self.has_api = hasattr(service, "get_api_reference")

    @staticmethod
    def _out(answer: Any) -> dict[str, Any]:
        text = getattr(answer, "documentation", None) or getattr(answer, "text", "") or ""
        return {
            "text": text,
            "version": getattr(answer, "version", None),
            "tokens": getattr(answer, "tokens", None),
            "error": None,
        }

    async def _guard(self, call: Any) -> dict[str, Any]:
        from autodocs_core.errors import AutodocsError

        try:
            return self._out(await call())
        except AutodocsError as exc:
            return {"text": str(exc), "version": None, "tokens": None, "error": exc.error_type}

    async def docs(self, t: Mapping[str, Any]) -> dict[str, Any]:
        return await self._guard(
            lambda: self.service.get_docs(
                t["package"], t["constraint"], query=t["query"], max_tokens=BUDGET
            )
        )

    async def api(self, t: Mapping[str, Any]) -> dict[str, Any]:
        return await self._guard(
            lambda: self.service.get_api_reference(
                t["package"],
                t["constraint"],
                symbol=t["symbol"],
                query=t["query"],
                max_tokens=BUDGET,
            )
        )


@asynccontextmanager
async def open_asker(mode: str, index_url: str, cache_dir: str) -> AsyncIterator[Asker]:
    env = {"AUTODOCS_INDEX_URL": index_url, "AUTODOCS_CACHE_DIR": cache_dir}
    if mode == "core":
        from autodocs_core.config import Settings
        from autodocs_core.service import DocsService

        async with DocsService(Settings.from_env(env)) as service:
            yield CoreAsker(service)
    else:
        async with open_mcp(OURS, env, label="autodocs-mcp", peer=False) as target:
            tools = {t.name for t in (await target.client.list_tools()).tools}
            yield McpAsker(target.client, tools)


# -- one triple ----------------------------------------------------------------------------


async def timed(fn: Any) -> tuple[dict[str, Any], float]:
    start = time.perf_counter()
    out = await fn()
    return out, time.perf_counter() - start


def score(t: Mapping[str, Any], out: dict[str, Any], tok: Tokenizers) -> dict[str, Any]:
    # An error answers nothing, even when its wording happens to match a pattern ("no ... in").
    found = (
        facts_found(out["text"], t["facts"]) if out["error"] is None else [False] * len(t["facts"])
    )
    return {
        "facts": found,
        "found": sum(found),
        "version": out["version"],
        "version_exact": out["version"] == t["expect_version"],
        "tokens": out["tokens"],
        "real_tokens": tok.count(out["text"]) if out["error"] is None else {},
        "error": out["error"],
    }


async def run_triple(
    t: Mapping[str, Any], mode: str, url: str, control: httpx.AsyncClient, tok: Tokenizers
) -> dict[str, Any]:
    """Ask one triple on a fresh target (empty cache directory); score and count."""
    with tempfile.TemporaryDirectory() as cache_dir:
        async with open_asker(mode, url, cache_dir) as asker:
            await server_stats(control, url, reset=True)
            row: dict[str, Any] = {"id": t["id"], "package": t["package"]}
            docs, row["docs_cold_s"] = await timed(lambda: asker.docs(t))
            _, row["docs_warm_s"] = await timed(lambda: asker.docs(t))
            row["docs"] = score(t, docs, tok)
            if asker.has_api and t.get("symbol"):
                api, row["api_cold_s"] = await timed(lambda: asker.api(t))
                _, row["api_warm_s"] = await timed(lambda: asker.api(t))
                row["api"] = score(t, api, tok)
            stats = (await server_stats(control, url))["stats"]
    row["requests"] = stats["requests"]
    row["bytes"] = stats["bytes"]
    row["misses"] = stats["misses"]
    return row


# -- record mode: keep the artifact a wheel reader will want -------------------------------


def _choose(files: list[dict[str, Any]], version: str) -> dict[str, Any] | None:
    """The file issue 11's reader picks: pure wheel, mainstream binary wheel, zip, tar.gz."""
    from packaging.utils import parse_sdist_filename, parse_wheel_filename
    from packaging.version import Version

    def rank(f: dict[str, Any]) -> tuple[int, int]:
        name = f["filename"]
        if name.endswith("-none-any.whl"):
            return (0, 0)
        m = re.search(r"-cp3(\d+)-(cp3\d+|abi3)-", name)
        binary = name.endswith(".whl") and "manylinux" in name and "x86_64" in name
        if binary and m and not m[2].endswith("t"):  # not free-threaded
            return (1, -int(m[1]))
        if name.endswith(".zip"):
            return (2, 0)
        if name.endswith(".tar.gz"):
            return (3, 0)
        return (9, 0)

    wanted = Version(version)
    mine = []
    for f in files:
        try:
            if f["filename"].endswith(".whl"):
                v = parse_wheel_filename(f["filename"])[1]
            else:
                v = parse_sdist_filename(f["filename"])[1]
        except ValueError:
            continue
        if v == wanted and not f.get("yanked") and rank(f)[0] < 9:
            mine.append(f)
    return min(mine, key=rank) if mine else None


async def prefetch(client: httpx.AsyncClient, index_url: str, package: str, version: str) -> str:
    """Read through the recording proxy what a lazy wheel reader needs, so replays can serve it."""
    name = re.sub(r"[-_.]+", "-", package).lower()
    accept = {"Accept": "application/vnd.pypi.simple.v1+json"}
    page = await client.get(f"{index_url}/simple/{name}/", headers=accept)
    if page.status_code != 200:
        return f"no simple page ({page.status_code})"
    chosen = _choose(page.json().get("files", []), version)
    if chosen is None:
        return "no artifact"
    url = str(httpx.URL(f"{index_url}/simple/{name}/").join(chosen["url"]))
    size = chosen.get("size") or 0
    if not size or size <= PREFETCH_WHOLE or not chosen["filename"].endswith((".whl", ".zip")):
        if size > 20 * PREFETCH_WHOLE:
            return f"{chosen['filename']}: too big to keep whole"
        await client.get(url)
        await client.get(url + ".metadata")
        return f"{chosen['filename']}: whole ({size} bytes)"
    tail = await client.get(url, headers={"Range": "bytes=-65536"})
    if tail.status_code != 206:
        return f"{chosen['filename']}: tail answered {tail.status_code}"
    total = int(tail.headers["content-range"].rsplit("/", 1)[1])
    data = tail.content
    eocd = data.rfind(b"PK\x05\x06")
    if eocd < 0:
        return "no end of central directory in the tail (zip64 comment?)"
    cd_size = int.from_bytes(data[eocd + 12 : eocd + 16], "little")
    cd_offset = int.from_bytes(data[eocd + 16 : eocd + 20], "little")
    tail_start = total - len(data)
    if cd_offset < tail_start:
        cd = await client.get(url, headers={"Range": f"bytes={cd_offset}-{tail_start - 1}"})
        central = cd.content + data[: cd_offset + cd_size - tail_start]
    else:
        central = data[cd_offset - tail_start : cd_offset - tail_start + cd_size]
    # zipfile reads a central directory that starts at offset 0 of a fake archive.
    fake = central + _eocd(len(central), data[eocd : eocd + 22])
    members = zipfile.ZipFile(_Bytes(fake)).infolist()
    spans = sorted(
        (m.header_offset, m.header_offset + 30 + len(m.filename) + 256 + m.compress_size)
        for m in members
        if m.filename.endswith((".py", ".pyi", "py.typed")) or ".dist-info/" in m.filename
    )
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a - merged[-1][1] <= PREFETCH_GAP:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    fetched = 0
    for a, b in merged:
        b = min(b, tail_start) - 1
        if b >= a:
            await client.get(url, headers={"Range": f"bytes={a}-{b}"})
            fetched += b - a + 1
    return f"{chosen['filename']}: tail + {len(merged)} ranges ({fetched} of {total} bytes)"


def _eocd(cd_size: int, record: bytes) -> bytes:
    head = record[:12]
    return head + cd_size.to_bytes(4, "little") + (0).to_bytes(4, "little") + b"\x00\x00"


class _Bytes:
    """A seekable read-only file over bytes (zipfile needs ``seek``/``tell``/``read``)."""

    def __init__(self, data: bytes) -> None:
        import io

        self._io = io.BytesIO(data)
        self.seek, self.tell, self.read = self._io.seek, self._io.tell, self._io.read

    def seekable(self) -> bool:
        return True


# -- the suite -----------------------------------------------------------------------------


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(rows: list[dict[str, Any]], triples: list[dict[str, Any]]) -> dict[str, Any]:
    by_id = {t["id"]: t for t in triples}
    total_facts = sum(len(by_id[r["id"]]["facts"]) for r in rows)

    def part(key: str) -> dict[str, Any] | None:
        have = [r for r in rows if key in r]
        if not have:
            return None
        facts = sum(len(by_id[r["id"]]["facts"]) for r in have)
        found = sum(r[key]["found"] for r in have)
        full = sum(r[key]["found"] == len(by_id[r["id"]]["facts"]) for r in have)
        return {
            "questions": len(have),
            "facts": facts,
            "facts_found": found,
            "facts_found_pct": round(100 * found / facts, 1) if facts else 0.0,
            "questions_fully_answered": full,
            "versions_exact": sum(r[key]["version_exact"] for r in have),
            "errors": sum(r[key]["error"] is not None for r in have),
            "tokens_median": _median([r[key]["tokens"] for r in have if r[key]["tokens"]]),
            "real_tokens_median": {
                n: _median([r[key]["real_tokens"][n] for r in have if r[key]["real_tokens"]])
                for n in Tokenizers.NAMES
            },
            "cold_ms_p50": 1000 * (_median([r[f"{key}_cold_s"] for r in have]) or 0),
            "warm_ms_p50": 1000 * (_median([r[f"{key}_warm_s"] for r in have]) or 0),
        }

    return {
        "questions": len(rows),
        "facts": total_facts,
        "docs": part("docs"),
        "api": part("api"),
        "requests_per_version_median": _median([r["requests"] for r in rows]),
        "kb_per_version_median": _median([r["bytes"] / 1024 for r in rows]),
        "requests_per_version_max": max((r["requests"] for r in rows), default=0),
        "kb_per_version_max": max((r["bytes"] / 1024 for r in rows), default=0),
        "replay_misses": sum(r["misses"] for r in rows),
    }


async def evaluate(
    triples: list[dict[str, Any]], *, mode: str, record: bool, quick: bool
) -> list[dict[str, Any]]:
    tok = Tokenizers()
    packages = sorted({t["package"] for t in triples})
    rows = []
    async with cassette_server(None if record else packages, record=record) as (url, control):
        for t in triples:
            row = await run_triple(t, mode, url, control, tok)
            if record:
                try:
                    row["prefetch"] = await prefetch(
                        control, url, t["package"], t["expect_version"]
                    )
                except (httpx.HTTPError, zipfile.BadZipFile, KeyError, ValueError) as exc:
                    row["prefetch"] = f"failed: {exc!r}"
                await control.get(f"{url}/_cassette/save")  # keep what is recorded so far
            rows.append(row)
            d = row["docs"]
            print(
                f"{t['id']:34} docs {d['found']}/{len(t['facts'])} v={d['version']} "
                f"{'exact' if d['version_exact'] else 'WRONG'} tok={d['tokens']} "
                f"req={row['requests']} kB={row['bytes'] / 1024:.0f} "
                f"cold={row['docs_cold_s'] * 1000:.0f}ms warm={row['docs_warm_s'] * 1000:.1f}ms"
                + (f" api {row['api']['found']}/{len(t['facts'])}" if "api" in row else "")
                + (f" misses={row['misses']}" if row["misses"] else "")
                + (f" [{d['error']}]" if d["error"] else ""),
                flush=True,
            )
    return rows


def _fmt(value: float | None, spec: str = ".0f") -> str:
    return "n/a" if value is None else format(value, spec)


def report(
    summary: dict[str, Any], rows: list[dict[str, Any]], triples: list[dict[str, Any]]
) -> str:
    by_id = {t["id"]: t for t in triples}
    lines = [
        "| tool | questions | facts found | fully answered | versions exact | errors | "
        "tokens (counted / cl100k / o200k, median) | cold p50 | warm p50 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, label in (("docs", "get_package_docs"), ("api", "get_api_reference")):
        p = summary[key]
        if p is None:
            lines.append(f"| {label} | (not available in this build) | | | | | | | |")
            continue
        real = p["real_tokens_median"]
        lines.append(
            f"| {label} | {p['questions']} | {p['facts_found']}/{p['facts']} "
            f"({p['facts_found_pct']:.0f}%) | {p['questions_fully_answered']} | "
            f"{p['versions_exact']}/{p['questions']} | {p['errors']} | "
            f"{_fmt(p['tokens_median'])} / {_fmt(real.get('cl100k_base'))} / "
            f"{_fmt(real.get('o200k_base'))} | {p['cold_ms_p50']:.0f} ms | "
            f"{p['warm_ms_p50']:.1f} ms |"
        )
    lines += [
        "",
        f"Per new version (fresh cache, every call of the question): median "
        f"{_fmt(summary['requests_per_version_median'])} request(s) and "
        f"{_fmt(summary['kb_per_version_median'])} KB (max {summary['requests_per_version_max']} "
        f"requests, {summary['kb_per_version_max']:.0f} KB); replay misses: "
        f"{summary['replay_misses']}.",
        "",
        "| question | constraint → version | docs facts | api facts | requests | KB | note |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        t = by_id[r["id"]]
        d = r["docs"]
        api = f"{r['api']['found']}/{len(t['facts'])}" if "api" in r else "–"
        version = d["version"] or "–"
        mark = "" if d["version_exact"] else f" (expected {t['expect_version']})"
        lines.append(
            f"| {r['id']} | `{t['constraint'] or 'latest'}` → {version}{mark} | "
            f"{d['found']}/{len(t['facts'])} | {api} | {r['requests']} | {r['bytes'] / 1024:.0f} | "
            f"{d['error'] or ''} |"
        )
    return "\n".join(lines)


def _verdict(summary: dict[str, Any]) -> str:
    cost = (summary["kb_per_version_median"] or 0) <= TARGETS["cold_kb"] and (
        summary["requests_per_version_median"] or 0
    ) <= TARGETS["cold_requests"]
    lines = []
    for key, label in (("docs", "get_package_docs"), ("api", "get_api_reference")):
        p = summary[key]
        if p is None:
            continue
        checks = [
            ("facts found >= 80%", p["facts_found_pct"] >= 100 * TARGETS["ours"]),
            ("every version exact", p["versions_exact"] == p["questions"]),
            ("warm p50 <= 50 ms", p["warm_ms_p50"] <= TARGETS["warm_ms"]),
        ]
        lines.append(
            f"Targets (issue 11), {label}: "
            + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in checks)
            + "."
        )
    lines.append(
        "Target (issue 11), median cold cost <= 150 KB and <= 2 requests per new version "
        f"(all calls of a question): {'met' if cost else 'MISSED'}."
    )
    return "\n".join(lines)


def run(
    *, quick: bool, write_docs: bool, record: bool = False, target: str = "mcp"
) -> dict[str, Any]:
    """Run the evaluation (replay by default; ``record`` fetches what is missing from PyPI)."""
    triples = load_set()
    if quick:
        from ._cassette import self_check

        anyio.run(self_check)
        triples = [t for t in triples if t["id"] in QUICK]
    if not record:
        present = {p.name.removesuffix(".json.gz") for p in CASSETTES.glob("*.json.gz")}
        missing = [
            t for t in triples if re.sub(r"[-_.]+", "-", t["package"]).lower() not in present
        ]
        if missing:
            print(
                f"{len(missing)} questions have no cassette ("
                + ", ".join(sorted({t["package"] for t in missing}))
                + "): record them with `python -m benchmarks apiref --record` (needs pypi.org).",
                flush=True,
            )
            triples = [t for t in triples if t not in missing]
    if not triples:
        return {}
    rows = anyio.run(lambda: evaluate(triples, mode=target, record=record, quick=quick))
    summary = summarise(rows, triples)
    text = report(summary, rows, triples) + "\n\n" + _verdict(summary)
    print(text)
    results = {
        "machine": machine(),
        "versions": versions("autodocs-mcp-server", "httpx", "anyio", "mcp"),
        "target": target,
        "mode": "record" if record else "replay",
        "budget": BUDGET,
        "summary": summary,
        "rows": rows,
    }
    if quick:
        if summary["replay_misses"]:
            raise SystemExit(
                f"apiref: {summary['replay_misses']} requests were not in the cassettes"
            )
        return results
    save("apiref", results)
    if write_docs:
        write_docs_section(
            "apiref",
            f"Measured on {results['machine']['platform']}, Python "
            f"{results['machine']['python']}; target: {target}; index: recorded cassettes on "
            f"loopback in a separate process ({results['mode']}); budget {BUDGET} tokens; "
            f"{len(rows)} questions, {summary['facts']} facts.\n\n" + text,
        )
    return results
