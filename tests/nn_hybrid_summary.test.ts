// block.summary(...) on the tutorial's Siamese network: every layer with its output shape and
// parameter count, checked against counts computed by hand; also when the network is hybridized
// (summary runs the layers eagerly so that each one shows).
import { describe, expect, it } from 'vitest';
import { Siamese } from '../examples/siamese/model.js';
import { init, nd } from '../src/index.js';

// Conv2D 64@5x5 on 1 channel, Conv2D 64@5x5 on 64, Dense 256 on 64·4·4, Dense 2 on 256 (+ biases).
const CONV0 = 64 * 1 * 5 * 5 + 64; // 1664
const CONV2 = 64 * 64 * 5 * 5 + 64; // 102464
const DENSE4 = 64 * 4 * 4 * 256 + 256; // 262400
const DENSE5 = 256 * 2 + 2; // 514
const TOTAL = CONV0 + CONV2 + DENSE4 + DENSE5; // 367042

function captured(fn: () => string): { text: string; printed: string[] } {
  const printed: string[] = [];
  const orig = console.log;
  console.log = (s: string) => printed.push(s);
  try {
    return { text: fn(), printed };
  } finally {
    console.log = orig;
  }
}

function rowsOf(text: string): Map<string, { shape: string; params: number }> {
  const rows = new Map<string, { shape: string; params: number }>();
  for (const line of text.split('\n')) {
    const m = /^\s*(\S+\(\w+\))\s+(\(.*\)|\[.*\])\s+(\d+)\s*$/.exec(line);
    if (m) rows.set(m[1], { shape: m[2], params: Number(m[3]) });
  }
  return rows;
}

describe('summary', () => {
  for (const hybridized of [false, true]) {
    it(`the Siamese network${hybridized ? ' (hybridized)' : ''}: layers, output shapes and parameter counts by hand`, () => {
      nd.random.seed(3);
      const net = new Siamese();
      net.initialize(new init.Xavier());
      if (hybridized) net.hybridize();
      const x = nd.random.uniform(0, 1, [1, 1, 28, 28]);
      const { text, printed } = captured(() => net.summary(x, x));
      expect(printed).toEqual([text]);
      const rows = rowsOf(text);
      expect([...rows.keys()]).toEqual(['siamese0(Siamese)', 'cnn(HybridSequential)', '0(Conv2D)', '1(MaxPool2D)', '2(Conv2D)', '3(MaxPool2D)', '4(Dense)', '5(Dense)']
        .map((k) => (k.startsWith('siamese') ? [...rows.keys()][0] : k)));
      // both images go through the tower as one batch of 2
      expect(rows.get('0(Conv2D)')).toEqual({ shape: '(2, 64, 24, 24)', params: CONV0 });
      expect(rows.get('1(MaxPool2D)')).toEqual({ shape: '(2, 64, 12, 12)', params: 0 });
      expect(rows.get('2(Conv2D)')).toEqual({ shape: '(2, 64, 8, 8)', params: CONV2 });
      expect(rows.get('3(MaxPool2D)')).toEqual({ shape: '(2, 64, 4, 4)', params: 0 });
      expect(rows.get('4(Dense)')).toEqual({ shape: '(2, 256)', params: DENSE4 });
      expect(rows.get('5(Dense)')).toEqual({ shape: '(2, 2)', params: DENSE5 });
      expect(rows.get('cnn(HybridSequential)')).toEqual({ shape: '(2, 2)', params: 0 });
      expect([...rows.values()][0].shape).toBe('[(1, 2), (1, 2)]');
      expect(text).toContain(`Parameters in total: ${TOTAL}`);
      expect(text).toContain(`Trainable parameters: ${TOTAL}`);
      expect(text).toContain('Non-trainable parameters: 0');
      expect(net.collectParams().count).toBe(TOTAL);
    });
  }
});
