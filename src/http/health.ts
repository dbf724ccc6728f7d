import type { FastifyInstance } from 'fastify';
import type { Database } from '../store/database.js';

/** GET /health: no key, unwrapped; 503 when the store does not answer within a second. */
export function registerHealthRoute(app: FastifyInstance, db: Database): void {
  app.get('/health', { config: { surface: 'public' } }, async (_request, reply) => {
    const timestamp = new Date().toISOString();
    let timer: NodeJS.Timeout | undefined;
    const healthy = await Promise.race([
      db.ping().then(() => true, () => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(resolve, 1000, false).unref();
      }),
    ]).finally(() => clearTimeout(timer));
    return reply.code(healthy ? 200 : 503).send(healthy ? { status: 'ok', timestamp } : { status: 'unavailable', timestamp });
  });
}
