"""The lake's layers, in the order data flows through them."""

from __future__ import annotations

from enum import StrEnum


class Layer(StrEnum):
    RAW = "raw"
    INTEGRATED = "integrated"
    WAREHOUSE = "warehouse"
    MARTS = "marts"


#: Fixed names of the raw layer's tables.
RAW_RESOURCES = "resources"
QUARANTINE = "quarantine"
