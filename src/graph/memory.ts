// Memory planning: every value a kernel writes gets a place — a graph input's storage (never
// written), a fresh output storage (returned to the caller each call), or an intermediate slot
// reused by liveness: a slot is free again once the last kernel reading it has run, and a value
// takes the smallest free slot that holds it, else grows the largest free one. Views share their
// input's place.
import type { FusionGroup } from './fuse.js';
import { Graph, Node } from './ir.js';
import { getOp } from './registry.js';
import { sizeOf } from '../base/types.js';
import { quarterPowerClass } from '../base/size_class.js';

export type Place = { kind: 'input'; index: number } | { kind: 'output'; index: number } | { kind: 'slot'; index: number };

export interface Slot {
  /** Elements (4 bytes each), in size classes of a quarter of a power of two (see sizeClassOf). */
  size: number;
}

export interface MemoryPlan {
  /** Where each stored node (inputs, group outputs, views) lives. */
  places: Map<Node, Place>;
  slots: Slot[];
  /** Bytes of intermediate slots, and what they would be without reuse. */
  slotBytes: number;
  naiveBytes: number;
}

/** The node whose buffer a view (chain) aliases. */
export function storageRoot(n: Node): Node {
  let m = n;
  while (!m.isLeaf && getOp(m.op).kind === 'view') m = m.inputs[0];
  return m;
}

/**
 * Elements in the runtime buffer pool's classes (at least 64 = 256 bytes), so that a slot's buffer
 * has no slack beyond the pool's 25%. Slots used to be whole powers of two, which made the Siamese
 * step's 80 MiB gradient a 128 MiB slot.
 */
export function sizeClassOf(n: number): number {
  return quarterPowerClass(n, 64);
}

/** `reuse: false` gives every value its own slot (anomaly detection reads them all after the plan). */
export function planMemory(graph: Graph, groups: readonly FusionGroup[], opts: { reuse?: boolean } = {}): MemoryPlan {
  const reuse = opts.reuse ?? true;
  const places = new Map<Node, Place>();
  graph.inputs.forEach((n, i) => places.set(n, { kind: 'input', index: i }));
  graph.outputs.forEach((n, i) => {
    const root = storageRoot(n);
    if (places.has(root)) throw new Error(`webgluon internal: output ${i} (%${n.id}) is not a computed value of its own`);
    // An output that is a view is stored by writing its root into the output buffer.
    places.set(root, { kind: 'output', index: i });
    places.set(n, { kind: 'output', index: i });
  });
  // Last group reading each root.
  const lastUse = new Map<Node, number>();
  groups.forEach((g, k) => {
    const inside = new Set(g.nodes);
    for (const m of g.nodes) for (const i of m.inputs) if (!inside.has(i) && !i.isScalarConstant) lastUse.set(storageRoot(i), k);
  });
  const slots: Slot[] = [];
  const free: number[] = [];
  const holder = new Map<number, Node>();
  let naive = 0;
  groups.forEach((g, k) => {
    for (const o of g.outputs) {
      if (places.has(o)) continue;
      const need = sizeClassOf(sizeOf(o.shape));
      naive += need * 4;
      // Best fit among free slots at least as large; else the largest free slot, grown (its
      // buffer is made after planning, so growing costs the difference, not a second buffer).
      let best = -1;
      for (const s of free) if (slots[s].size >= need && (best < 0 || slots[s].size < slots[best].size)) best = s;
      if (best < 0) for (const s of free) if (best < 0 || slots[s].size > slots[best].size) best = s;
      if (best >= 0) {
        free.splice(free.indexOf(best), 1);
        slots[best].size = Math.max(slots[best].size, need);
      } else {
        best = slots.length;
        slots.push({ size: need });
      }
      places.set(o, { kind: 'slot', index: best });
      holder.set(best, o);
    }
    // Slots whose value has been read for the last time (or never) are free after this group.
    if (!reuse) return;
    for (const [s, node] of holder) {
      const last = lastUse.get(node) ?? -1;
      if (last <= k) {
        holder.delete(s);
        free.push(s);
      }
    }
  });
  // Views take their root's place.
  for (const n of graph.nodes) {
    if (places.has(n) || n.isLeaf || getOp(n.op).kind !== 'view') continue;
    const root = storageRoot(n);
    const p = places.get(root);
    if (p) places.set(n, p);
  }
  const slotBytes = slots.reduce((b, s) => b + s.size * 4, 0);
  return { places, slots, slotBytes, naiveBytes: naive };
}
