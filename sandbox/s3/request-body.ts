/**
 * Receiving a request body the way S3 does: the framing announced by the
 * headers (plain, or aws-chunked with signed or unsigned chunks and an
 * optional checksum trailer), the declared length, and every integrity value
 * the client sent (x-amz-content-sha256, Content-MD5, one x-amz-checksum-*
 * header or trailer). The body streams to a sink; nothing the size of the body
 * is held in memory. Header problems are found by planBody() before a single
 * byte is read; body problems reject receiveBody() after the whole body
 * arrived, so the caller can discard what the sink wrote.
 */

import { createHash, type Hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  PassThrough,
  Transform,
  Writable,
  type TransformCallback,
} from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { AwsChunkedDecoder, type ChunkSigning } from './aws-chunked.ts';
import { headerOf } from './http-headers.ts';
import {
  checksumHeaderName,
  createHasher,
  decodeChecksumValue,
  parseChecksumAlgorithm,
  UNSUPPORTED_CHECKSUM_ALGORITHMS,
  type ChecksumAlgorithm,
  type Hasher,
} from './checksums.ts';
import { S3Error, s3Errors } from './s3-error.ts';
import {
  isHexSha256,
  STREAMING_SIGNED_PAYLOAD,
  STREAMING_SIGNED_PAYLOAD_TRAILER,
  STREAMING_UNSIGNED_PAYLOAD_TRAILER,
  type VerifiedAuth,
} from './sigv4.ts';

/** What planBody() learned from the headers; input of receiveBody(). */
export interface BodyPlan {
  /** Whether the body is aws-chunked (any STREAMING-* payload). */
  isChunked: boolean;
  /** The payload length the client declared. */
  declaredLength: number;
  /** Hex SHA-256 the body must have (x-amz-content-sha256), if any. */
  expectedSha256: string | undefined;
  /** Raw MD5 from Content-MD5, if sent. */
  expectedMd5: Buffer | undefined;
  /** The checksum algorithm the client supplied a value for, if any. */
  clientAlgorithm: ChecksumAlgorithm | undefined;
  /** That value when it came as a header (raw digest). */
  headerChecksum: Buffer | undefined;
  /** Trailer names announced in x-amz-trailer (lower case). */
  trailerNames: string[];
  /** Chunk-signature context for signed aws-chunked bodies. */
  signing: ChunkSigning | undefined;
  /** Every checksum algorithm to compute while receiving. */
  algorithms: ChecksumAlgorithm[];
  maxSize: number;
  tooLarge: (size: number) => S3Error;
}

/** Options of planBody(). */
export interface BodyPlanOptions {
  /** Largest payload accepted. */
  maxSize: number;
  /** The error for a payload over maxSize (EntityTooLarge by default). */
  tooLarge?: (size: number) => S3Error;
  /** Checksums to compute whether or not the client sent one. */
  extraAlgorithms?: ChecksumAlgorithm[];
}

/** What receiveBody() measured; every value has been verified. */
export interface ReceivedBody {
  size: number;
  /** Hex MD5 of the payload (the ETag of a single PUT or a part). */
  md5Hex: string;
  /** Base64 checksums of the payload, by algorithm. */
  checksums: Partial<Record<ChecksumAlgorithm, string>>;
  /** The algorithm the client supplied a value for, if any. */
  clientAlgorithm: ChecksumAlgorithm | undefined;
}

const IGNORED_CHECKSUM_HEADERS = new Set([
  'x-amz-checksum-algorithm',
  'x-amz-checksum-type',
  'x-amz-checksum-mode',
]);

/**
 * planBody validates the body-related headers of an authenticated request
 * and returns how to receive the body, or throws the S3Error S3 sends.
 */
