// `npm run demo [-- --port N] [--minify] [--strict]`: builds the browser demo (examples/browser) with
// esbuild and serves it on 127.0.0.1; prints the page's URL. Ctrl-C stops it.
import { buildDemo } from '../examples/browser/build.mjs';
import { serve } from '../examples/browser/serve.mjs';

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const value = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
for (const a of args) {
  if (a.startsWith('--') && !['--port', '--minify', '--strict', '--help'].includes(a)) {
    console.error(`demo: unknown option ${a}`);
    process.exit(2);
  }
}
if (flag('--help')) {
  console.error('usage: npm run demo -- [--port N] [--minify] [--strict]');
  process.exit(0);
}

const built = await buildDemo({ minify: flag('--minify'), strict: flag('--strict') });
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.error(`demo: built ${built.files.length} file(s), ${kib(built.staticBytes)} loaded by the page (${kib(built.bytes)} with lazy chunks) in ${built.outdir}`);
if (built.standIns.length) console.error(`demo: ${built.standIns.length} stand-in(s) for Node code in the shared layers until issue #14's edits land (--strict lists them)`);
const { url } = await serve(built.outdir, { port: Number(value('--port', 0)) });
console.error('demo: open it in a browser with WebGPU (Chrome/Edge; on Linux start Chrome with --enable-unsafe-webgpu --enable-features=Vulkan); Ctrl-C stops the server');
console.log(url);
