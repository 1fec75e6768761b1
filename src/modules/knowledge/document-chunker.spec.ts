import { chunkDocument, parseJsonlDocuments } from 'src/modules/knowledge/document-chunker';

describe('chunkDocument', () => {
  const settings = { chunkSize: 120, chunkOverlap: 0 };

  it('splits Markdown at headings before paragraphs, each chunk within the size', async () => {
    const content = `# Refunds\n\n${'Refunds take five days. '.repeat(3)}\n\n## Exceptions\n\nGift cards are final.\n\n# Shipping\n\nWe ship worldwide.`;
    const chunks = await chunkDocument({ id: 'd', format: 'markdown', content, metadata: {} }, settings);
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(chunks.every((c) => c.length <= 120)).toBe(true);
    expect(chunks.some((c) => c.startsWith('## Exceptions'))).toBe(true);
    expect(chunks.join('\n')).toContain('We ship worldwide.');
  });

  it('turns HTML into text: no tags, scripts or styles', async () => {
    const content =
      '<html><head><style>p{color:red}</style></head><body><h2>Reset</h2><p>Choose <a href="/x">Forgot password</a>.</p><script>evil()</script></body></html>';
    const chunks = await chunkDocument({ id: 'd', format: 'html', content, metadata: {} }, settings);
    const text = chunks.join('\n');
    expect(text).toContain('Forgot password');
    expect(text).not.toMatch(/<|evil|color:red|\/x/);
  });

  it('carries the overlap between neighbouring chunks of plain text', async () => {
    const words = Array.from({ length: 60 }, (_, i) => `w${i}`).join(' ');
    const chunks = await chunkDocument(
      { id: 'd', format: 'text', content: words, metadata: {} },
      { chunkSize: 100, chunkOverlap: 20 },
    );
    expect(chunks.length).toBeGreaterThan(2);
    const lastOfFirst = chunks[0].split(' ').pop()!;
    expect(chunks[1].split(' ')).toContain(lastOfFirst);
  });
});

describe('parseJsonlDocuments', () => {
  it('reads one document per line with defaults, skipping blank lines', () => {
    const docs = parseJsonlDocuments(
      '{"id":"a","text":"alpha"}\n\n{"id":"b","content":"<p>b</p>","format":"html","metadata":{"k":1}}\n',
      'text',
    );
    expect(docs).toEqual([
      { id: 'a', format: 'text', content: 'alpha', metadata: {} },
      { id: 'b', format: 'html', content: '<p>b</p>', metadata: { k: 1 } },
    ]);
  });

  it.each([
    ['{"id":"a","text":"x"}\nnot json', 'JSONL line 2 is not valid JSON'],
    ['[1]', 'JSONL line 1 must be a JSON object'],
    ['{"id":"a"}', "JSONL line 1: 'text' must be a non-empty string"],
    ['{"id":"a","text":"x","format":"pdf"}', "'format' must be text, markdown or html"],
    ['{"id":"../x y","text":"x"}', "'id' must be 1-256 characters"],
    ['{"id":"a","text":"x"}\n{"id":"a","text":"y"}', "Document id 'a' appears twice"],
    ['\n\n', 'has no documents'],
  ])('refuses %j naming the problem', (text, message) => {
    expect(() => parseJsonlDocuments(text, 'text')).toThrow(message);
  });
});
