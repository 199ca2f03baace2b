#!/usr/bin/env node
// The package's `webgluon-siamese` command: the Siamese example's command line (cli.ts) run from
// the installed package with plain node. `npx tsx examples/siamese/cli.ts` runs the same from source.
import { main } from './cli.js';

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 1;
});
