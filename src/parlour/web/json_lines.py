"""Records streamed as a JSON-lines download, one object a line, as the REST API and the
dashboard both offer an organisation's audit chain."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse


class JsonLinesResponse(StreamingResponse):
    media_type = "application/x-ndjson"


def json_lines_download(
    records: AsyncIterator[dict[str, object]], filename: str
) -> JsonLinesResponse:
    return JsonLinesResponse(
        _lines(records), headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


async def _lines(records: AsyncIterator[dict[str, object]]) -> AsyncIterator[bytes]:
    async for record in records:
        yield (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
