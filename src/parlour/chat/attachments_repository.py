"""SQL for attachments (chat/attachments.py, T-102): one row per file, its name, the file and its
thumbnail sealed with the tenant's data key, each bound to the row and field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.chat.models import AttachmentRef
from parlour.crypto.vault import Place, TenantCipher
from parlour.storage.tables import attachments

TABLE = "attachments"
a = attachments.c


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One attachment as the database keeps it, opened."""

    tenant_id: str
    attachment_id: str
    conversation_id: str
    message_id: str | None
    author: str
    content_type: str
    size: int
    name: str
    thumbnail_type: str | None
    created_at: datetime

    @property
    def ref(self) -> AttachmentRef:
        return AttachmentRef(
            id=self.attachment_id,
            name=self.name,
            content_type=self.content_type,
            size=self.size,
            thumbnail=self.thumbnail_type is not None,
        )


class AttachmentRepository:
    def __init__(self, conn: AsyncConnection, cipher: TenantCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def insert(self, stored: StoredFile, data: bytes, thumbnail: bytes | None) -> None:
        place = stored.attachment_id
        await self._conn.execute(
            insert(attachments).values(
                tenant_id=stored.tenant_id,
                attachment_id=stored.attachment_id,
                conversation_id=stored.conversation_id,
                message_id=None,
                author=stored.author,
                content_type=stored.content_type,
                size_bytes=stored.size,
                name_sealed=self._cipher.seal_text(stored.name, Place(TABLE, place, "name")),
                file_sealed=self._cipher.seal(data, Place(TABLE, place, "file")),
                thumbnail_sealed=self._cipher.seal(thumbnail, Place(TABLE, place, "thumbnail"))
                if thumbnail is not None
                else None,
                thumbnail_type=stored.thumbnail_type,
                created_at=stored.created_at,
            )
        )

    async def usage(self, tenant_id: str, conversation_id: str | None = None) -> tuple[int, int]:
        """(files, bytes) kept for the organisation, or for one of its conversations."""
        query = select(func.count(), func.coalesce(func.sum(a.size_bytes), 0)).where(
            a.tenant_id == tenant_id
        )
        if conversation_id is not None:
            query = query.where(a.conversation_id == conversation_id)
        row = (await self._conn.execute(query)).one()
        return int(row[0]), int(row[1])

    async def forget_unsent(self, tenant_id: str, before: datetime) -> int:
        """Remove the organisation's uploads no message took that were made before `before`."""
        result = await self._conn.execute(
            delete(attachments).where(
                a.tenant_id == tenant_id, a.message_id.is_(None), a.created_at < before
            )
        )
        return int(result.rowcount or 0)

    async def unclaimed(
        self, tenant_id: str, conversation_id: str, author: str, ids: list[str]
    ) -> list[StoredFile]:
        """Those of `ids` this side of the conversation uploaded and no message took yet."""
        rows = await self._conn.execute(
            select(*_LISTED).where(
                a.tenant_id == tenant_id,
                a.conversation_id == conversation_id,
                a.author == author,
                a.message_id.is_(None),
                a.attachment_id.in_(ids),
            )
        )
        return [self._stored(row._mapping) for row in rows]

    async def claim(
        self,
        tenant_id: str,
        conversation_id: str,
        ids: list[str],
        message_id: str | None,
        *,
        was: str | None = None,
    ) -> int:
        """Move the files from message `was` (None: no message) to `message_id`; how many."""
        result = await self._conn.execute(
            update(attachments)
            .where(
                a.tenant_id == tenant_id,
                a.conversation_id == conversation_id,
                a.message_id.is_(None) if was is None else a.message_id == was,
                a.attachment_id.in_(ids),
            )
            .values(message_id=message_id)
        )
        return int(result.rowcount or 0)

    async def get(self, tenant_id: str, attachment_id: str) -> StoredFile | None:
        row = (
            await self._conn.execute(
                select(*_LISTED).where(a.tenant_id == tenant_id, a.attachment_id == attachment_id)
            )
        ).first()
        return self._stored(row._mapping) if row is not None else None

    async def content(self, stored: StoredFile, thumbnail: bool) -> bytes | None:
        """The file, or its thumbnail (None when it has none), opened."""
        column = a.thumbnail_sealed if thumbnail else a.file_sealed
        sealed = (
            await self._conn.execute(
                select(column).where(
                    a.tenant_id == stored.tenant_id, a.attachment_id == stored.attachment_id
                )
            )
        ).scalar_one_or_none()
        if sealed is None:
            return None
        field = "thumbnail" if thumbnail else "file"
        return self._cipher.open(sealed, Place(TABLE, stored.attachment_id, field))

    def _stored(self, m: object) -> StoredFile:
        row = dict(m)  # type: ignore[call-overload]
        return StoredFile(
            tenant_id=row["tenant_id"],
            attachment_id=row["attachment_id"],
            conversation_id=row["conversation_id"],
            message_id=row["message_id"],
            author=row["author"],
            content_type=row["content_type"],
            size=row["size_bytes"],
            name=self._cipher.open_text(
                row["name_sealed"], Place(TABLE, row["attachment_id"], "name")
            ),
            thumbnail_type=row["thumbnail_type"],
            created_at=row["created_at"],
        )


# Every column but the sealed file and thumbnail, which are read only when served.
_LISTED = (
    a.tenant_id,
    a.attachment_id,
    a.conversation_id,
    a.message_id,
    a.author,
    a.content_type,
    a.size_bytes,
    a.name_sealed,
    a.thumbnail_type,
    a.created_at,
)
