// Loads every op family so that the registry is complete before anything iterates it.
import './elementwise.js';
import './reduce.js';
import './layout.js';
import './composite.js';
import './random.js';
import './argmax.js';
import './nn_kernels.js';
