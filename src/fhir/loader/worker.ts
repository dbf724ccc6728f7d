import { parentPort, workerData } from 'node:worker_threads';
import { loadDefinitions } from '../definitions/index.js';
import { warmUpValidator } from '../validate.js';
import { prepareChunk, type ChunkTask, type LoadContext } from './prepare.js';

/** A loader worker thread: prepares the chunks it is sent, one at a time, in order (pool.ts). */
const ctx = workerData as LoadContext;
loadDefinitions();
warmUpValidator();
parentPort!.on('message', (task: ChunkTask) => {
  try {
    parentPort!.postMessage({ chunk: prepareChunk(ctx, task) });
  } catch (error) {
    // An unexpected failure (a bug, not bad input): the loader stops. The message carries no record content.
    parentPort!.postMessage({ failure: error instanceof Error ? error.message : String(error) });
  }
});
parentPort!.postMessage({ ready: true });
