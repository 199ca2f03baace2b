// The `gluon` namespace of the browser entry (browser.ts): gluon.ts with gluon.data replaced by its
// browser-safe part (data/browser.ts: no image files, PNG codecs or decode workers).
export * from './gluon_core.js';
export * as data from './data/browser.js';
