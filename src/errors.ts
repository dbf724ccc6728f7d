/**
 * Every error the API answers with is an ApiError carrying one of the documented codes. It is
 * mapped to a response in one place (http/error-handler.ts): the `{error, message, code,
 * requestId, issues}` body on the simplified API, an OperationOutcome on the FHIR API.
 *
 * PHI rule: messages and issue diagnostics name fields and constraints, never submitted values.
 */
export type ErrorCode =
  | 'UNAUTHORIZED'
  | 'INVALID_KEY_FORMAT'
  | 'INVALID_KEY'
  | 'KEY_REVOKED'
  | 'KEY_EXPIRED'
  | 'FORBIDDEN'
  | 'VALIDATION_ERROR'
  | 'INVALID_JSON'
  | 'INVALID_REQUEST'
  | 'METHOD_OVERRIDE_REJECTED'
  | 'RATE_LIMITED'
  | 'NOT_FOUND'
  | 'GONE'
  | 'METHOD_NOT_ALLOWED'
  | 'CONFLICT'
  | 'PAYLOAD_TOO_LARGE'
  | 'HEADERS_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'NOT_IMPLEMENTED'
  | 'INTERNAL_ERROR';

export interface Issue {
  severity: 'error' | 'warning' | 'information';
  /** A FHIR IssueType code: invalid, required, value, structure, not-found, … */
  code: string;
  diagnostics: string;
  /** The FHIRPath of the offending element, where known. */
  expression?: string[];
}

interface CodeInfo { status: number; title: string; fhirIssue: string }

export const ERROR_CODES: Record<ErrorCode, CodeInfo> = {
  UNAUTHORIZED: { status: 401, title: 'Unauthorized', fhirIssue: 'login' },
  INVALID_KEY_FORMAT: { status: 401, title: 'Unauthorized', fhirIssue: 'login' },
  INVALID_KEY: { status: 401, title: 'Unauthorized', fhirIssue: 'login' },
  KEY_REVOKED: { status: 401, title: 'Unauthorized', fhirIssue: 'login' },
  KEY_EXPIRED: { status: 401, title: 'Unauthorized', fhirIssue: 'login' },
  FORBIDDEN: { status: 403, title: 'Forbidden', fhirIssue: 'forbidden' },
  VALIDATION_ERROR: { status: 422, title: 'Validation Error', fhirIssue: 'invalid' },
  INVALID_JSON: { status: 400, title: 'Bad Request', fhirIssue: 'structure' },
  INVALID_REQUEST: { status: 400, title: 'Bad Request', fhirIssue: 'invalid' },
  METHOD_OVERRIDE_REJECTED: { status: 400, title: 'Bad Request', fhirIssue: 'security' },
  RATE_LIMITED: { status: 429, title: 'Too Many Requests', fhirIssue: 'throttled' },
  NOT_FOUND: { status: 404, title: 'Not Found', fhirIssue: 'not-found' },
  GONE: { status: 410, title: 'Gone', fhirIssue: 'deleted' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method Not Allowed', fhirIssue: 'not-supported' },
  CONFLICT: { status: 409, title: 'Conflict', fhirIssue: 'conflict' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Payload Too Large', fhirIssue: 'too-long' },
  HEADERS_TOO_LARGE: { status: 431, title: 'Request Header Fields Too Large', fhirIssue: 'too-long' },
  REQUEST_TIMEOUT: { status: 408, title: 'Request Timeout', fhirIssue: 'timeout' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Unsupported Media Type', fhirIssue: 'not-supported' },
  NOT_IMPLEMENTED: { status: 501, title: 'Not Implemented', fhirIssue: 'not-supported' },
  INTERNAL_ERROR: { status: 500, title: 'Internal Server Error', fhirIssue: 'exception' },
};

export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly issues: Issue[] = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = ERROR_CODES[code].status;
  }
}

export const notFound = (what = 'Resource') => new ApiError('NOT_FOUND', `${what} not found`);

export function validationError(issues: Issue[]): ApiError {
  return new ApiError('VALIDATION_ERROR', 'Request body failed validation', issues);
}

export function invalidIssue(path: string, constraint: string, code = 'invalid'): Issue {
  return { severity: 'error', code, diagnostics: `${path}: ${constraint}`, expression: [path] };
}
