// WEBGLUON_DUMP=dir: writes each compiled plan's IR before and after every pass, its fusion
// groups, its memory plan and each WGSL shader, one folder per plan. graphSummary() counts ops.
// Node's fs comes from process.getBuiltinModule when a dump is asked for, not from an import, so
// that the graph layer loads in a browser (which has no WEBGLUON_DUMP: envVar reads it as unset).
import { envVar } from '../base/env.js';
import type { FusionGroup } from './fuse.js';
import { Graph, printGraph } from './ir.js';
import { formatShape } from '../base/types.js';

export interface GraphSummary {
  nodes: number;
  inputs: number;
  outputs: number;
  /** Computed nodes per op name. */
  ops: Record<string, number>;
  /** One line: `12 nodes (3 in, 1 out): 4 mul, 2 add, …`. */
  line: string;
}

export function graphSummary(graph: Graph): GraphSummary {
  const ops: Record<string, number> = {};
  for (const n of graph.nodes) if (!n.isLeaf) ops[n.op] = (ops[n.op] ?? 0) + 1;
  const parts = Object.entries(ops).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${v} ${k}`);
  const computed = Object.values(ops).reduce((a, b) => a + b, 0);
  return { nodes: computed, inputs: graph.inputs.length, outputs: graph.outputs.length, ops,
    line: `${computed} nodes (${graph.inputs.length} in, ${graph.outputs.length} out): ${parts.join(', ')}` };
}

export function formatGroups(groups: readonly FusionGroup[]): string {
  return groups.map((g, k) => {
    const nodes = g.nodes.map((n) => `    %${n.id} = ${n.op}(${n.inputs.map((i) => (i.isScalarConstant ? String(i.value) : `%${i.id}`)).join(', ')}) ${formatShape(n.shape)}`);
    return `group ${k} [${g.kind}] writes ${g.outputs.map((o) => `%${o.id}`).join(', ')}\n${nodes.join('\n')}`;
  }).join('\n\n');
}

let planCounter = 0;

interface DumpFs {
  mkdirSync(dir: string, opts: { recursive: true }): unknown;
  writeFileSync(path: string, text: string): void;
}
let warnedNoFs = false;

/** node:fs where this is Node 20.16 or later (process.getBuiltinModule); null elsewhere. */
function dumpFs(): DumpFs | null {
  const get = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  return get ? (get('node:fs') as DumpFs) : null;
}

/** A writer for one plan's dump folder, or null when WEBGLUON_DUMP is unset. */
export function dumper(name: string): ((file: string, text: string) => void) | null {
  const root = envVar('WEBGLUON_DUMP');
  if (!root) return null;
  const fs = dumpFs();
  if (!fs) {
    if (!warnedNoFs) console.warn('webgluon: WEBGLUON_DUMP needs Node 20.16 or later (process.getBuiltinModule); nothing is dumped');
    warnedNoFs = true;
    return null;
  }
  const dir = `${root.replace(/[\\/]+$/, '')}/${String(planCounter++).padStart(3, '0')}_${name.replace(/[^A-Za-z0-9_.-]+/g, '_')}`;
  fs.mkdirSync(dir, { recursive: true });
  return (file, text) => fs.writeFileSync(`${dir}/${file}`, text.endsWith('\n') ? text : `${text}\n`);
}

export function dumpGraph(write: ((file: string, text: string) => void) | null, file: string, graph: Graph): void {
  write?.(file, `# ${graphSummary(graph).line}\n${printGraph(graph)}`);
}
