// Reads webgluon's environment variables (WEBGLUON_BACKEND, WEBGLUON_DUMP, …) where a process
// environment exists; in a browser there is none and every variable reads as unset.

export function envVar(name: string): string | undefined {
  const proc = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  return proc?.env?.[name];
}
