/**
 * AWS Signature Version 4 verification, as S3 performs it: the Authorization
 * header form and the presigned query form, with S3's canonicalisation (the
 * path is not normalised and is encoded once), temporary-credential checks
 * (session token, expiry), clock-skew and presign-lifetime checks, and the
 * chunk and trailer signatures of signed aws-chunked bodies.
 *
 * Everything here is synchronous and pure except the credential lookup, so it
 * can be checked against the published AWS examples and the SDK's own signer.
 */

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

import type { S3Credentials } from './handler.ts';
import { s3Errors, type S3Error } from './s3-error.ts';

/** The only signing algorithm accepted. */
export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
/** `x-amz-content-sha256` value: the body is not covered by the signature. */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
/** `x-amz-content-sha256` value: aws-chunked body, unsigned, with a trailer. */
export const STREAMING_UNSIGNED_PAYLOAD_TRAILER =
  'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
/** `x-amz-content-sha256` value: aws-chunked body with signed chunks. */
export const STREAMING_SIGNED_PAYLOAD = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
/** `x-amz-content-sha256` value: signed chunks and a signed trailer. */
export const STREAMING_SIGNED_PAYLOAD_TRAILER =
  'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
/** Hex SHA-256 of the empty string. */
export const EMPTY_SHA256 =
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Largest difference S3 allows between a header-signed request and now. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** Longest lifetime of a presigned URL (seven days). */
export const MAX_PRESIGN_SECONDS = 7 * 24 * 60 * 60;

const SERVICE = 's3';
const TERMINATOR = 'aws4_request';

/** The parts of an HTTP request that a signature covers, as received. */
export interface SignableRequest {
  method: string;
  /** The path exactly as sent on the wire (percent-encoded), from '/'. */
  rawPath: string;
  /** The query string exactly as sent, without the '?'. */
  rawQuery: string;
  /** Every value of every header, by lower-case name. */
  headers: Record<string, string[] | undefined>;
}

/** What a successful verification establishes about the request. */
export interface VerifiedAuth {
  kind: 'header' | 'query';
  accessKeyId: string;
  credentials: S3Credentials;
  /** The signing time, ISO 8601 basic format (`20130524T000000Z`). */
  amzDate: string;
  /** The credential scope, `date/region/s3/aws4_request`. */
  scope: string;
  /** The derived signing key, for chunk and trailer signatures. */
  signingKey: Buffer;
  /** The request signature: the seed signature of a signed chunked body. */
  signature: string;
  /**
   * The `x-amz-content-sha256` value the signature covers: a lower-case hex
   * digest, UNSIGNED-PAYLOAD, or one of the STREAMING-* values.
   */
  payloadHash: string;
}

/** Inputs of verifyRequestSignature besides the request itself. */
export interface VerifyOptions {
  lookupCredentials(accessKeyId: string): S3Credentials | undefined;
  now: Date;
  /** The region signatures must be scoped to, e.g. 'us-east-1'. */
  region: string;
}

/**
 * verifyRequestSignature checks the SigV4 signature of `request` (header or
 * presigned query form) and returns what it proves, or throws the S3Error that
 * S3 sends for the first problem found (AccessDenied for an unsigned request).
 * The body is not read: a hex payload hash is compared later, by the caller.
 */
export function verifyRequestSignature(
  request: SignableRequest,
  options: VerifyOptions,
): VerifiedAuth {
  const authorization = singleHeader(request.headers, 'authorization');
  const query = parseQuery(request.rawQuery);
  const isPresigned = query.some(([name]) => name === 'X-Amz-Algorithm');

  if (authorization !== undefined && isPresigned) {
    throw s3Errors.invalidArgument(
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      'Authorization',
      authorization,
    );
  }
  if (authorization !== undefined) {
    return verifyHeaderAuth(request, authorization, query, options);
  }
  if (isPresigned) {
    return verifyQueryAuth(request, query, options);
  }
  throw s3Errors.accessDenied();
}

interface ParsedCredential {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  terminator: string;
}

function parseCredential(value: string): ParsedCredential | undefined {
  const parts = value.split('/');
  if (parts.length !== 5 || parts.some((part) => part === '')) {
    return undefined;
  }
  const [accessKeyId, date, region, service, terminator] = parts;
  return { accessKeyId, date, region, service, terminator };
}

