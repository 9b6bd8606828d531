"""Files: ids of photos and documents, getFile and what ``/file/bot<token>/<path>`` serves.

Deliberate simplification: uploaded file contents are not kept: only photos injected with
``user_message(photo_bytes=...)`` (or given bytes with ``serve_file``) can be downloaded
(getFile, then ``/file/bot<token>/<file_path>``; other files answer 404).
"""

from __future__ import annotations

from typing import Any

from bot.testing.fake_bot_api.dispatch import _api
from bot.testing.fake_bot_api.errors import _bad
from bot.testing.fake_bot_api.state import FakeState

# Sizes of a photo without real bytes: (file_id suffix, file_size, width, height).
_PHOTO_SIZES = (("-s", 1_200, 90, 67), ("-m", 14_000, 320, 240), ("-x", 62_000, 800, 600))


class FilesMixin(FakeState):
    """File records, photo sizes and downloads, and the getFile method."""

    def file_content(self, file_path: str) -> bytes | None:
        """What ``/file/bot<token>/<file_path>`` serves: None (a 404) for a path getFile never
        gave out or a file whose bytes the fake does not have."""
        file_id = next((key for key, path in self._file_paths.items() if path == file_path), None)
        return self._file_contents.get(file_id) if file_id is not None else None

    def serve_file(self, file_id: str, content: bytes) -> None:
        """Give a file the fake knows (e.g. a photo size from an observed update) the bytes its
        download serves; without them getFile works but the download answers 404."""
        if file_id not in self._files:
            raise KeyError(f"unknown file_id {file_id!r}")
        self._file_contents[file_id] = content

    def register_upload(self, filename: str | None, size: int = 0) -> str:
        """Store an uploaded file (its name and size only) and return its new file_id."""
        file_id = self._new_file("document")
        self._files[file_id].update({"file_name": filename or "file", "file_size": size})
        return file_id

    def _new_file(self, kind: str) -> str:
        number = next(self._ids)
        prefix = {"photo": "AgACAgIAAxkBAAI", "document": "BQACAgIAAxkBAAI"}[kind]
        file_id = f"{prefix}{number:08d}"
        self._files[file_id] = {"file_id": file_id, "file_unique_id": f"AQAD{number:08d}"}
        return file_id

    def _keep_photo(self, file_id: str, content: bytes) -> None:
        """Give a photo real sizes: a JPEG per Telegram size box below the picture, and
        ``content`` itself as the largest.  Bytes Pillow can't read serve every size as given."""
        from bot.testing.images import photo_sizes  # Pillow: only when a test brings a picture

        try:
            versions = photo_sizes(content)
        except ValueError:
            versions = [(suffix[1:], width, height, content) for suffix, _, width, height in _PHOTO_SIZES]
        unique = self._files[file_id]["file_unique_id"]
        sizes = []
        for letter, width, height, data in versions:
            size_id = f"{file_id}-{letter}"
            self._file_contents[size_id] = data
            sizes.append({"file_id": size_id, "file_unique_id": f"{unique}-{letter}",
                          "file_size": len(data), "width": width, "height": height})
        self._files[file_id]["photo_sizes"] = sizes

    def _file_record(self, file_id: str) -> dict[str, Any] | None:
        """The File fields (without file_path) of a document, a photo or one size of a photo."""
        if not file_id.startswith("AgAC"):
            record = self._files.get(file_id)
            fields = ("file_id", "file_unique_id", "file_size")
            return {key: record[key] for key in fields if record.get(key)} if record else None
        # A photo reaches the bot only as its sizes ("<photo id>-x"); the photo's own id is the fake's.
        photo_id = file_id.rpartition("-")[0]
        sizes = self._photo_sizes(photo_id) if photo_id in self._files else []
        size = next((size for size in sizes if size["file_id"] == file_id), None)
        if size is None:
            return None
        return {"file_id": file_id, "file_unique_id": size["file_unique_id"], "file_size": size["file_size"]}

    def _photo_sizes(self, file_id: str) -> list[dict[str, Any]]:
        if sizes := self._files.get(file_id, {}).get("photo_sizes"):
            return list(sizes)
        unique = self._files.get(file_id, {}).get("file_unique_id", f"AQAD{file_id[-8:]}")
        return [
            {"file_id": f"{file_id}{suffix}", "file_unique_id": f"{unique}{suffix}",
             "file_size": size, "width": width, "height": height}
            for suffix, size, width, height in _PHOTO_SIZES
        ]

    # ------------------------------------------------------------------ methods: files

    @_api("getFile")
    def _get_file(self, params: dict[str, Any]) -> dict[str, Any]:
        file_id = params.get("file_id")
        record = self._file_record(file_id) if isinstance(file_id, str) and file_id else None
        if record is None:
            raise _bad("invalid file_id")
        if file_id not in self._file_paths:  # Telegram numbers a bot's file paths from 0
            if file_id.startswith("AgAC") or self._files.get(file_id, {}).get("kind") == "photo":
                path = f"photos/file_{len(self._file_paths)}.jpg"
            else:
                name = str(self._files[file_id].get("file_name", ""))
                extension = name.rpartition(".")[2] if "." in name else ""
                path = f"documents/file_{len(self._file_paths)}" + (f".{extension}" if extension else "")
            self._file_paths[file_id] = path
        return {**record, "file_path": self._file_paths[file_id]}
