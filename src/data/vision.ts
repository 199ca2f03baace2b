// gluon.data.vision: the image datasets, grouped as in MXNet so that user code reads the same.
// Only ImageFolderDataset so far; it lives in image_folder.ts.
export { ImageFolderDataset } from './image_folder.js';
export type { ImageFolderOptions, ImageSample } from './image_folder.js';
/** gluon.data.vision.transforms: Compose, Resize, ToTensor, Normalize, RandomAffine (host-side, on HostArrays). */
export * as transforms from './transforms.js';