export function planBody(
  req: IncomingMessage,
  auth: VerifiedAuth,
  options: BodyPlanOptions,
): BodyPlan {
  const headers = req.headers;
  const payloadHash = auth.payloadHash;
  const isChunked = payloadHash.startsWith('STREAMING-');
  const hasTrailer =
    payloadHash === STREAMING_UNSIGNED_PAYLOAD_TRAILER ||
    payloadHash === STREAMING_SIGNED_PAYLOAD_TRAILER;
  const tooLarge =
    options.tooLarge ??
    ((size: number) => s3Errors.entityTooLarge(size, options.maxSize));

  const encodings = (headerOf(headers, 'content-encoding') ?? '')
    .split(',')
    .map((token) => token.trim().toLowerCase());
  if (encodings.includes('aws-chunked') && !isChunked) {
    throw s3Errors.invalidArgument(
      'Content-Encoding aws-chunked requires a STREAMING-* x-amz-content-sha256 value.',
      'Content-Encoding',
      headerOf(headers, 'content-encoding'),
    );
  }

  const declaredLength = declaredPayloadLength(req, isChunked);
  if (declaredLength > options.maxSize) {
    throw tooLarge(declaredLength);
  }

  let expectedMd5: Buffer | undefined;
  const contentMd5 = headerOf(headers, 'content-md5');
  if (contentMd5 !== undefined) {
    const raw = /^[A-Za-z0-9+/]{22}==$/.test(contentMd5.trim())
      ? Buffer.from(contentMd5.trim(), 'base64')
      : undefined;
    if (!raw || raw.length !== 16) {
      throw s3Errors.invalidDigest();
    }
    expectedMd5 = raw;
  }

  let clientAlgorithm: ChecksumAlgorithm | undefined;
  let headerChecksum: Buffer | undefined;
  for (const name of Object.keys(headers)) {
    if (
      !name.startsWith('x-amz-checksum-') ||
      IGNORED_CHECKSUM_HEADERS.has(name)
    ) {
      continue;
    }
    const algorithm = checksumAlgorithmFromName(name);
    if (clientAlgorithm !== undefined) {
      throw multipleChecksums();
    }
    const raw = decodeChecksumValue(algorithm, headerOf(headers, name) ?? '');
    if (!raw) {
      throw s3Errors.invalidRequest(`Value for ${name} header is invalid.`);
    }
    clientAlgorithm = algorithm;
    headerChecksum = raw;
  }

  const trailerNames: string[] = [];
  const trailerHeader = headerOf(headers, 'x-amz-trailer');
  if (trailerHeader !== undefined) {
    if (!hasTrailer) {
      throw s3Errors.invalidRequest(
        'The x-amz-trailer header requires a STREAMING-*-TRAILER x-amz-content-sha256 value.',
      );
    }
    for (const token of trailerHeader.split(',')) {
      const name = token.trim().toLowerCase();
      if (name === '') {
        continue;
      }
      if (!name.startsWith('x-amz-checksum-')) {
        throw s3Errors.invalidRequest(
          `The sandbox accepts only x-amz-checksum-* trailers, not "${name}".`,
        );
      }
      const algorithm = checksumAlgorithmFromName(name);
      if (clientAlgorithm !== undefined) {
        throw multipleChecksums();
      }
      clientAlgorithm = algorithm;
      trailerNames.push(name);
    }
  }

  const sdkAlgorithmHeader = headerOf(headers, 'x-amz-sdk-checksum-algorithm');
  if (sdkAlgorithmHeader !== undefined) {
    const sdkAlgorithm = parseChecksumAlgorithm(sdkAlgorithmHeader);
    if (clientAlgorithm === undefined) {
      throw s3Errors.invalidRequest(
        'x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.',
      );
    }
    if (sdkAlgorithm !== clientAlgorithm) {
      throw s3Errors.invalidRequest(
        `Value for x-amz-sdk-checksum-algorithm header is invalid: "${sdkAlgorithmHeader}" does not match the ${clientAlgorithm} checksum sent.`,
      );
    }
  }

  const signing =
    payloadHash === STREAMING_SIGNED_PAYLOAD ||
    payloadHash === STREAMING_SIGNED_PAYLOAD_TRAILER
      ? {
          signingKey: auth.signingKey,
          amzDate: auth.amzDate,
          scope: auth.scope,
          seedSignature: auth.signature,
          signedTrailer: payloadHash === STREAMING_SIGNED_PAYLOAD_TRAILER,
        }
      : undefined;

  const algorithms = new Set<ChecksumAlgorithm>(options.extraAlgorithms ?? []);
  if (clientAlgorithm !== undefined) {
    algorithms.add(clientAlgorithm);
  }

  return {
    isChunked,
    declaredLength,
    expectedSha256: isHexSha256(payloadHash) ? payloadHash : undefined,
    expectedMd5,
    clientAlgorithm,
    headerChecksum,
    trailerNames,
    signing,
    algorithms: [...algorithms],
    maxSize: options.maxSize,
    tooLarge,
  };
}

