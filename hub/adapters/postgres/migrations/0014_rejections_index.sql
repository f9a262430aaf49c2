-- The console's dead-letter page reads the rejected notifications, newest first, and groups them
-- by code and hospital: through this partial index it touches only the rejected rows.
CREATE INDEX inbox_rejected ON inbox (updated_at DESC) WHERE status = 'rejected';
