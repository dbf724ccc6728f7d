import pg from 'pg';
import type { Database } from '../store/database.js';
import { findKeyByHash, type KeyLookupRow } from '../store/tenants.js';

const CHANNEL = 'clinik_key_changes';
/** A safety net only: changes arrive through NOTIFY well within a second. */
const TTL_MS = 60_000;

/**
 * Keys are looked up once and cached in process. A revocation evicts the key at once on the node
 * that made it and, through PostgreSQL LISTEN/NOTIFY, on every other node within a second.
 */
export class KeyCache {
  private readonly entries = new Map<string, { row: KeyLookupRow | undefined; at: number }>();
  private listener: pg.Client | undefined;
  private reconnecting = false;
  private closed = false;

  constructor(private readonly db: Database, private readonly connectionString: string) {}

  async lookup(keyHash: Buffer): Promise<KeyLookupRow | undefined> {
    const cacheKey = keyHash.toString('hex');
    const cached = this.entries.get(cacheKey);
    if (cached && Date.now() - cached.at < TTL_MS && cached.row) return cached.row;
    const row = await this.db.read((tx) => findKeyByHash(tx, keyHash));
    if (row) this.entries.set(cacheKey, { row, at: Date.now() });
    return row;
  }

  evict(keyHash: Buffer): void {
    this.entries.delete(keyHash.toString('hex'));
  }

  /** Evicts here and tells the other nodes. */
  async announceChange(keyHash: Buffer): Promise<void> {
    this.evict(keyHash);
    await this.db.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, keyHash.toString('hex')]);
  }

  clear(): void {
    this.entries.clear();
  }

  async listen(): Promise<void> {
    const client = new pg.Client({ connectionString: this.connectionString });
    client.on('notification', (message) => {
      if (message.payload === '*') this.clear();
      else if (message.payload) this.entries.delete(message.payload);
    });
    client.on('error', () => this.reconnectSoon());
    client.on('end', () => this.reconnectSoon());
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
  }

  /** Tells every node to drop all cached keys (after a change of plan or limits). */
  async announceClear(): Promise<void> {
    this.clear();
    await this.db.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, '*']);
  }

  private reconnectSoon(): void {
    if (this.closed || this.reconnecting) return;
    this.reconnecting = true;
    this.listener = undefined;
    // Whatever was missed while disconnected could be stale: start from an empty cache.
    this.clear();
    setTimeout(() => {
      this.reconnecting = false;
      if (!this.closed) this.listen().catch(() => this.reconnectSoon());
    }, 500).unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
  }
}
