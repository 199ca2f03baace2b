// Worker-thread entry of the DataLoader's DecodePool (decode_pool.ts): reads and decodes PNG files
// by path and sends the pixels back as a transferred buffer, so decoding never blocks the main thread.
import { parentPort } from 'node:worker_threads';
import type { ImageFlag, ImageLimits } from './png.js';
import { readPng } from './png.js';

export interface DecodeRequest {
  id: number;
  path: string;
  flag: ImageFlag;
  /** The dataset's file size, pixel and read-time limits; readPng's defaults where absent. */
  limits?: ImageLimits;
}

export type DecodeReply =
  | { type: 'ready' }
  | { type: 'decoded'; id: number; data: Uint8Array; shape: number[] }
  | { type: 'failed'; id: number; message: string };

function reply(message: DecodeReply, transfer: ArrayBuffer[] = []): void {
  parentPort?.postMessage(message, transfer);
}

if (parentPort) {
  parentPort.on('message', (request: DecodeRequest) => {
    readPng(request.path, request.flag, request.limits).then(
      (image) => {
        // decodePng allocates a fresh Uint8Array per image, so its whole buffer can be moved, not copied.
        const data = image.data as Uint8Array;
        reply({ type: 'decoded', id: request.id, data, shape: image.shape }, [data.buffer as ArrayBuffer]);
      },
      (error: unknown) => reply({ type: 'failed', id: request.id, message: error instanceof Error ? error.message : String(error) }),
    );
  });
  reply({ type: 'ready' });
}
