// Tests import internal modules directly, without the package entry: this does the entry's
// Node wiring (Dawn as the device source, the GPU-memory collector) for every test file.
import '../src/node.js';
