from typing import Any


def ensure_reference_data(sender: Any, **kwargs: Any) -> None:
    from .services import reference_data_sync

    reference_data_sync()
