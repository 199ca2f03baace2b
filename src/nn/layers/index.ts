export { Sequential, HybridSequential, Dense, Dropout, Flatten, Activation, BatchNorm } from './basic.js';
export type { ActivationName, DenseOptions, BatchNormOptions } from './basic.js';
export { Conv2D, MaxPool2D, AvgPool2D } from './conv.js';
export type { AvgPool2DOptions, Conv2DOptions, Pool2DOptions } from './conv.js';
