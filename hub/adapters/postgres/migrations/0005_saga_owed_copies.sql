-- A hospital that re-sends a message id while its saga is still waiting for the registry is owed
-- the same result again: the worker queues the result once more per re-send when it answers.
ALTER TABLE registry_sagas ADD COLUMN owed_copies integer NOT NULL DEFAULT 0;
