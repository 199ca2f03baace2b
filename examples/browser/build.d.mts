// Types of build.mjs (plain JS so that scripts/demo.mjs runs it with node alone).

export declare const ROOT: string;

export interface PendingEntry {
  modules?: string[];
  twins?: Record<string, string>;
  globals?: ('process' | 'Buffer' | 'setImmediate')[];
  fix: string;
}
export declare const PENDING: Record<string, PendingEntry>;

export interface BuildOptions {
  entry?: string;
  outdir?: string;
  strict?: boolean;
  minify?: boolean;
  aliasIndex?: boolean;
  allowPackages?: string[];
  sourcemap?: boolean | 'linked' | 'inline' | 'external' | 'both';
  logLevel?: 'silent' | 'error' | 'warning' | 'info';
  stubModulesFor?: Record<string, string[]>;
}

export interface BuildResult {
  outdir: string;
  entryFile: string;
  files: { path: string; bytes: number }[];
  /** Bytes of the entry and the chunks it imports statically: what the page loads. */
  bytes: number;
  staticBytes: number;
  standIns: string[];
  lazyNode: string[];
  unusedPending: string[];
  warnings: string[];
}

export declare function buildBrowser(options: BuildOptions & { entry: string; outdir: string }): Promise<BuildResult>;
export declare function buildDemo(options?: BuildOptions): Promise<BuildResult>;
