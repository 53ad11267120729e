/**
 * AwsChunkedDecoder strips S3's aws-chunked framing from a request body:
 *
 *     <hex size>[;chunk-signature=<sig>]\r\n<data>\r\n
 *     ... 0[;chunk-signature=<sig>]\r\n
 *     [<trailer name>:<value>\r\n ... [x-amz-trailer-signature:<sig>\r\n]]\r\n
 *
 * It streams: data bytes pass through as they arrive and only the short
 * header and trailer lines are buffered. With signing details it verifies
 * every chunk signature (each chained to the previous one, starting from the
 * request's seed signature) and the trailer signature, as S3 does for
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]. Framing errors, short bodies
 * and bad signatures fail the stream with the S3Error S3 would send.
 */

import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';

import { s3Errors, type S3Error } from './s3-error.ts';
import {
  chunkStringToSign,
  constantTimeEqual,
  hmacHex,
  sha256Hex,
  trailerStringToSign,
} from './sigv4.ts';

/** The request signature context that signed chunks chain from. */
export interface ChunkSigning {
  signingKey: Buffer;
  amzDate: string;
  scope: string;
  /** The request's own signature (the "seed"). */
  seedSignature: string;
  /** Whether the trailer carries `x-amz-trailer-signature`. */
  signedTrailer: boolean;
}

/** Options of AwsChunkedDecoder. */
export interface AwsChunkedOptions {
  /** Verify chunk signatures with this context; omit for unsigned bodies. */
  signing?: ChunkSigning;
  /** Trailer names announced in `x-amz-trailer` (lower case). */
  trailerNames: string[];
  /**
   * Smallest size allowed for every chunk but the last; S3 uses 8 KiB and
   * refuses smaller ones with InvalidChunkSizeError.
   */
  minChunkSize?: number;
}

/** S3's minimum aws-chunked chunk size (all but the last chunk). */
export const MIN_AWS_CHUNK_SIZE = 8192;

const MAX_LINE = 4096;
const MAX_TRAILER_LINES = 16;

type State = 'header' | 'data' | 'data-cr' | 'data-lf' | 'trailer' | 'done';

/** AwsChunkedDecoder decodes one aws-chunked body; see the module comment. */
export class AwsChunkedDecoder extends Transform {
  /** Trailer values by lower-case name, complete once the stream ends. */
  readonly trailers = new Map<string, string>();
  /** Decoded (payload) bytes passed through so far. */
  decodedLength = 0;

  readonly #signing: ChunkSigning | undefined;
  readonly #trailerNames: string[];
  readonly #minChunkSize: number;
  #state: State = 'header';
  #line: Buffer[] = [];
  #lineLength = 0;
  #remaining = 0;
  #chunkSize = 0;
  #chunkSignature = '';
  #chunkHash: Hash | undefined;
  #previousSignature: string;
  #chunkIndex = 0;
  #previousChunkSize = -1;
  #trailerLines: string[] = [];
  #sawFinalChunk = false;

  constructor(options: AwsChunkedOptions) {
    super();
    this.#signing = options.signing;
    this.#trailerNames = options.trailerNames;
    this.#minChunkSize = options.minChunkSize ?? MIN_AWS_CHUNK_SIZE;
    this.#previousSignature = options.signing?.seedSignature ?? '';
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    callback: TransformCallback,
  ): void {
    try {
      this.#consume(chunk);
      callback();
    } catch (error) {
      callback(error as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    // A body whose final chunk is not followed by the closing blank line is
    // accepted only when no trailer was announced (the SDK omits that line
    // when it sends no checksum).
    const endsAfterFinalChunk =
      this.#state === 'trailer' &&
      this.#trailerLines.length === 0 &&
      this.#lineLength === 0 &&
      this.#trailerNames.length === 0 &&
      !this.#signing?.signedTrailer;
    if (this.#state !== 'done' && !endsAfterFinalChunk) {
      callback(
        this.#sawFinalChunk
          ? s3Errors.malformedTrailer()
          : s3Errors.incompleteBody(
              'The aws-chunked request body ended before its final chunk.',
            ),
      );
      return;
    }
    callback();
  }

  #consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      switch (this.#state) {
        case 'header':
        case 'trailer': {
          const newline = chunk.indexOf(0x0a, offset);
          const end = newline === -1 ? chunk.length : newline + 1;
          this.#appendLine(chunk.subarray(offset, end));
          offset = end;
          if (newline !== -1) {
            const line = this.#takeLine();
            if (this.#state === 'header') {
              this.#onHeaderLine(line);
            } else {
              this.#onTrailerLine(line);
            }
          }
          break;
        }
        case 'data': {
          const take = Math.min(this.#remaining, chunk.length - offset);
          const data = chunk.subarray(offset, offset + take);
          this.#chunkHash?.update(data);
          this.decodedLength += take;
          this.push(data);
          this.#remaining -= take;
          offset += take;
          if (this.#remaining === 0) {
            this.#state = 'data-cr';
          }
          break;
        }
        case 'data-cr':
        case 'data-lf': {
          const expected = this.#state === 'data-cr' ? 0x0d : 0x0a;
          if (chunk[offset] !== expected) {
            throw this.#malformed('a chunk is not followed by CRLF');
          }
          offset += 1;
          if (this.#state === 'data-cr') {
            this.#state = 'data-lf';
          } else {
            this.#endChunk();
            this.#state = 'header';
          }
          break;
        }
        case 'done':
          throw this.#malformed('data follows the end of the body');
      }
    }
  }