function declaredPayloadLength(
  req: IncomingMessage,
  isChunked: boolean,
): number {
  const name = isChunked ? 'x-amz-decoded-content-length' : 'content-length';
  const value = headerOf(req.headers, name);
  if (value === undefined) {
    if (!isChunked && req.headers['transfer-encoding'] === undefined) {
      return 0;
    }
    throw s3Errors.missingContentLength();
  }
  if (!/^\d{1,16}$/.test(value.trim())) {
    throw s3Errors.invalidArgument(
      `The ${name} header must be a non-negative integer.`,
      name,
      value,
    );
  }
  return Number(value.trim());
}

function checksumAlgorithmFromName(name: string): ChecksumAlgorithm {
  const suffix = name.slice('x-amz-checksum-'.length).toUpperCase();
  if (UNSUPPORTED_CHECKSUM_ALGORITHMS.includes(suffix)) {
    throw s3Errors.notImplemented(
      `The sandbox does not implement ${suffix} checksums; use CRC32, CRC32C, CRC64NVME, SHA1, SHA256, SHA512 or MD5.`,
    );
  }
  const algorithm = parseChecksumAlgorithm(suffix);
  if (!algorithm) {
    throw s3Errors.invalidRequest(`Unknown checksum header ${name}.`);
  }
  return algorithm;
}

function multipleChecksums(): S3Error {
  return s3Errors.invalidRequest(
    'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.',
  );
}

/**
 * receiveBody streams the body of `req` through the plan's decoding and
 * hashing into `sink` and verifies it. It resolves once the sink has
 * finished and every check passed. It rejects with an S3Error for a bad
 * body, or ClientGoneError when the client went away; what the sink wrote
 * must then be discarded, and any unread rest of the body is left in `req`.
 */
export async function receiveBody(
  req: IncomingMessage,
  plan: BodyPlan,
  sink: Writable,
): Promise<ReceivedBody> {
  // req is piped rather than passed to pipeline() so a failure destroys only
  // our streams: the request stays alive and can still get an S3 error reply.
  const source = new PassThrough();
  const onClose = () => {
    if (!req.complete) {
      source.destroy(new ClientGoneError());
    }
  };
  const onError = () => source.destroy(new ClientGoneError());
  req.on('close', onClose);
  req.on('error', onError);
  req.pipe(source);

  const decoder = plan.isChunked
    ? new AwsChunkedDecoder({
        signing: plan.signing,
        trailerNames: plan.trailerNames,
      })
    : undefined;
  const tap = new HashingTap(plan);

  try {
    if (decoder) {
      await pipeline(source, decoder, tap, sink);
    } else {
      await pipeline(source, tap, sink);
    }
  } finally {
    req.unpipe(source);
    req.off('close', onClose);
    req.off('error', onError);
  }

  if (tap.size !== plan.declaredLength) {
    throw s3Errors.incompleteBody();
  }
  return verifyReceived(plan, tap, decoder);
}

