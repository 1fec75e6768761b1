import { describeKnowledgeBases } from 'test/e2e/knowledge/knowledge-bases.cases';

describeKnowledgeBases({
  label: 'embedded PGlite + pgvector',
  start: () => Promise.resolve({ options: { embedded: true }, close: () => Promise.resolve() }),
  vectorVersion: /^0\.8\./,
  rebuildsIndexOnBulkUpload: true,
});