  #appendLine(piece: Buffer): void {
    this.#lineLength += piece.length;
    if (this.#lineLength > MAX_LINE) {
      throw this.#malformed('a chunk header or trailer line is too long');
    }
    this.#line.push(piece);
  }

  /** The buffered line without its CRLF; a bare LF is refused. */
  #takeLine(): string {
    const raw = Buffer.concat(this.#line).toString('latin1');
    this.#line = [];
    this.#lineLength = 0;
    if (!raw.endsWith('\r\n')) {
      throw this.#malformed('lines must end with CRLF');
    }
    return raw.slice(0, -2);
  }

  #onHeaderLine(line: string): void {
    const match = this.#signing
      ? /^([0-9a-fA-F]{1,16});chunk-signature=([0-9a-fA-F]{64})$/.exec(line)
      : /^([0-9a-fA-F]{1,16})(?:;.*)?$/.exec(line);
    if (!match) {
      throw this.#malformed(`bad chunk header "${line.slice(0, 100)}"`);
    }
    const size = parseInt(match[1], 16);
    if (!Number.isSafeInteger(size)) {
      throw this.#malformed('chunk size out of range');
    }
    // A chunk smaller than the minimum is legal only as the last data chunk:
    // seeing another data chunk after it proves it was not the last.
    if (
      size > 0 &&
      this.#previousChunkSize >= 0 &&
      this.#previousChunkSize < this.#minChunkSize
    ) {
      throw s3Errors.invalidChunkSize(
        this.#chunkIndex,
        this.#previousChunkSize,
      );
    }
    this.#chunkSize = size;
    this.#chunkSignature = (match[2] ?? '').toLowerCase();
    this.#chunkHash = this.#signing ? createHash('sha256') : undefined;
    if (size === 0) {
      this.#endChunk();
      this.#sawFinalChunk = true;
      this.#state = 'trailer';
      return;
    }
    this.#remaining = size;
    this.#state = 'data';
  }

  /** Verifies the signature of the chunk just read, if signed. */
  #endChunk(): void {
    this.#chunkIndex += 1;
    if (this.#chunkSize > 0) {
      this.#previousChunkSize = this.#chunkSize;
    }
    const signing = this.#signing;
    if (!signing || !this.#chunkHash) {
      return;
    }
    const expected = hmacHex(
      signing.signingKey,
      chunkStringToSign(
        signing.amzDate,
        signing.scope,
        this.#previousSignature,
        this.#chunkHash.digest('hex'),
      ),
    );
    if (!constantTimeEqual(expected, this.#chunkSignature)) {
      throw s3Errors.signatureDoesNotMatch({
        Chunk: String(this.#chunkIndex),
        SignatureProvided: this.#chunkSignature,
      });
    }
    this.#previousSignature = this.#chunkSignature;
  }

  #onTrailerLine(line: string): void {
    if (line !== '') {
      if (this.#trailerLines.length >= MAX_TRAILER_LINES) {
        throw s3Errors.malformedTrailer();
      }
      this.#trailerLines.push(line);
      return;
    }
    this.#finishTrailer();
    this.#state = 'done';
  }

  #finishTrailer(): void {
    let signature: string | undefined;
    let canonical = '';
    for (const line of this.#trailerLines) {
      const colon = line.indexOf(':');
      if (colon <= 0) {
        throw s3Errors.malformedTrailer();
      }
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'x-amz-trailer-signature') {
        signature = value.toLowerCase();
        continue;
      }
      if (signature !== undefined || this.trailers.has(name)) {
        throw s3Errors.malformedTrailer();
      }
      if (!this.#trailerNames.includes(name)) {
        throw s3Errors.malformedTrailer(
          `The trailer "${name}" was not announced in the x-amz-trailer header.`,
        );
      }
      this.trailers.set(name, value);
      canonical += `${name}:${value}\n`;
    }
    for (const name of this.#trailerNames) {
      if (!this.trailers.has(name)) {
        throw s3Errors.malformedTrailer(
          `The trailer "${name}" announced in x-amz-trailer is missing from the body.`,
        );
      }
    }
    const signing = this.#signing;
    if (!signing?.signedTrailer) {
      if (signature !== undefined) {
        throw s3Errors.malformedTrailer();
      }
      return;
    }
    if (signature === undefined) {
      throw s3Errors.malformedTrailer(
        'The signed trailer has no x-amz-trailer-signature.',
      );
    }
    const expected = hmacHex(
      signing.signingKey,
      trailerStringToSign(
        signing.amzDate,
        signing.scope,
        this.#previousSignature,
        sha256Hex(canonical),
      ),
    );
    if (!constantTimeEqual(expected, signature)) {
      throw s3Errors.signatureDoesNotMatch({
        Trailer: 'x-amz-trailer-signature',
        SignatureProvided: signature,
      });
    }
  }

  #malformed(reason: string): S3Error {
    return s3Errors.incompleteBody(
      `The aws-chunked request body is malformed: ${reason}.`,
    );
  }
}
