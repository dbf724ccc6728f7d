import { Worker } from 'node:worker_threads';
import type { ChunkTask, LoadContext, PreparedChunk } from './prepare.js';

type Reply = { ready: true } | { chunk: PreparedChunk } | { failure: string };
interface Pending { resolve(chunk: PreparedChunk): void; reject(error: Error): void }

/**
 * Worker threads that prepare chunks (prepare.ts). Each worker answers its messages in order, so
 * a FIFO of pending promises per worker pairs answers with requests. A worker that dies fails
 * everything it had pending: the loader stops rather than lose records silently.
 */
export class PreparePool {
  private readonly queues: Pending[][];

  private constructor(private readonly workers: Worker[]) {
    this.queues = workers.map(() => []);
    workers.forEach((worker, i) => {
      worker.on('message', (reply: Reply) => {
        if ('ready' in reply) return;
        const pending = this.queues[i].shift()!;
        if ('chunk' in reply) pending.resolve(reply.chunk);
        else pending.reject(new Error(`A loader worker failed: ${reply.failure}`));
      });
      const failAll = (error: Error) => this.queues[i].splice(0).forEach((pending) => pending.reject(error));
      worker.on('error', failAll);
      worker.on('exit', (code) => failAll(new Error(`A loader worker exited (code ${code})`)));
    });
  }

  /** Starts `size` workers and waits until each has loaded the definitions and compiled the validator. */
  static async start(ctx: LoadContext, size: number): Promise<PreparePool> {
    const workers = Array.from({ length: size }, () => spawn(ctx));
    try {
      await Promise.all(workers.map((worker) => new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      })));
    } catch (error) {
      await Promise.all(workers.map((worker) => worker.terminate()));
      throw error;
    }
    return new PreparePool(workers);
  }

  prepare(task: ChunkTask): Promise<PreparedChunk> {
    // The least busy worker; ties go to the first, which keeps small loads on few threads.
    let target = 0;
    for (let i = 1; i < this.queues.length; i++) if (this.queues[i].length < this.queues[target].length) target = i;
    return new Promise((resolve, reject) => {
      this.queues[target].push({ resolve, reject });
      this.workers[target].postMessage(task);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}

/**
 * The CLI runs TypeScript through tsx's register() API (bin/clinikapi.js), which worker threads
 * do not inherit: each worker registers tsx itself before importing its module.
 */
function spawn(ctx: LoadContext): Worker {
  const moduleUrl = new URL('./worker.ts', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(moduleUrl)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: ctx });
}
