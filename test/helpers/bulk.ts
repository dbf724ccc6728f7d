import type { Response, TestApp } from './app.js';

/** Polls GET /v1/bulk/jobs/{id} until `until` holds for the job (default: it finished), or fails after `timeoutMs`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function waitForJob(t: TestApp, key: string, jobId: string, until: (job: any) => boolean = (job) => !['pending', 'processing'].includes(job.status), timeoutMs = 30_000): Promise<any> {
  const started = Date.now();
  for (;;) {
    const response = await t.request('GET', `/v1/bulk/jobs/${jobId}`, { key });
    if (response.status !== 200) throw new Error(`job poll answered ${response.status}: ${response.body}`);
    if (until(response.json.data)) return response.json.data;
    if (Date.now() - started > timeoutMs) throw new Error(`job ${jobId} still ${response.json.data.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** NDJSON of `records`, one JSON object per line. */
export function ndjson(records: unknown[]): string {
  return records.map((record) => JSON.stringify(record)).join('\n');
}

/** Downloads a signed URL through the app (no API key), as a client given the link would. */
export async function download(t: TestApp, url: string): Promise<Response> {
  const { pathname, search } = new URL(url);
  return t.request('GET', `${pathname}${search}`);
}

export function lines(body: string): unknown[] {
  return body.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line));
}
