// Node only: WebGPU adapters from Dawn's Node bindings (npm `webgpu`), installed as the runtime's
// adapter provider by the package's Node entry. Dawn's GPU* globals are never put on globalThis.
import { lstatSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from 'webgpu';
import { setAdapterProvider, type AdapterProvider } from './device.js';

/**
 * Every Dawn instance made. Dawn destroys an instance when its JS object is collected, even while
 * its device is in use (use-after-free crashes on lavapipe), and a lost device's buffers live on
 * in old tensors: so no instance is ever let go.
 */
const instances: GPU[] = [];

export const DAWN_HELP = `no WebGPU adapter found. On Debian/Ubuntu install Mesa's Vulkan driver:
  bash scripts/setup.sh        (or: sudo apt-get install mesa-vulkan-drivers; on bookworm add
                                bookworm-backports and install it with -t bookworm-backports)
and make sure XDG_RUNTIME_DIR is set. Set WEBGLUON_BACKEND=cpu to use the CPU reference silently.`;

export const dawnProvider: AdapterProvider = {
  name: 'Dawn',
  async requestAdapter() {
    ensureRuntimeDir();
    const gpu = create([]);
    instances.push(gpu);
    return gpu.requestAdapter({ powerPreference: 'high-performance' });
  },
  help: DAWN_HELP,
};

/**
 * Mesa's lavapipe needs XDG_RUNTIME_DIR (without it Dawn crashed in event processing whenever a
 * kernel was still running). When it is unset we make a private one: the predictable path is used
 * only if it is a real folder of ours that nobody else can enter, else a fresh one is made.
 */
export function ensureRuntimeDir(): string {
  const given = process.env.XDG_RUNTIME_DIR;
  if (given) return given;
  const uid = process.getuid?.();
  const dir = join(tmpdir(), `webgluon-xdg-${uid ?? 'user'}`);
  let chosen = dir;
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const st = lstatSync(dir);
    const trusted = st.isDirectory() && !st.isSymbolicLink() && (uid === undefined || st.uid === uid) && (st.mode & 0o077) === 0;
    if (!trusted) {
      chosen = mkdtempSync(join(tmpdir(), 'webgluon-xdg-'));
      console.warn(`webgluon: ${dir} is not a private folder of this user (a link, another owner, or open to others); ` +
        `using ${chosen} as XDG_RUNTIME_DIR instead`);
    }
  }
  process.env.XDG_RUNTIME_DIR = chosen;
  return chosen;
}

setAdapterProvider(dawnProvider);
