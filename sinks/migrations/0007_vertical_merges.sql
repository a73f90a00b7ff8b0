-- The wide tables merge column by column (vertical merges) from the first merge, not only once a
-- merge reaches 131,072 rows: a horizontal merge of ~100 columns holds buffers for all of them at
-- once. Inserting a million distinct examination rows in 5,000-row batches into a fresh warehouse
-- peaked at 925 MB resident with horizontal merges and at 467 MB with vertical ones, as fast.
ALTER TABLE {db}.examinations MODIFY SETTING vertical_merge_algorithm_min_rows_to_activate = 1;
ALTER TABLE {db}.rejects MODIFY SETTING vertical_merge_algorithm_min_rows_to_activate = 1;
ALTER TABLE {db}.snapshot_examinations MODIFY SETTING vertical_merge_algorithm_min_rows_to_activate = 1;
