import http from 'node:http';

/**
 * The load generator, run as a separate process so that it has a core of its own: keeps
 * `connections` keep-alive requests in flight for `seconds` and reports throughput and latency.
 */
export interface LoadSpec {
  port: number;
  method: string;
  /** Paths cycled through, e.g. reads of different ids. */
  paths: string[];
  headers: Record<string, string>;
  body?: string;
  connections: number;
  seconds: number;
}

export interface LoadResult { requests: number; perSecond: number; p50: number; p95: number; p99: number; errors: number }

async function run(spec: LoadSpec): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
  const latencies: number[] = [];
  let errors = 0;
  let next = 0;
  const deadline = performance.now() + spec.seconds * 1000;
  const once = () =>
    new Promise<void>((resolve) => {
      const started = performance.now();
      const request = http.request({ port: spec.port, host: '127.0.0.1', method: spec.method, path: spec.paths[next++ % spec.paths.length], headers: spec.headers, agent }, (response) => {
        response.resume();
        response.on('end', () => {
          if (response.statusCode! >= 300) errors++;
          latencies.push(performance.now() - started);
          resolve();
        });
      });
      request.on('error', () => {
        errors++;
        resolve();
      });
      request.end(spec.body);
    });
  const loop = async () => {
    while (performance.now() < deadline) await once();
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: spec.connections }, loop));
  const elapsed = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { requests: latencies.length, perSecond: latencies.length / elapsed, p50: at(0.5), p95: at(0.95), p99: at(0.99), errors };
}

// Run as `node --import tsx bench/load.ts '<spec json>'`: prints the result as JSON.
if (process.argv[2]) process.stdout.write(JSON.stringify(await run(JSON.parse(process.argv[2]) as LoadSpec)));
