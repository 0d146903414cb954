"""Copying rows between two PostgreSQL servers: the plan (which tables, in which order, how), the streaming copy in
checkpointed chunks, and the checksum pass that proves what arrived.

``catalog`` reads what each side holds; ``copying`` moves the rows over two dedicated connections (binary COPY out
of a REPEATABLE READ snapshot, into the target one committed chunk at a time, each chunk with its checkpoint).
"""
