#!/usr/bin/env python3
"""wal_pages.py: which tables and indexes a running kessaid's commits write.

    python3 bench/wal_pages.py DIR

DIR holds kessai.db and kessai.db-wal (a `kessai bench charges` run keeps
them in /var/tmp/kessai-bench-*; run this while it charges).  Both files are
copied first, then every frame of the copied WAL is mapped to the B-tree that
owns its page (SQLite's dbstat table, read from the copy, WAL included), and
the frames are counted per B-tree and per commit.  Pages that changed owner
since a frame was written are counted under their owner at copy time, which
is close enough for a WAL that is seconds old.

A random key (an idempotency key, a code hash, a customer's row) writes a
page of its own in each commit; a key that grows (a rowid, a time) shares the
last page with the other inserts of the commit.  This tells which is which.
Read-only: the running database is not touched.
"""
import collections
import os
import shutil
import sqlite3
import struct
import sys
import tempfile


def frames(wal_path):
    """(page number, is-commit) of every frame of the WAL file."""
    with open(wal_path, 'rb') as f:
        wal = f.read()
    if len(wal) < 32:
        return 0, []
    page_size = struct.unpack('>I', wal[8:12])[0]
    out, off = [], 32
    while off + 24 + page_size <= len(wal):
        page, db_size = struct.unpack('>II', wal[off:off + 8])
        out.append((page, db_size != 0))
        off += 24 + page_size
    return page_size, out


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: wal_pages.py DIR  (a directory with kessai.db and kessai.db-wal)')
    src = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, 'kessai.db')
        # The WAL first: a checkpoint between the two copies then only
        # means pages the WAL also has.
        shutil.copyfile(os.path.join(src, 'kessai.db-wal'), db + '-wal')
        shutil.copyfile(os.path.join(src, 'kessai.db'), db)
        page_size, fr = frames(db + '-wal')
        owner = dict((p, name) for name, p in sqlite3.connect(db).execute('SELECT name, pageno FROM dbstat'))
    commits = max(1, sum(1 for _, c in fr if c))
    count = collections.Counter(owner.get(p, '(free or new)') for p, _ in fr)
    print('page size %d, %d frames, %d commits, %.1f frames a commit' %
          (page_size, len(fr), commits, len(fr) / commits))
    for name, n in count.most_common():
        print('%-36s %6.1f %%  %7.1f a commit' % (name, 100.0 * n / max(1, len(fr)), n / commits))


if __name__ == '__main__':
    main()
