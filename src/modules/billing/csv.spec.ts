import { csvField, csvLine } from 'src/modules/billing/csv';

describe('csv', () => {
  it('leaves plain values alone and writes numbers as they are', () => {
    expect(csvLine(['team-a', 12, 0.0012345, null, true])).toBe('team-a,12,0.0012345,,true\r\n');
  });

  it('quotes commas, quotes and line breaks, doubling quotes', () => {
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' padded ')).toBe('" padded "');
  });

  it('neutralises text a spreadsheet would run as a formula', () => {
    expect(csvField('=HYPERLINK("http://evil","x")')).toBe('"\'=HYPERLINK(""http://evil"",""x"")"');
    expect(csvField('+1')).toBe('"\'+1"');
    expect(csvField('@SUM(A1)')).toBe('"\'@SUM(A1)"');
    expect(csvField('\t=1')).toBe('"\'\t=1"');
    expect(csvField(-3)).toBe('-3');
  });

  it('neutralises formulas behind leading spaces and after a separator a spreadsheet may split on', () => {
    expect(csvField(' =1+1')).toBe('"\' =1+1"');
    expect(csvField('  @cmd')).toBe('"\'  @cmd"');
    expect(csvField('team;=cmd|calc')).toBe('"\'team;=cmd|calc"');
    expect(csvField('a, +1')).toBe('"\'a, +1"');
    expect(csvField('a|@x')).toBe('"\'a|@x"');
    // Ordinary names with hyphens or separators not followed by a formula character stay as they were.
    expect(csvField('team-a;b')).toBe('team-a;b');
    expect(csvField('key 1')).toBe('key 1');
  });
});
