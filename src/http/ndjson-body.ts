import { ApiError, invalidIssue, validationError } from '../errors.js';

/**
 * A streaming reader for `{"resourceType": …, "data": "<NDJSON>", …}` request bodies (bulk
 * import). It walks the JSON object byte by byte as it arrives and decodes the `data` string's
 * escapes on the fly, yielding each NDJSON line as soon as its newline is decoded: the payload is
 * never held whole, neither as the body nor as the decoded string. Only the current line is
 * buffered, up to `maxRecordBytes`; a longer line is yielded as `null` and its bytes dropped.
 *
 * Errors are ApiErrors: malformed JSON → 400 INVALID_JSON; a wrong shape (unknown or repeated
 * field, non-string value, too many records) → 422 VALIDATION_ERROR; a body or `data` over its
 * byte limit → 413 PAYLOAD_TOO_LARGE.
 */

export interface NdjsonBodyOptions {
  /** The field holding the NDJSON string. */
  dataField: string;
  /** The other accepted fields (short strings). */
  stringFields: string[];
  maxBodyBytes: number;
  maxDataBytes: number;
  maxRecords: number;
  maxRecordBytes: number;
}

export type NdjsonBodyEvent =
  | { kind: 'field'; name: string; value: string }
  /** A non-blank line of `data`, in order; null when it was longer than maxRecordBytes. */
  | { kind: 'record'; line: string | null }
  | { kind: 'end'; fields: Record<string, string>; records: number; hasData: boolean };

const MAX_FIELD_BYTES = 256;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const enum State { Start, KeyOrEnd, Key, Colon, Value, String, Data, Comma, End }
const enum Escape { None, Backslash, Unicode }

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const invalidJson = (message = 'Request body is not valid JSON') => new ApiError('INVALID_JSON', message);

