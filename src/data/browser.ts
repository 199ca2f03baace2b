// gluon.data of the browser entry: index.ts's datasets, host arrays and DataLoader, without what
// needs files, PNG codecs or worker threads (ImageFolderDataset, readPng, the glyph files, plots);
// the built-in glyph data set comes from memory instead (glyph_images.ts).
export { Dataset, ArrayDataset } from './dataset.js';
export type { Column, ArrayItem, TransformArgs, FirstOf, ReplaceFirst } from './dataset.js';
export { DataLoader } from './dataloader.js';
export type { Batch, DataLoaderOptions } from './dataloader.js';
export { stackSamples } from './batchify.js';
export type { HostBatch } from './batchify.js';
export type { LastBatch } from './sampler.js';
export { HostArray } from './host_array.js';
export type { HostDType, HostData, NestedNumbers } from './host_array.js';
export { GlyphImages, GlyphDataset, GLYPH_DEFAULTS, GLYPH_HELD_OUT_ALPHABETS } from './glyph_images.js';
export type { GlyphImagesOptions } from './glyph_images.js';
export { toChw } from './resample.js';
