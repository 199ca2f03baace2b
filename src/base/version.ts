// The package's version, as package.json states it; tests/version.test.ts keeps the two equal.
// A constant rather than reading package.json: importing the JSON would make the build copy
// package.json into dist/ (rootDir is the repository) and needs import attributes; reading it
// with fs at run time depends on where the module sits (src/… under tsx, dist/src/… when built,
// one bundle file under esbuild) and on a file system, which a browser bundle has not.
export const VERSION = '0.1.0';