function verifyHeaderAuth(
  request: SignableRequest,
  authorization: string,
  query: Array<[string, string]>,
  options: VerifyOptions,
): VerifiedAuth {
  const malformed = (message: string, details?: Record<string, string>) =>
    s3Errors.authorizationHeaderMalformed(message, details);
  const space = authorization.indexOf(' ');
  const algorithm =
    space === -1 ? authorization : authorization.slice(0, space);
  if (algorithm !== SIGV4_ALGORITHM) {
    if (algorithm === 'AWS' || algorithm === 'AWS4-ECDSA-P256-SHA256') {
      throw s3Errors.invalidRequest(
        'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
      );
    }
    throw s3Errors.invalidArgument(
      `Unsupported Authorization Type`,
      'Authorization',
      authorization,
    );
  }
  const fields = new Map<string, string>();
  for (const piece of authorization.slice(space + 1).split(',')) {
    const eq = piece.indexOf('=');
    if (eq === -1) {
      throw malformed(
        `The authorization header is malformed; the authorization component "${piece.trim()}" is malformed.`,
      );
    }
    fields.set(piece.slice(0, eq).trim(), piece.slice(eq + 1).trim());
  }
  const credentialText = fields.get('Credential');
  const signedHeadersText = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!credentialText || !signedHeadersText || !signature) {
    throw malformed(
      'The authorization header is malformed; it must name Credential, SignedHeaders and Signature.',
    );
  }
  const credential = parseCredential(credentialText);
  if (!credential) {
    throw malformed(
      `The authorization header is malformed; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
    );
  }

  const amzDate = requestDate(request.headers);
  if (credential.date !== amzDate.slice(0, 8)) {
    throw malformed(
      `The authorization header is malformed; Invalid credential date "${credential.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  checkScope(credential, options.region, malformed, 'authorization header');

  const credentials = lookup(credential.accessKeyId, options);
  checkSessionToken(
    credentials,
    singleHeader(request.headers, 'x-amz-security-token'),
    credential.accessKeyId,
  );
  checkNotExpired(credentials, options.now);
  checkSkew(amzDate, options.now);

  const signedHeaders = splitSignedHeaders(signedHeadersText);
  if (!signedHeaders.includes('host')) {
    throw malformed(
      'The authorization header is malformed; the host header must be signed.',
    );
  }
  checkAmzHeadersSigned(request.headers, signedHeaders);

  const payloadHash = singleHeader(request.headers, 'x-amz-content-sha256');
  if (payloadHash === undefined) {
    throw s3Errors.invalidRequest(
      'Missing required header for this request: x-amz-content-sha256',
    );
  }
  checkPayloadHashValue(payloadHash);

  const scope = credentialScope(credential);
  const signingKey = deriveSigningKey(
    credentials.secretAccessKey,
    credential.date,
    credential.region,
    credential.service,
  );
  checkSignature({
    request,
    query,
    excludeFromQuery: undefined,
    signedHeaders,
    signedHeadersText,
    payloadHash,
    amzDate,
    scope,
    signingKey,
    provided: signature,
    accessKeyId: credential.accessKeyId,
  });

  return {
    kind: 'header',
    accessKeyId: credential.accessKeyId,
    credentials,
    amzDate,
    scope,
    signingKey,
    signature: signature.toLowerCase(),
    payloadHash: isHexSha256(payloadHash)
      ? payloadHash.toLowerCase()
      : payloadHash,
  };
}

function verifyQueryAuth(
  request: SignableRequest,
  query: Array<[string, string]>,
  options: VerifyOptions,
): VerifiedAuth {
  const queryError = (message: string, details?: Record<string, string>) =>
    s3Errors.authorizationQueryParametersError(message, details);
  const param = (name: string): string | undefined => {
    const values = query.filter(([key]) => key === name);
    if (values.length > 1) {
      throw queryError(`Query parameter ${name} is given more than once.`);
    }
    return values[0]?.[1];
  };
  const algorithm = param('X-Amz-Algorithm');
  if (algorithm !== SIGV4_ALGORITHM) {
    throw queryError('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  }
  const credentialText = param('X-Amz-Credential');
  const amzDate = param('X-Amz-Date');
  const expiresText = param('X-Amz-Expires');
  const signedHeadersText = param('X-Amz-SignedHeaders');
  const signature = param('X-Amz-Signature');
  if (
    !credentialText ||
    !amzDate ||
    !expiresText ||
    !signedHeadersText ||
    !signature
  ) {
    throw queryError(
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  const credential = parseCredential(credentialText);
  if (!credential) {
    throw queryError(
      `Error parsing the X-Amz-Credential parameter; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`,
    );
  }
  if (!isBasicTimestamp(amzDate)) {
    throw queryError(
      `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`,
    );
  }
  if (!/^\d{1,7}$/.test(expiresText)) {
    throw queryError('X-Amz-Expires should be a number');
  }
  const expiresSeconds = Number(expiresText);
  if (expiresSeconds < 1) {
    throw queryError('X-Amz-Expires must be non-negative');
  }
  if (expiresSeconds > MAX_PRESIGN_SECONDS) {
    throw queryError(
      'X-Amz-Expires must be less than a week (in seconds) that is 604800',
    );
  }
  if (credential.date !== amzDate.slice(0, 8)) {
    throw queryError(
      `Invalid credential date "${credential.date}". This date is not the same as X-Amz-Date: "${amzDate.slice(0, 8)}".`,
    );
  }
  checkScope(
    credential,
    options.region,
    queryError,
    'X-Amz-Credential parameter',
  );

  const credentials = lookup(credential.accessKeyId, options);
  checkSessionToken(
    credentials,
    param('X-Amz-Security-Token'),
    credential.accessKeyId,
  );
  checkNotExpired(credentials, options.now);

  const signedAt = parseBasicTimestamp(amzDate);
  const nowMs = options.now.getTime();
  if (signedAt - nowMs > MAX_CLOCK_SKEW_MS) {
    throw s3Errors.accessDenied('Request is not valid yet', {
      'X-Amz-Date': amzDate,
      ServerTime: options.now.toISOString(),
    });
  }
  const expiresAt = signedAt + expiresSeconds * 1000;
  if (nowMs > expiresAt) {
    throw s3Errors.accessDenied('Request has expired', {
      'X-Amz-Expires': expiresText,
      Expires: new Date(expiresAt).toISOString(),
      ServerTime: options.now.toISOString(),
    });
  }

  const signedHeaders = splitSignedHeaders(signedHeadersText);
  if (!signedHeaders.includes('host')) {
    throw queryError(
      'Query-string authentication requires the host header to be signed.',
    );
  }
  checkAmzHeadersSigned(request.headers, signedHeaders);

  // The SDK's S3 presigner hoists `x-amz-content-sha256: UNSIGNED-PAYLOAD`
  // into the query; without either, a presigned body is unsigned.
  const payloadHash =
    singleHeader(request.headers, 'x-amz-content-sha256') ??
    query.find(
      ([name]) => name.toLowerCase() === 'x-amz-content-sha256',
    )?.[1] ??
    UNSIGNED_PAYLOAD;
  checkPayloadHashValue(payloadHash);
  if (payloadHash.startsWith('STREAMING-')) {
    throw s3Errors.invalidRequest(
      'Presigned requests cannot carry an aws-chunked (STREAMING-*) payload.',
    );
  }

  const scope = credentialScope(credential);
  const signingKey = deriveSigningKey(
    credentials.secretAccessKey,
    credential.date,
    credential.region,
    credential.service,
  );
  checkSignature({
    request,
    query,
    excludeFromQuery: 'X-Amz-Signature',
    signedHeaders,
    signedHeadersText,
    payloadHash,
    amzDate,
    scope,
    signingKey,
    provided: signature,
    accessKeyId: credential.accessKeyId,
  });

  return {
    kind: 'query',
    accessKeyId: credential.accessKeyId,
    credentials,
    amzDate,
    scope,
    signingKey,
    signature: signature.toLowerCase(),
    payloadHash: isHexSha256(payloadHash)
      ? payloadHash.toLowerCase()
      : payloadHash,
  };
}

function checkScope(
  credential: ParsedCredential,
  region: string,
  fail: (message: string, details?: Record<string, string>) => S3Error,
  where: string,
): void {
  if (credential.terminator !== TERMINATOR) {
    throw fail(
      `The ${where} is malformed; incorrect terminal "${credential.terminator}". This endpoint uses "${TERMINATOR}".`,
    );
  }
  if (credential.service !== SERVICE) {
    throw fail(
      `The ${where} is malformed; incorrect service "${credential.service}". This endpoint belongs to "${SERVICE}".`,
    );
  }
  if (credential.region !== region) {
    throw fail(
      `The ${where} is malformed; the region '${credential.region}' is wrong; expecting '${region}'`,
      { Region: region },
    );
  }
}

function lookup(accessKeyId: string, options: VerifyOptions): S3Credentials {
  const credentials = options.lookupCredentials(accessKeyId);
  if (!credentials) {
    throw s3Errors.invalidAccessKeyId(accessKeyId);
  }
  return credentials;
}

/**
 * checkSessionToken enforces the token of temporary credentials. S3 answers a
 * temporary key without its token as an unknown key, and a wrong token as
 * InvalidToken. Credentials with an empty token are long-term keys: a token
 * sent with them is invalid.
 */
function checkSessionToken(
  credentials: S3Credentials,
  provided: string | undefined,
  accessKeyId: string,
): void {
  if (credentials.sessionToken === '') {
    if (provided !== undefined) {
      throw s3Errors.invalidToken();
    }
    return;
  }
  if (provided === undefined) {
    throw s3Errors.invalidAccessKeyId(accessKeyId);
  }
  if (!constantTimeEqual(provided, credentials.sessionToken)) {
    throw s3Errors.invalidToken();
  }
}

function checkNotExpired(credentials: S3Credentials, now: Date): void {
  if (credentials.expiresAt.getTime() <= now.getTime()) {
    throw s3Errors.expiredToken();
  }
}

function checkSkew(amzDate: string, now: Date): void {
  const signedAt = parseBasicTimestamp(amzDate);
  if (Math.abs(signedAt - now.getTime()) > MAX_CLOCK_SKEW_MS) {
    throw s3Errors.requestTimeTooSkewed(amzDate, toBasicTimestamp(now));
  }
}

/** The request time of a header-signed request: x-amz-date, else Date. */
function requestDate(headers: SignableRequest['headers']): string {
  const amzDate = singleHeader(headers, 'x-amz-date');
  if (amzDate !== undefined) {
    if (!isBasicTimestamp(amzDate)) {
      throw s3Errors.accessDenied(
        'AWS authentication requires a valid Date or x-amz-date header',
      );
    }
    return amzDate;
  }
  const date = singleHeader(headers, 'date');
  const parsed = date === undefined ? NaN : Date.parse(date);
  if (Number.isNaN(parsed)) {
    throw s3Errors.accessDenied(
      'AWS authentication requires a valid Date or x-amz-date header',
    );
  }
  return toBasicTimestamp(new Date(parsed));
}

function splitSignedHeaders(text: string): string[] {
  return text.split(';').map((name) => name.trim().toLowerCase());
}

/** S3 refuses x-amz-* headers that the signature does not cover. */
function checkAmzHeadersSigned(
  headers: SignableRequest['headers'],
  signedHeaders: string[],
): void {
  const unsigned = Object.keys(headers).filter(
    (name) =>
      name.startsWith('x-amz-') &&
      headers[name] !== undefined &&
      !signedHeaders.includes(name),
  );
  if (unsigned.length > 0) {
    throw s3Errors.accessDenied(
      'There were headers present in the request which were not signed',
      { HeadersNotSigned: unsigned.sort().join(', ') },
    );
  }
}

function checkPayloadHashValue(value: string): void {
  if (
    isHexSha256(value) ||
    value === UNSIGNED_PAYLOAD ||
    value === STREAMING_UNSIGNED_PAYLOAD_TRAILER ||
    value === STREAMING_SIGNED_PAYLOAD ||
    value === STREAMING_SIGNED_PAYLOAD_TRAILER
  ) {
    return;
  }
  if (value.startsWith('STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD')) {
    throw s3Errors.notImplemented(
      'SigV4a (AWS4-ECDSA-P256-SHA256) chunk signing is not implemented by the sandbox.',
    );
  }
  throw s3Errors.invalidArgument(
    'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, or a valid sha256 value.',
    'x-amz-content-sha256',
    value,
  );
}

interface SignatureCheck {
  request: SignableRequest;
  query: Array<[string, string]>;
  excludeFromQuery: string | undefined;
  signedHeaders: string[];
  signedHeadersText: string;
  payloadHash: string;
  amzDate: string;
  scope: string;
  signingKey: Buffer;
  provided: string;
  accessKeyId: string;
}

/**
 * checkSignature recomputes the signature and compares it with the one
 * provided. The canonical URI is tried as received and, when different, in
 * S3's strict encoding of the decoded path, so a client that encodes a safe
 * character it need not encode (or the reverse) is still verified.
 */
function checkSignature(check: SignatureCheck): void {
  const canonicalQuery = canonicalQueryString(
    check.query.filter(([name]) => name !== check.excludeFromQuery),
  );
  const canonicalHeaders = canonicalHeaderBlock(
    check.request.headers,
    check.signedHeaders,
  );
  const candidates = [check.request.rawPath];
  const strict = strictlyEncodedPath(check.request.rawPath);
  if (strict !== undefined && strict !== check.request.rawPath) {
    candidates.push(strict);
  }
  const provided = check.provided.toLowerCase();
  let first: { canonicalRequest: string; stringToSign: string } | undefined;
  for (const path of candidates) {
    const canonicalRequest = [
      check.request.method,
      path,
      canonicalQuery,
      canonicalHeaders,
      check.signedHeadersText,
      check.payloadHash,
    ].join('\n');
    const stringToSign = requestStringToSign(
      check.amzDate,
      check.scope,
      canonicalRequest,
    );
    const expected = hmacHex(check.signingKey, stringToSign);
    if (constantTimeEqual(expected, provided)) {
      return;
    }
    first ??= { canonicalRequest, stringToSign };
  }
  throw s3Errors.signatureDoesNotMatch({
    AWSAccessKeyId: check.accessKeyId,
    StringToSign: first!.stringToSign,
    SignatureProvided: check.provided,
    StringToSignBytes: spacedHex(first!.stringToSign),
    CanonicalRequest: first!.canonicalRequest,
    CanonicalRequestBytes: spacedHex(first!.canonicalRequest),
  });
}

/**
 * canonicalHeaderBlock renders the signed headers as SigV4 wants them: one
 * `name:value\n` line each (values trimmed, inner runs of spaces collapsed,
 * repeated headers joined with commas). A signed header that is absent
 * contributes an empty value, which then fails the comparison.
 */
export function canonicalHeaderBlock(
  headers: SignableRequest['headers'],
  signedHeaders: string[],
): string {
  return signedHeaders
    .map((name) => {
      const values = headers[name] ?? [];
      const value = values
        .map((item) => item.trim().replace(/\s+/g, ' '))
        .join(',');
      return `${name}:${value}\n`;
    })
    .join('');
}

/**
 * canonicalQueryString renders decoded query pairs canonically: names and
 * values URI-encoded, sorted by name then value.
 */
export function canonicalQueryString(pairs: Array<[string, string]>): string {
  return pairs
    .map(([name, value]) => [uriEncode(name, true), uriEncode(value, true)])
    .sort(([a, av], [b, bv]) =>
      a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0,
    )
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/**
 * parseQuery splits a raw query string into decoded (name, value) pairs in
 * order. A pair without '=' has an empty value. Throws InvalidURI for bad
 * percent-encoding.
 */
export function parseQuery(rawQuery: string): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (rawQuery === '') {
    return pairs;
  }
  for (const piece of rawQuery.split('&')) {
    if (piece === '') {
      continue;
    }
    const eq = piece.indexOf('=');
    const name = eq === -1 ? piece : piece.slice(0, eq);
    const value = eq === -1 ? '' : piece.slice(eq + 1);
    pairs.push([percentDecode(name), percentDecode(value)]);
  }
  return pairs;
}

/** percentDecode decodes %XX escapes (UTF-8); throws InvalidURI when bad. */
export function percentDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw s3Errors.invalidUri();
  }
}

/**
 * uriEncode applies SigV4's UriEncode: every byte except the unreserved
 * characters A-Z a-z 0-9 - . _ ~ becomes %XX (upper-case hex); '/' is kept
 * when `encodeSlash` is false.
 */
export function uriEncode(text: string, encodeSlash: boolean): string {
  const encoded = encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return encodeSlash ? encoded : encoded.replace(/%2F/g, '/');
}

function strictlyEncodedPath(rawPath: string): string | undefined {
  try {
    return rawPath
      .split('/')
      .map((segment) => uriEncode(decodeURIComponent(segment), true))
      .join('/');
  } catch {
    return undefined;
  }
}

/** requestStringToSign builds the string to sign of a request. */
export function requestStringToSign(
  amzDate: string,
  scope: string,
  canonicalRequest: string,
): string {
  return [SIGV4_ALGORITHM, amzDate, scope, sha256Hex(canonicalRequest)].join(
    '\n',
  );
}

/** chunkStringToSign builds the string to sign of one signed body chunk. */
export function chunkStringToSign(
  amzDate: string,
  scope: string,
  previousSignature: string,
  chunkSha256Hex: string,
): string {
  return [
    'AWS4-HMAC-SHA256-PAYLOAD',
    amzDate,
    scope,
    previousSignature,
    EMPTY_SHA256,
    chunkSha256Hex,
  ].join('\n');
}

/** trailerStringToSign builds the string to sign of a signed trailer. */
export function trailerStringToSign(
  amzDate: string,
  scope: string,
  previousSignature: string,
  trailerSha256Hex: string,
): string {
  return [
    'AWS4-HMAC-SHA256-TRAILER',
    amzDate,
    scope,
    previousSignature,
    trailerSha256Hex,
  ].join('\n');
}

/** deriveSigningKey derives the SigV4 signing key for one day and scope. */
export function deriveSigningKey(
  secretAccessKey: string,
  shortDate: string,
  region: string,
  service: string,
): Buffer {
  const kDate = hmac(Buffer.from(`AWS4${secretAccessKey}`, 'utf8'), shortDate);
  const kRegion = hmac(kDate, region);
  const kService = hmac(kRegion, service);
  return hmac(kService, TERMINATOR);
}

/** hmacHex signs `text` with `key` and returns lower-case hex. */
export function hmacHex(key: Buffer, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

/** sha256Hex hashes `data` and returns lower-case hex. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** constantTimeEqual compares two strings without leaking where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** isHexSha256 tells whether `value` looks like a hex SHA-256 digest. */
export function isHexSha256(value: string): boolean {
  return /^[0-9a-fA-F]{64}$/.test(value);
}

/** toBasicTimestamp formats `date` as `YYYYMMDDTHHMMSSZ`. */
export function toBasicTimestamp(date: Date): string {
  return date
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

function isBasicTimestamp(value: string): boolean {
  return (
    /^\d{8}T\d{6}Z$/.test(value) && !Number.isNaN(parseBasicTimestamp(value))
  );
}

/** Milliseconds since the epoch, or NaN unless `value` is a real instant. */
function parseBasicTimestamp(value: string): number {
  const iso = value.replace(
    /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/,
    '$1-$2-$3T$4:$5:$6Z',
  );
  const ms = Date.parse(iso);
  if (Number.isNaN(ms) || toBasicTimestamp(new Date(ms)) !== value) {
    return NaN;
  }
  return ms;
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

function spacedHex(text: string): string {
  return Buffer.from(text, 'utf8')
    .toString('hex')
    .replace(/(..)(?!$)/g, '$1 ');
}

function singleHeader(
  headers: SignableRequest['headers'],
  name: string,
): string | undefined {
  const values = headers[name];
  return values === undefined || values.length === 0
    ? undefined
    : values.join(',');
}

function credentialScope(credential: ParsedCredential): string {
  return [
    credential.date,
    credential.region,
    credential.service,
    credential.terminator,
  ].join('/');
}
