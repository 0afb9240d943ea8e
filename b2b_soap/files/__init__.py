"""The virtual file store: receipt of uploads (parts, checksum, encryption at rest), the one
reader of stored content, and the durable processing queue."""
from .content import open_content, read_content
from .queue import Claim, claim_next, enqueue, finish, give_back
from .rejection import reject
from .receipt import COMPRESSIONS, DATA_TYPES, FileStore, Receipt, UploadHeader, Uploader

__all__ = ["COMPRESSIONS", "DATA_TYPES", "Claim", "FileStore", "Receipt", "UploadHeader", "Uploader", "claim_next",
           "enqueue", "finish", "give_back", "open_content", "read_content", "reject"]
