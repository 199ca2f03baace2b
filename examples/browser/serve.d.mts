// Types of serve.mjs.
export declare function serve(dir: string, options?: { port?: number; host?: string }): Promise<{ url: string; close(): Promise<void> }>;
