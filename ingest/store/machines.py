"""Which machine a row belongs to: this store's own name, and claiming the rows stored before rows had one."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .store import Store


def default_machine() -> str:
    """This machine's name when the caller gives none: $TOKENTOP_MACHINE, else the host name."""
    from ..machine_names import clean_machine_name, local_host_name
    value = os.environ.get("TOKENTOP_MACHINE", "").strip()
    return clean_machine_name(value) if value else local_host_name()


def claim_unnamed_rows(store: Store) -> None:
    """Rows stored before machines had names (machine = '', migration 6) are this machine's: name them, once."""
    if store.meta("machine_claimed") is not None:
        return
    with store.transaction():
        for table in ("requests", "rollups", "tool_rollups"):
            store.db.execute(f"UPDATE {table} SET machine = ? WHERE machine = ''", (store.machine,))
        store.set_meta("machine_claimed", store.machine)
