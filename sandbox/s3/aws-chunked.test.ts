import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { describe, expect, it } from 'vitest';

import { AwsChunkedDecoder, type AwsChunkedOptions } from './aws-chunked.ts';
import { S3Error } from './s3-error.ts';
import { deriveSigningKey } from './sigv4.ts';

// The chunked-upload examples of the AWS S3 SigV4 documentation: 65,536 and
// 1,024 bytes of 'a', signed from the documented seed signatures.
const DOC_SIGNING = {
  signingKey: deriveSigningKey(
    'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    '20130524',
    'us-east-1',
    's3',
  ),
  amzDate: '20130524T000000Z',
  scope: '20130524/us-east-1/s3/aws4_request',
};

function docBody(trailer: boolean): Buffer {
  const signatures = trailer
    ? [
        'b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2',
        '1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7',
        '2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992',
      ]
    : [
        'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
        '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
        'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
      ];
  return Buffer.concat([
    Buffer.from(`10000;chunk-signature=${signatures[0]}\r\n`),
    Buffer.alloc(65_536, 'a'),
    Buffer.from(`\r\n400;chunk-signature=${signatures[1]}\r\n`),
    Buffer.alloc(1024, 'a'),
    Buffer.from(`\r\n0;chunk-signature=${signatures[2]}\r\n`),
    Buffer.from(
      trailer
        ? 'x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435\r\n\r\n'
        : '\r\n',
    ),
  ]);
}

function docOptions(trailer: boolean): AwsChunkedOptions {
  return {
    signing: {
      ...DOC_SIGNING,
      seedSignature: trailer
        ? '106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e'
        : '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
      signedTrailer: trailer,
    },
    trailerNames: trailer ? ['x-amz-checksum-crc32c'] : [],
  };
}

/** Feeds `body` to a decoder in pieces of `pieceSize` bytes. */
async function decode(
  options: AwsChunkedOptions,
  body: Buffer,
  pieceSize = body.length,
): Promise<{ data: Buffer; decoder: AwsChunkedDecoder }> {
  const pieces: Buffer[] = [];
  for (let offset = 0; offset < body.length; offset += pieceSize) {
    pieces.push(body.subarray(offset, offset + pieceSize));
  }
  const decoder = new AwsChunkedDecoder(options);
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(pieces),
    decoder,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out.push(chunk);
        callback();
      },
    }),
  );
  return { data: Buffer.concat(out), decoder };
}

async function expectDecodeError(
  options: AwsChunkedOptions,
  body: Buffer,
  status: number,
  code: string,
): Promise<void> {
  const error = await decode(options, body).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(S3Error);
  expect([(error as S3Error).status, (error as S3Error).code]).toEqual([
    status,
    code,
  ]);
}

const unsigned = (trailerNames: string[] = []): AwsChunkedOptions => ({
  trailerNames,
});

describe('AwsChunkedDecoder', () => {
  describe('signed chunks (the documented AWS examples)', () => {
    for (const pieceSize of [1, 7, 100, 4096, 70_000]) {
      it(`decodes the documented body fed ${pieceSize} bytes at a time`, async () => {
        const { data, decoder } = await decode(
          docOptions(false),
          docBody(false),
          pieceSize,
        );

        expect(data.equals(Buffer.alloc(66_560, 'a'))).toBe(true);
        expect(decoder.decodedLength).toBe(66_560);
      });
    }

    it('decodes the documented body with a signed trailer', async () => {
      const { data, decoder } = await decode(
        docOptions(true),
        docBody(true),
        333,
      );

      expect(data.length).toBe(66_560);
      expect(decoder.trailers.get('x-amz-checksum-crc32c')).toBe('sOO8/Q==');
    });

    it('refuses a body whose data changed (SignatureDoesNotMatch)', async () => {
      const body = docBody(false);
      body[70_000 - 4000] ^= 1;

      await expectDecodeError(
        docOptions(false),
        body,
        403,
        'SignatureDoesNotMatch',
      );
    });

    it('refuses a changed trailer value (SignatureDoesNotMatch)', async () => {
      const body = Buffer.from(
        docBody(true).toString('latin1').replace('sOO8/Q==', 'AAAAAA=='),
        'latin1',
      );

      await expectDecodeError(
        docOptions(true),
        body,
        403,
        'SignatureDoesNotMatch',
      );
    });

    it('refuses chunks from another request (wrong seed signature)', async () => {
      const options = docOptions(false);
      options.signing!.seedSignature = '0'.repeat(64);

      await expectDecodeError(
        options,
        docBody(false),
        403,
        'SignatureDoesNotMatch',
      );
    });

    it('refuses a body cut before its final chunk (IncompleteBody)', async () => {
      await expectDecodeError(
        docOptions(false),
        docBody(false).subarray(0, 66_000),
        400,
        'IncompleteBody',
      );
    });

    it('refuses an unsigned chunk header where signatures are due', async () => {
      await expectDecodeError(
        docOptions(false),
        Buffer.from('3\r\nabc\r\n0\r\n\r\n'),
        400,
        'IncompleteBody',
      );
    });
  });

  describe('unsigned chunks with a trailer', () => {
    it('decodes the data and reads the trailer', async () => {
      const body = Buffer.from(
        '3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n',
      );

      const { data, decoder } = await decode(
        unsigned(['x-amz-checksum-crc32']),
        body,
        2,
      );

      expect(data.toString()).toBe('abc');
      expect(decoder.trailers.get('x-amz-checksum-crc32')).toBe('NSRBwg==');
    });

    it('accepts a body that ends right after the final chunk when no trailer is due', async () => {
      const { data } = await decode(
        unsigned(),
        Buffer.from('3\r\nabc\r\n0\r\n'),
      );

      expect(data.toString()).toBe('abc');
    });

    it('refuses a body missing its announced trailer (MalformedTrailerError)', async () => {
      await expectDecodeError(
        unsigned(['x-amz-checksum-crc32']),
        Buffer.from('3\r\nabc\r\n0\r\n\r\n'),
        400,
        'MalformedTrailerError',
      );
    });

    it('refuses a trailer that was not announced (MalformedTrailerError)', async () => {
      await expectDecodeError(
        unsigned(['x-amz-checksum-crc32']),
        Buffer.from('3\r\nabc\r\n0\r\nx-amz-checksum-sha256:abc=\r\n\r\n'),
        400,
        'MalformedTrailerError',
      );
    });

    it('refuses lines ending in a bare LF', async () => {
      await expectDecodeError(
        unsigned(),
        Buffer.from('3\nabc\r\n0\r\n\r\n'),
        400,
        'IncompleteBody',
      );
    });

    it('refuses data after the end of the body', async () => {
      await expectDecodeError(
        unsigned(),
        Buffer.from('3\r\nabc\r\n0\r\n\r\nmore'),
        400,
        'IncompleteBody',
      );
    });

    it('refuses a chunk not followed by CRLF', async () => {
      await expectDecodeError(
        unsigned(),
        Buffer.from('3\r\nabcd\r\n0\r\n\r\n'),
        400,
        'IncompleteBody',
      );
    });

    it('refuses a small chunk that is not the last (InvalidChunkSizeError)', async () => {
      const body = Buffer.concat([
        Buffer.from('4\r\nabcd\r\n2000\r\n'),
        Buffer.alloc(0x2000, 'e'),
        Buffer.from('\r\n0\r\n\r\n'),
      ]);

      await expectDecodeError(unsigned(), body, 400, 'InvalidChunkSizeError');
    });
  });
});
