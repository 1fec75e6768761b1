import { KnowledgeException } from 'src/modules/knowledge/knowledge.exception';

export type DocumentFormat = 'text' | 'markdown' | 'html';

export interface SourceDocument {
  id: string;
  format: DocumentFormat;
  content: string;
  metadata: Record<string, unknown>;
}

export interface ChunkSettings {
  chunkSize: number;
  chunkOverlap: number;
}

/** At most this many documents in one JSONL upload (each is embedded before the request answers). */
export const MAX_JSONL_DOCUMENTS = 1_000;
const DOCUMENT_ID = /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,255}$/;

/**
 * Splits documents into chunks with LangChain's RecursiveCharacterTextSplitter: it cuts at the largest
 * separator that keeps a chunk under `chunkSize` characters (headings, then paragraphs, lines, words),
 * with `chunkOverlap` characters carried over, and has Markdown-aware separators. HTML is first turned
 * into text (html-to-text: scripts and styles dropped, block structure kept as blank lines).
 */
export async function chunkDocument(document: SourceDocument, settings: ChunkSettings): Promise<string[]> {
  // Loaded on first use: LangChain's splitter brings @langchain/core, about a second of every start-up
  // and tens of MB for a gateway that may never ingest a document.
  const [{ RecursiveCharacterTextSplitter }, { convert }] = await Promise.all([
    import('@langchain/textsplitters'),
    import('html-to-text'),
  ]);
  const options = { chunkSize: settings.chunkSize, chunkOverlap: settings.chunkOverlap };
  let text = document.content;
  if (document.format === 'html') {
    text = convert(text, {
      wordwrap: false,
      selectors: [
        { selector: 'a', options: { ignoreHref: true } },
        { selector: 'img', format: 'skip' },
      ],
    });
  }
  const splitter =
    document.format === 'markdown'
      ? RecursiveCharacterTextSplitter.fromLanguage('markdown', options)
      : new RecursiveCharacterTextSplitter(options);
  const chunks = await splitter.splitText(text);
  return chunks.map((chunk) => chunk.trim()).filter((chunk) => chunk.length > 0);
}

/**
 * A JSONL upload: one document per line, `{"id", "text" | "content", "format"?, "metadata"?}`. Blank
 * lines are skipped; the first bad line is named in the error, and nothing is ingested.
 */
export function parseJsonlDocuments(text: string, defaultFormat: DocumentFormat): SourceDocument[] {
  const documents: SourceDocument[] = [];
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index].trim();
    if (line.length === 0) continue;
    const where = `JSONL line ${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw KnowledgeException.invalid(`${where} is not valid JSON.`, 'content');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw KnowledgeException.invalid(`${where} must be a JSON object.`, 'content');
    }
    const raw = value as Record<string, unknown>;
    const content = raw.text ?? raw.content;
    const format = raw.format ?? defaultFormat;
    if (typeof content !== 'string' || content.length === 0) {
      throw KnowledgeException.invalid(`${where}: 'text' must be a non-empty string.`, 'content');
    }
    if (format !== 'text' && format !== 'markdown' && format !== 'html') {
      throw KnowledgeException.invalid(`${where}: 'format' must be text, markdown or html.`, 'content');
    }
    const metadata = raw.metadata ?? {};
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
      throw KnowledgeException.invalid(`${where}: 'metadata' must be an object.`, 'content');
    }
    documents.push({
      id: checkDocumentId(raw.id, where),
      format,
      content,
      metadata: metadata as Record<string, unknown>,
    });
    if (documents.length > MAX_JSONL_DOCUMENTS) {
      throw KnowledgeException.invalid(
        `At most ${MAX_JSONL_DOCUMENTS} documents per JSONL upload.`,
        'content',
      );
    }
  }
  if (documents.length === 0)
    throw KnowledgeException.invalid('The JSONL upload has no documents.', 'content');
  const ids = new Set<string>();
  for (const document of documents) {
    if (ids.has(document.id)) {
      throw KnowledgeException.invalid(
        `Document id '${document.id}' appears twice in the upload.`,
        'content',
      );
    }
    ids.add(document.id);
  }
  return documents;
}

export function checkDocumentId(value: unknown, where: string): string {
  if (typeof value !== 'string' || !DOCUMENT_ID.test(value)) {
    throw KnowledgeException.invalid(
      `${where}: 'id' must be 1-256 characters: letters, digits and . _ : / - (starting with a letter or digit).`,
      'id',
    );
  }
  return value;
}
