// Builds an op namespace (`nd`, `sym`, the CPU evaluator's) by iterating the registry: each
// function parses its positional arguments, numbers and trailing options into inputs and attrs.
import { forEachOp, getOp, resolveAttrs, type OpDef, type OpSignatures } from './registry.js';
import type { Attrs, AttrValue } from '../base/types.js';

export type ApplyFn<T> = (op: OpDef, inputs: readonly (T | number | null)[], attrs: Attrs) => T;

function isOptions(v: unknown, isValue: (v: unknown) => boolean): v is Record<string, AttrValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isValue(v) && !ArrayBuffer.isView(v);
}

/** Splits a call's arguments into tensor inputs and attributes, following the entry's spec. */
export function parseCall<T>(op: OpDef, args: readonly unknown[], isValue: (v: unknown) => boolean): { inputs: (T | number | null)[]; attrs: Attrs } {
  const rest = [...args];
  const inputs: (T | number | null)[] = [];
  for (const name of op.inputs) {
    if (name.startsWith('...')) {
      const list = rest.shift();
      if (!Array.isArray(list)) throw new TypeError(`webgluon: \`${op.name}\` takes a list of tensors as its first argument`);
      inputs.push(...(list as (T | number)[]));
    } else if (name.endsWith('?')) {
      const v = rest.length && !isOptions(rest[0], isValue) ? rest.shift() : null;
      inputs.push((v ?? null) as T | number | null);
    } else {
      const v = rest.shift();
      if (v === undefined || !(typeof v === 'number' || isValue(v))) {
        throw new TypeError(`webgluon: \`${op.name}\` expects a tensor or number for \`${name}\`, got ${describe(v)}`);
      }
      inputs.push(v as T | number);
    }
  }
  const given: Record<string, AttrValue> = {};
  for (const name of op.args ?? []) {
    if (!rest.length || isOptions(rest[0], isValue)) break;
    given[name] = rest.shift() as AttrValue;
  }
  if (rest.length && isOptions(rest[0], isValue)) Object.assign(given, rest.shift());
  if (rest.length) throw new TypeError(`webgluon: \`${op.name}\` got ${rest.length} unexpected argument(s): ${rest.map(describe).join(', ')}`);
  return { inputs, attrs: resolveAttrs(op, given) };
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array (convert it with nd.array first)';
  return typeof v === 'object' ? (v.constructor?.name ?? 'an object') : `${typeof v} ${String(v)}`;
}

export function buildNamespace<T>(apply: ApplyFn<T>, isValue: (v: unknown) => v is T): OpSignatures<T> {
  const ns: Record<string, (...args: unknown[]) => T> = {};
  forEachOp((op) => {
    ns[op.name] = (...args: unknown[]) => {
      const { inputs, attrs } = parseCall<T>(op, args, isValue);
      return apply(op, inputs, attrs);
    };
  });
  return ns as unknown as OpSignatures<T>;
}

/** Installs every op as a method (`x.add(y)` = `F.add(x, y)`) on a value class. */
export function installMethods(proto: object, ns: OpSignatures<unknown>): void {
  const table = ns as unknown as Record<string, (...args: unknown[]) => unknown>;
  forEachOp((op) => {
    if (op.inputs.length === 0 || op.inputs[0].startsWith('...') || op.name in proto) return;
    Object.defineProperty(proto, op.name, {
      value(this: unknown, ...args: unknown[]) {
        return table[op.name](this, ...args);
      },
      writable: true,
      configurable: true,
    });
  });
}

export { getOp };
