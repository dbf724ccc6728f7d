import type pg from 'pg';
import type { Tx } from './database.js';

/**
 * `COPY` through pg's submittable protocol: pg has no COPY API of its own, and these are the two
 * parts of pg-copy-streams this server needs, for data that fits in memory a batch at a time.
 */

/** Lines per CopyData message: large enough to amortise the framing, small enough to bound the buffers. */
const LINES_PER_MESSAGE = 256;

/** `COPY … FROM STDIN` of ready lines (text format): the operator loader, and the benchmark's raw-COPY baseline. */
export function copyText(tx: Tx, statement: string, lines: string[]): Promise<void> {
  return runCopy(tx, statement, {
    handleCopyInResponse(connection: CopyConnection) {
      for (let i = 0; i < lines.length; i += LINES_PER_MESSAGE) connection.sendCopyFromChunk(Buffer.from(lines.slice(i, i + LINES_PER_MESSAGE).join('')));
      connection.endCopyFrom();
    },
  });
}

/**
 * `COPY (SELECT one_column …) TO STDOUT (FORMAT binary)`: the column's values as Buffers, never
 * decoded into strings. A download of export chunks passes through the node this way without
 * making JavaScript strings of megabytes of NDJSON, which V8 promotes and collects late (the
 * export's heap peak, docs/bulk.md), and without decoding and re-encoding UTF-8.
 */
export async function copyOutColumn(tx: Tx, statement: string): Promise<Buffer[]> {
  const messages: Buffer[] = [];
  await runCopy(tx, statement, {
    // The message is a view of the driver's read buffer, which is reused: keep a copy.
    handleCopyData(message: { chunk: Buffer }) {
      messages.push(Buffer.from(message.chunk));
    },
  });
  return binaryColumn(Buffer.concat(messages));
}

/** The 11-byte signature, then the flags and header-extension length fields (PostgreSQL's COPY binary format). */
const BINARY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const BINARY_HEADER_LENGTH = BINARY_SIGNATURE.length + 8;

/** The values of a one-column binary COPY stream: per tuple, a 16-bit field count (−1 ends), a 32-bit length, the bytes. */
export function binaryColumn(data: Buffer): Buffer[] {
  if (data.length < BINARY_HEADER_LENGTH + 2 || !data.subarray(0, BINARY_SIGNATURE.length).equals(BINARY_SIGNATURE)) throw new Error('not a binary COPY stream');
  const values: Buffer[] = [];
  let at = BINARY_HEADER_LENGTH + data.readUInt32BE(BINARY_HEADER_LENGTH - 4);
  for (;;) {
    const fields = data.readInt16BE(at);
    at += 2;
    if (fields === -1) return values;
    if (fields !== 1) throw new Error(`binary COPY: expected one column, got ${fields}`);
    const length = data.readInt32BE(at);
    at += 4;
    if (length < 0) throw new Error('binary COPY: NULL value');
    values.push(data.subarray(at, at + length));
    at += length;
  }
}

interface CopyConnection {
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/** Runs a COPY statement on the transaction's connection, with the handlers of its direction. */
function runCopy(tx: Tx, statement: string, handlers: Record<string, (...args: never[]) => void>): Promise<void> {
  const client: pg.PoolClient = tx.raw;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      if (error) reject(error);
      else resolve();
    };
    let failure: Error | undefined;
    const submittable = {
      submit(connection: CopyConnection) {
        connection.query(statement);
      },
      handleCopyInResponse() {},
      handleCopyOutResponse() {},
      handleCopyData() {},
      handleCommandComplete() {},
      handleDataRow() {},
      handleRowDescription() {},
      handleEmptyQuery() {},
      ...handlers,
      // The server answers an error with ReadyForQuery next; a broken connection does not, so settle now.
      handleError(error: Error) {
        failure = error;
        settle(error);
      },
      handleReadyForQuery() {
        settle(failure);
      },
    };
    (client as unknown as { query(submittable: unknown): void }).query(submittable);
  });
}
