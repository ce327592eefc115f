"""The person serving store: every person's record kept keyed by global id, for one-person reads.

The warehouse is laid out for scans (Parquet files partitioned by institution); finding one
person there means reading every table's files. The serving store is the same rows laid out
for lookups: four tables clustered on ``person_id`` (SQLite ``WITHOUT ROWID`` tables whose
primary key starts with it; PostgreSQL tables ``CLUSTER``-ed on that key), so a person's rows
sit together and one index range scan per table reads them (see docs/person.md for the
measurements that chose this).

It is rebuilt whole, never patched, and swapped in atomically, so a reader sees the old store
or the new one and a crash mid-build leaves the old one in place:

* SQLite: written to ``<file>.building-<token>`` (with journaling off, safe because the file
  is not live), fsynced, then ``os.replace``-d over the store file. Readers notice the new
  file (its inode changes) and reopen.
* PostgreSQL: written into schema ``person_serving_new_<token>``; one transaction drops
  ``person_serving`` and renames the new schema to it (PostgreSQL DDL is transactional).

Leftovers of a killed build (a ``.building-`` file, a ``person_serving_new_`` schema) are
removed by the next build.
"""

from medlake.person.store.build import StoreReport, drop_serving_store, refresh_serving_store
from medlake.person.store.layout import SCHEMA, TABLES, StoreError, store_url
from medlake.person.store.reader import PersonStore, forget_store, open_store
from medlake.person.store.writers import StoreWriter

__all__ = [
    "SCHEMA",
    "TABLES",
    "PersonStore",
    "StoreError",
    "StoreReport",
    "StoreWriter",
    "drop_serving_store",
    "forget_store",
    "open_store",
    "refresh_serving_store",
    "store_url",
]
