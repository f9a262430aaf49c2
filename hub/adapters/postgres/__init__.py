"""PostgreSQL: the unit of work, inbox, outbox, review queue and the embedded civil registry."""
