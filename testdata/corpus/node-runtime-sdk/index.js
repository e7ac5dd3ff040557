//! lamina corpus app: an upload handler writing to S3 with the AWS SDK v3 the Node.js runtime
//! ships. `@aws-sdk/client-s3` is deliberately not in package.json: on Lambda it comes from
//! /var/runtime/node_modules, which is on NODE_PATH.
'use strict';

const { S3Client, PutObjectCommand } = require('@aws-sdk/client-s3');
const mime = require('mime-types');

// Static credentials: the default provider chain would probe the network (IMDS) for them.
const s3 = new S3Client({
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret' },
  maxAttempts: 1,
});

// Offline: stop each request once it is built, before signing (which stamps the time) and
// sending, and answer as S3 would.
let lastRequest;
s3.middlewareStack.add(
  () => async (args) => {
    lastRequest = args.request;
    return { output: { ETag: '"e2e-etag"', VersionId: 'v1', $metadata: { httpStatusCode: 200 } }, response: {} };
  },
  { step: 'build', priority: 'low', name: 'e2eAnswerOffline' },
);

exports.handler = async (event) => {
  const uploads = [];
  for (const record of event.files) {
    const contentType = mime.lookup(record.name) || 'application/octet-stream';
    const key = `uploads/${record.owner}/${record.name}`;
    const result = await s3.send(
      new PutObjectCommand({
        Bucket: event.bucket,
        Key: key,
        Body: Buffer.from(record.content, 'utf8'),
        ContentType: contentType,
        Metadata: { owner: record.owner },
      }),
    );
    uploads.push({
      key,
      contentType,
      extension: mime.extension(contentType),
      charset: mime.charset(contentType) || null,
      etag: result.ETag,
      request: {
        method: lastRequest.method,
        hostname: lastRequest.hostname,
        path: lastRequest.path,
        contentType: lastRequest.headers['content-type'],
        owner: lastRequest.headers['x-amz-meta-owner'],
      },
    });
  }
  return { region: await s3.config.region(), uploads };
};