function verifyReceived(
  plan: BodyPlan,
  tap: HashingTap,
  decoder: AwsChunkedDecoder | undefined,
): ReceivedBody {
  if (plan.expectedSha256 !== undefined) {
    const actual = tap.sha256Hex();
    if (actual !== plan.expectedSha256.toLowerCase()) {
      throw s3Errors.xAmzContentSha256Mismatch(plan.expectedSha256, actual);
    }
  }
  const md5 = tap.md5();
  if (plan.expectedMd5 && !plan.expectedMd5.equals(md5)) {
    throw s3Errors.badDigest(
      'The Content-MD5 you specified did not match what we received.',
      {
        ExpectedDigest: plan.expectedMd5.toString('base64'),
        CalculatedDigest: md5.toString('base64'),
      },
    );
  }
  const checksums = tap.checksums();
  const algorithm = plan.clientAlgorithm;
  if (algorithm !== undefined) {
    let expected = plan.headerChecksum;
    if (!expected) {
      const name = checksumHeaderName(algorithm);
      const text = decoder?.trailers.get(name);
      expected =
        text === undefined ? undefined : decodeChecksumValue(algorithm, text);
      if (!expected) {
        throw s3Errors.invalidRequest(
          `Value for ${name} trailing header is invalid.`,
        );
      }
    }
    if (expected.toString('base64') !== checksums[algorithm]) {
      throw s3Errors.badDigest(
        `The ${algorithm} you specified did not match the calculated checksum.`,
      );
    }
  }
  return {
    size: tap.size,
    md5Hex: md5.toString('hex'),
    checksums,
    clientAlgorithm: algorithm,
  };
}

/** ClientGoneError: the client closed the connection before the body ended. */
export class ClientGoneError extends Error {
  override name = 'ClientGoneError';

  constructor() {
    super('The client closed the connection before sending the whole body.');
  }
}

/** HashingTap counts and hashes the decoded payload as it flows past. */
class HashingTap extends Transform {
  size = 0;
  readonly #plan: BodyPlan;
  readonly #md5: Hash = createHash('md5');
  readonly #sha256: Hash | undefined;
  readonly #hashers: Map<ChecksumAlgorithm, Hasher>;

  constructor(plan: BodyPlan) {
    super();
    this.#plan = plan;
    this.#sha256 =
      plan.expectedSha256 !== undefined ? createHash('sha256') : undefined;
    this.#hashers = new Map(
      plan.algorithms.map((algorithm) => [algorithm, createHasher(algorithm)]),
    );
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: TransformCallback,
  ): void {
    this.size += chunk.length;
    if (this.size > this.#plan.maxSize) {
      callback(this.#plan.tooLarge(this.size));
      return;
    }
    if (this.size > this.#plan.declaredLength) {
      callback(
        s3Errors.incompleteBody(
          'The request body is longer than its declared length.',
        ),
      );
      return;
    }
    this.#md5.update(chunk);
    this.#sha256?.update(chunk);
    for (const hasher of this.#hashers.values()) {
      hasher.update(chunk);
    }
    callback(null, chunk);
  }

  md5(): Buffer {
    return this.#md5.digest();
  }

  sha256Hex(): string {
    return this.#sha256?.digest('hex') ?? '';
  }

  checksums(): Partial<Record<ChecksumAlgorithm, string>> {
    const out: Partial<Record<ChecksumAlgorithm, string>> = {};
    for (const [algorithm, hasher] of this.#hashers) {
      out[algorithm] = hasher.digest().toString('base64');
    }
    return out;
  }
}

/**
 * MemorySink collects a small body (an XML request) in memory. The plan's
 * maxSize bounds it, so it never grows past that.
 */
export class MemorySink extends Writable {
  readonly #chunks: Buffer[] = [];

  override _write(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: (error?: Error | null) => void,
  ): void {
    this.#chunks.push(chunk);
    callback();
  }

  /** The whole body received. */
  contents(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}
