import { readScoringBatchSettings } from 'src/config/extensions/scoring-batch.config';

describe('readScoringBatchSettings', () => {
  it('is absent when not set', () => {
    expect(readScoringBatchSettings(undefined)).toEqual({ problems: [] });
  });

  it('defaults the concurrency to 4', () => {
    expect(readScoringBatchSettings({ max_rows_per_call: 100 })).toEqual({
      settings: { maxRowsPerCall: 100, concurrency: 4 },
      problems: [],
    });
    expect(readScoringBatchSettings({ max_rows_per_call: 5, concurrency: 2 }).settings).toEqual({
      maxRowsPerCall: 5,
      concurrency: 2,
    });
  });

  it('names every bad key', () => {
    expect(readScoringBatchSettings({ max_rows_per_call: 0, concurrency: 100, rows: 1 }).problems).toEqual([
      "'gatehouse.batch' has unknown key(s): rows.",
      "'gatehouse.batch.max_rows_per_call' must be a positive integer (rows per scoring call).",
      "'gatehouse.batch.concurrency' must be an integer from 1 to 64 (default 4).",
    ]);
    expect(readScoringBatchSettings([1]).problems).toEqual([
      "'gatehouse.batch' must be a mapping with 'max_rows_per_call'.",
    ]);
    expect(readScoringBatchSettings({ max_rows_per_call: 2.5 }).settings).toBeUndefined();
  });
});