export async function* ndjsonBody(stream: AsyncIterable<Buffer | string>, options: NdjsonBodyOptions): AsyncGenerator<NdjsonBodyEvent> {
  const fields: Record<string, string> = {};
  let state = State.Start;
  let bodyBytes = 0;
  let dataBytes = 0;
  let records = 0;
  let hasData = false;
  let key = '';
  // A key or short string value, raw (escapes undecoded) until its closing quote.
  let raw: number[] = [];
  let rawEscaped = false;
  // The current line of data, decoded.
  let line = Buffer.allocUnsafe(64 * 1024);
  let lineLength = 0;
  let lineTooLong = false;
  let escape: Escape = Escape.None;
  let hex = 0;
  let hexDigits = 0;
  let highSurrogate = 0;

  const append = (bytes: number[] | Buffer) => {
    dataBytes += bytes.length;
    if (dataBytes > options.maxDataBytes) {
      throw new ApiError('PAYLOAD_TOO_LARGE', `data: at most ${options.maxDataBytes} bytes per request`);
    }
    if (lineTooLong) return;
    if (lineLength + bytes.length > options.maxRecordBytes) {
      lineTooLong = true;
      return;
    }
    if (lineLength + bytes.length > line.length) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(line.length * 2, lineLength + bytes.length), options.maxRecordBytes));
      line.copy(grown, 0, 0, lineLength);
      line = grown;
    }
    for (let i = 0; i < bytes.length; i++) line[lineLength++] = bytes[i];
  };
  const appendCodeUnit = (unit: number) => {
    if (highSurrogate) {
      const high = highSurrogate;
      highSurrogate = 0;
      if (unit >= 0xdc00 && unit <= 0xdfff) {
        append(Buffer.from(String.fromCharCode(high, unit), 'utf8'));
        return;
      }
      append(Buffer.from('\ufffd', 'utf8'));
    }
    if (unit >= 0xd800 && unit <= 0xdbff) highSurrogate = unit;
    else append(Buffer.from(String.fromCharCode(unit), 'utf8'));
  };
  /** Ends the current line: returns it as a record event, or undefined for a blank line. */
  const endLine = (): NdjsonBodyEvent | undefined => {
    if (highSurrogate) {
      highSurrogate = 0;
      append(Buffer.from('\ufffd', 'utf8'));
    }
    const tooLong = lineTooLong;
    const bytes = line.subarray(0, lineLength);
    lineLength = 0;
    lineTooLong = false;
    let text: string | null = null;
    if (!tooLong) {
      try {
        text = utf8.decode(bytes);
      } catch {
        throw invalidJson('Request body is not valid UTF-8');
      }
      if (text.trim() === '') return undefined;
    }
    if (++records > options.maxRecords) {
      throw validationError([invalidIssue(options.dataField, `At most ${options.maxRecords} records per request`)]);
    }
    return { kind: 'record', line: text };
  };

  for await (const piece of stream) {
    const chunk = typeof piece === 'string' ? Buffer.from(piece, 'utf8') : piece;
    bodyBytes += chunk.length;
    if (bodyBytes > options.maxBodyBytes) throw new ApiError('PAYLOAD_TOO_LARGE', `Request body is too large (at most ${options.maxBodyBytes} bytes)`);
    const pending: NdjsonBodyEvent[] = [];
    let runStart = -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      switch (state) {
        case State.Start:
          if (isSpace(c)) break;
          if (c !== 0x7b) throw '[{"-0123456789tfn'.includes(String.fromCharCode(c)) ? validationError([invalidIssue('body', 'Expected object')]) : invalidJson();
          state = State.KeyOrEnd;
          break;
        case State.KeyOrEnd:
          if (isSpace(c)) break;
          if (c === 0x7d && Object.keys(fields).length === 0 && !hasData) {
            state = State.End;
            break;
          }
          if (c !== 0x22) throw invalidJson();
          raw = [];
          rawEscaped = false;
          state = State.Key;
          break;
        case State.Key:
        case State.String:
          if (c < 0x20) throw invalidJson();
          if (c === 0x22 && !rawEscaped) {
            const value = decodeRaw(raw);
            if (state === State.Key) {
              key = value;
              state = State.Colon;
            } else {
              fields[key] = value;
              pending.push({ kind: 'field', name: key, value });
              state = State.Comma;
            }
            break;
          }
          rawEscaped = !rawEscaped && c === 0x5c;
          raw.push(c);
          if (raw.length > MAX_FIELD_BYTES) throw validationError([invalidIssue(state === State.Key ? 'body' : key, `At most ${MAX_FIELD_BYTES} characters`)]);
          break;
        case State.Colon:
          if (isSpace(c)) break;
          if (c !== 0x3a) throw invalidJson();
          if (key in fields || (key === options.dataField && hasData)) throw validationError([invalidIssue(key, 'Given more than once')]);
          if (key !== options.dataField && !options.stringFields.includes(key)) throw validationError([invalidIssue(key, 'Unrecognized field')]);
          state = State.Value;
          break;
        case State.Value:
          if (isSpace(c)) break;
          if (c !== 0x22) throw validationError([invalidIssue(key, 'Expected string')]);
          if (key === options.dataField) {
            hasData = true;
            state = State.Data;
            runStart = i + 1;
          } else {
            raw = [];
            rawEscaped = false;
            state = State.String;
          }
          break;
        case State.Data:
          if (escape === Escape.None) {
            if (c !== 0x5c && c !== 0x22) {
              if (c < 0x20) throw invalidJson();
              if (runStart < 0) runStart = i;
              break;
            }
            // Copy the plain run before the backslash or the closing quote in one go.
            if (runStart >= 0 && runStart < i) append(chunk.subarray(runStart, i));
            runStart = -1;
            if (c === 0x5c) {
              escape = Escape.Backslash;
              break;
            }
            const last = endLine();
            if (last) pending.push(last);
            state = State.Comma;
            break;
          }
          if (escape === Escape.Backslash) {
            escape = Escape.None;
            switch (c) {
              case 0x6e: { // \n ends a line
                const event = endLine();
                if (event) pending.push(event);
                break;
              }
              case 0x22: case 0x5c: case 0x2f: append([c]); break;
              case 0x62: append([0x08]); break;
              case 0x66: append([0x0c]); break;
              case 0x72: append([0x0d]); break;
              case 0x74: append([0x09]); break;
              case 0x75: escape = Escape.Unicode; hex = 0; hexDigits = 0; break;
              default: throw invalidJson();
            }
            break;
          }
          {
            const digit = hexValue(c);
            if (digit < 0) throw invalidJson();
            hex = hex * 16 + digit;
            if (++hexDigits < 4) break;
            escape = Escape.None;
            if (hex === 0) throw invalidJson('Request body contains a NUL character');
            if (hex === 0x0a) {
              const event = endLine();
              if (event) pending.push(event);
            } else appendCodeUnit(hex);
          }
          break;
        case State.Comma:
          if (isSpace(c)) break;
          if (c === 0x2c) state = State.KeyOrEnd;
          else if (c === 0x7d) state = State.End;
          else throw invalidJson();
          break;
        case State.End:
          if (!isSpace(c)) throw invalidJson();
          break;
      }
    }
    if (state === State.Data && escape === Escape.None && runStart >= 0 && runStart < chunk.length) append(chunk.subarray(runStart));
    yield* pending;
  }
  if (bodyBytes === 0) throw invalidJson('Request body is empty');
  if ((state as State) !== State.End) throw invalidJson();
  yield { kind: 'end', fields, records, hasData };
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** A short JSON string's raw bytes, escapes included, as its value. */
function decodeRaw(raw: number[]): string {
  try {
    return JSON.parse(`"${utf8.decode(Buffer.from(raw))}"`) as string;
  } catch {
    throw invalidJson();
  }
}
