// WebGPU's flag constants, as the specification numbers them. Browsers define GPUBufferUsage and
// friends as globals, Dawn's Node bindings export them; the runtime uses its own copy so that it
// needs neither, and importing webgluon puts nothing on globalThis (a test checks them against Dawn's).

export const BufferUsage = {
  MAP_READ: 0x0001,
  MAP_WRITE: 0x0002,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  STORAGE: 0x0080,
} as const;

export const MapMode = { READ: 0x0001, WRITE: 0x0002 } as const;

export const ShaderStage = { COMPUTE: 0x0004 } as const;
