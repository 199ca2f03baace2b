// The public gluon.data surface: datasets, the DataLoader, host arrays and PNG files.
// The root index re-exports it as `gluon.data`.
export { Dataset, ArrayDataset } from './dataset.js';
export type { Column, ArrayItem, TransformArgs, FirstOf, ReplaceFirst } from './dataset.js';
export { DataLoader } from './dataloader.js';
export type { Batch, DataLoaderOptions } from './dataloader.js';
export { stackSamples } from './batchify.js';
export type { HostBatch } from './batchify.js';
export type { LastBatch } from './sampler.js';
export { HostArray } from './host_array.js';
export type { HostDType, HostData, NestedNumbers } from './host_array.js';
export { DEFAULT_IMAGE_LIMITS, decodePng, encodePng, readPng } from './png.js';
export type { ImageFlag, ImageLimits } from './png.js';
export { ImageFolderDataset } from './image_folder.js';
export type { ImageFolderOptions, ImageSample } from './image_folder.js';
/** gluon.data.vision, as in MXNet: `new data.vision.ImageFolderDataset(root, { flag: 0 })`. */
export * as vision from './vision.js';
export { builtinDataset, generateGlyphDataset } from './glyphs.js';
export { makeOneshotRuns, readOneshotRuns } from './oneshot_runs.js';
export { plotLossCurve, plotImagePairs } from './plot.js';
export type { Transform, AffineParams, RandomAffineOptions, Interpolation, ResizeInterpolation } from './transforms.js';
