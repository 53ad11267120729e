/**
 * S3Error is every refusal the endpoint sends: an HTTP status, S3's error code,
 * its message, and the extra elements S3 puts in the `<Error>` body.
 * The factories below use S3's own codes, statuses and wording, so clients
 * (the AWS SDK included) classify them exactly as they classify real S3.
 */

import { renderXmlDocument, type XmlNode } from './xml.ts';

/** S3Error is an S3 protocol error; the handler renders it as S3 XML. */
export class S3Error extends Error {
  override name = 'S3Error';
  readonly status: number;
  readonly code: string;
  /** Extra elements of the error body, in order (e.g. `BucketName`). */
  readonly details: Record<string, string>;
  /** Response headers S3 adds to this error (e.g. `Content-Range`). */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: string,
    message: string,
    details: Record<string, string> = {},
    headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
    this.headers = headers;
  }
}

/** renderErrorXml renders the S3 error document for `error`. */
export function renderErrorXml(
  error: S3Error,
  requestId: string,
  hostId: string,
): string {
  const body: XmlNode = { Code: error.code, Message: error.message };
  for (const [name, value] of Object.entries(error.details)) {
    body[name] = value;
  }
  body.RequestId = requestId;
  body.HostId = hostId;
  return renderXmlDocument('Error', body, undefined);
}

