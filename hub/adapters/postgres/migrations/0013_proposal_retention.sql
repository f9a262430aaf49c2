-- Retention of correction proposals (issue #11): a decided proposal's `changes` (the proposed names
-- and place of birth: personal data) are emptied to '{}' once the retention period has passed since
-- its decision, as the other bodies are (0009); the row stays, so who proposed and decided what,
-- when, and why survive. An open proposal keeps its changes until it is decided.
ALTER TABLE correction_proposals ADD COLUMN purged_at timestamptz;
CREATE INDEX correction_proposals_purgeable ON correction_proposals (decided_at)
    WHERE purged_at IS NULL AND status <> 'open';
