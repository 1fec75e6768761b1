// js-tiktoken publishes these entry points through package.json "exports", which the project's
// CommonJS module resolution does not read for types; the shapes below are the package's own.
declare module 'js-tiktoken/lite' {
  export { Tiktoken } from 'js-tiktoken';
}

declare module 'js-tiktoken/ranks/o200k_base' {
  import type { TiktokenBPE } from 'js-tiktoken';
  const ranks: TiktokenBPE;
  export default ranks;
}

declare module 'js-tiktoken/ranks/cl100k_base' {
  import type { TiktokenBPE } from 'js-tiktoken';
  const ranks: TiktokenBPE;
  export default ranks;
}