/** The factories, one per S3 error this endpoint produces. */
export const s3Errors = {
  accessDenied(message = 'Access Denied', details?: Record<string, string>) {
    return new S3Error(403, 'AccessDenied', message, details);
  },
  authorizationHeaderMalformed(
    message: string,
    details?: Record<string, string>,
  ) {
    return new S3Error(400, 'AuthorizationHeaderMalformed', message, details);
  },
  authorizationQueryParametersError(
    message: string,
    details?: Record<string, string>,
  ) {
    return new S3Error(
      400,
      'AuthorizationQueryParametersError',
      message,
      details,
    );
  },
  badDigest(message: string, details?: Record<string, string>) {
    return new S3Error(400, 'BadDigest', message, details);
  },
  entityTooLarge(proposedSize: number, maxSize: number) {
    return new S3Error(
      400,
      'EntityTooLarge',
      'Your proposed upload exceeds the maximum allowed size',
      { ProposedSize: String(proposedSize), MaxSizeAllowed: String(maxSize) },
    );
  },
  entityTooSmall(details: Record<string, string>) {
    return new S3Error(
      400,
      'EntityTooSmall',
      'Your proposed upload is smaller than the minimum allowed object size.',
      details,
    );
  },
  expiredToken() {
    return new S3Error(400, 'ExpiredToken', 'The provided token has expired.');
  },
  incompleteBody(message?: string) {
    return new S3Error(
      400,
      'IncompleteBody',
      message ??
        'You did not provide the number of bytes specified by the Content-Length HTTP header.',
    );
  },
  internalError(message: string) {
    return new S3Error(500, 'InternalError', message);
  },
  invalidAccessKeyId(accessKeyId: string) {
    return new S3Error(
      403,
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
      { AWSAccessKeyId: accessKeyId },
    );
  },
  invalidArgument(
    message: string,
    argumentName?: string,
    argumentValue?: string,
  ) {
    const details: Record<string, string> = {};
    if (argumentName !== undefined) {
      details.ArgumentName = argumentName;
    }
    if (argumentValue !== undefined) {
      details.ArgumentValue = argumentValue;
    }
    return new S3Error(400, 'InvalidArgument', message, details);
  },
  invalidChunkSize(chunk: number, badChunkSize: number) {
    return new S3Error(
      400,
      'InvalidChunkSizeError',
      'Only the last chunk is allowed to have a size less than 8192 bytes',
      { Chunk: String(chunk), BadChunkSize: String(badChunkSize) },
    );
  },
  invalidDigest(message = 'The Content-MD5 you specified was invalid.') {
    return new S3Error(400, 'InvalidDigest', message);
  },
  invalidPart(details: Record<string, string>) {
    return new S3Error(
      400,
      'InvalidPart',
      "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
      details,
    );
  },
  invalidPartOrder() {
    return new S3Error(
      400,
      'InvalidPartOrder',
      'The list of parts was not in ascending order. Parts must be ordered by part number.',
    );
  },
  invalidRange(size: number, range: string) {
    return new S3Error(
      416,
      'InvalidRange',
      'The requested range is not satisfiable',
      { RangeRequested: range, ActualObjectSize: String(size) },
      { 'Content-Range': `bytes */${size}` },
    );
  },
  invalidRequest(message: string) {
    return new S3Error(400, 'InvalidRequest', message);
  },
  invalidToken() {
    return new S3Error(
      400,
      'InvalidToken',
      'The provided token is malformed or otherwise invalid.',
    );
  },
  invalidUri() {
    return new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.");
  },
  keyTooLong(size: number) {
    return new S3Error(400, 'KeyTooLongError', 'Your key is too long', {
      Size: String(size),
      MaxSizeAllowed: '1024',
    });
  },
  malformedTrailer(message?: string) {
    return new S3Error(
      400,
      'MalformedTrailerError',
      message ??
        'The request contained trailing data that was not well-formed or did not conform to our published schema.',
    );
  },
  malformedXml(reason?: string) {
    const base =
      'The XML you provided was not well-formed or did not validate against our published schema';
    return new S3Error(
      400,
      'MalformedXML',
      reason ? `${base} (${reason}).` : `${base}.`,
    );
  },
  maxMessageLengthExceeded(limit: number) {
    return new S3Error(
      400,
      'MaxMessageLengthExceeded',
      'Your request was too big.',
      { MaxMessageLengthBytes: String(limit) },
    );
  },
  metadataTooLarge(size: number, maxSize: number) {
    return new S3Error(
      400,
      'MetadataTooLarge',
      'Your metadata headers exceed the maximum allowed metadata size.',
      { Size: String(size), MaxSizeAllowed: String(maxSize) },
    );
  },
  methodNotAllowed(method: string, resourceType: string) {
    return new S3Error(
      405,
      'MethodNotAllowed',
      'The specified method is not allowed against this resource.',
      { Method: method, ResourceType: resourceType },
    );
  },
  missingContentLength() {
    return new S3Error(
      411,
      'MissingContentLength',
      'You must provide the Content-Length HTTP header.',
    );
  },
  noSuchBucket(bucket: string) {
    return new S3Error(
      404,
      'NoSuchBucket',
      'The specified bucket does not exist',
      {
        BucketName: bucket,
      },
    );
  },
  noSuchKey(key: string) {
    return new S3Error(404, 'NoSuchKey', 'The specified key does not exist.', {
      Key: key,
    });
  },
  noSuchUpload(uploadId: string) {
    return new S3Error(
      404,
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      { UploadId: uploadId },
    );
  },
  notImplemented(message: string) {
    return new S3Error(501, 'NotImplemented', message);
  },
  preconditionFailed(condition: string) {
    return new S3Error(
      412,
      'PreconditionFailed',
      'At least one of the pre-conditions you specified did not hold',
      { Condition: condition },
    );
  },
  requestTimeTooSkewed(requestTime: string, serverTime: string) {
    return new S3Error(
      403,
      'RequestTimeTooSkewed',
      'The difference between the request time and the current time is too large.',
      {
        RequestTime: requestTime,
        ServerTime: serverTime,
        MaxAllowedSkewMilliseconds: '900000',
      },
    );
  },
  signatureDoesNotMatch(details: Record<string, string>) {
    return new S3Error(
      403,
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      details,
    );
  },
  xAmzContentSha256Mismatch(clientHash: string, serverHash: string) {
    return new S3Error(
      400,
      'XAmzContentSHA256Mismatch',
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
      {
        ClientComputedContentSHA256: clientHash,
        S3ComputedContentSHA256: serverHash,
      },
    );
  },
};
