// The guide's code blocks are one program: this test runs it, so that docs/custom-loss.md
// never shows code that does not work, and checks the numbers the text promises.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function program(markdown: string): string {
  const blocks = [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]);
  const code = blocks.join('\n');
  // Imports first (ESM hoists them anyway); 'webgluon' is this repository.
  const lines = code.split('\n');
  const imports = lines.filter((l) => l.startsWith('import '));
  const body = lines.filter((l) => !l.startsWith('import '));
  return [...imports, ...body].join('\n').replaceAll("from 'webgluon'", "from '../src/index.js'");
}

describe('docs/custom-loss.md', () => {
  it('runs every code block in order, and prints what the text says', () => {
    const file = join('docs', `.run-custom-loss-${process.pid}.ts`);
    writeFileSync(file, program(readFileSync('docs/custom-loss.md', 'utf8')));
    try {
      const res = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', timeout: 240_000 });
      const out = res.stdout + res.stderr;
      expect(res.status, out).toBe(0);
      expect(out).toMatch(/eager: \[ 0\.(49|5)\d*, 0 \]/);
      expect(out).toMatch(/kernels: 1\b/);
      expect(out).toMatch(/loss \d+\.\d+ → \d+\.\d+/);
      expect(out).toMatch(/WEBGLUON_DOUBLE_ACTIVATION/);
      expect(out).toMatch(/output of `sqrt` during forward/);
      expect(out).toMatch(/Forgetful returned shape \(2, 2\)/);
      expect(out).toMatch(/`argmax` has no gradient/);
    } finally {
      rmSync(file, { force: true });
    }
  });
});
