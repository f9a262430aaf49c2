-- The console's dashboard reads the answers decided today (inbox.updated_at within one day), on
-- every page load: without this index that is a scan of the whole inbox.
CREATE INDEX inbox_updated_at ON inbox (updated_at);
