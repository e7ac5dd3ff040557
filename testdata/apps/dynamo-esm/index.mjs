//! lamina e2e app: an ESM handler building a DynamoDB PutItem with AWS SDK v3 and uuid v5 ids, all offline.
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { v5 as uuidv5, validate, version } from 'uuid';

// Static credentials: the default provider chain would probe the network (IMDS) for them.
const client = new DynamoDBClient({
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example-secret' },
  maxAttempts: 1,
});

// Stop each request once it is serialized, before signing (which stamps the time) and sending.
client.middlewareStack.add(
  () => async (args) => {
    throw Object.assign(new Error('request captured'), { captured: args.request });
  },
  { step: 'build', priority: 'low', name: 'e2eCaptureRequest' },
);

export const handler = async (event) => {
  const id = uuidv5(event.order.url, uuidv5.URL);
  const item = marshall({ id, ...event.order }, { removeUndefinedValues: true });

  let request;
  try {
    await client.send(new PutItemCommand({ TableName: event.table, Item: item }));
  } catch (err) {
    if (!err.captured) throw err;
    request = err.captured;
  }

  return {
    id,
    uuid: { valid: validate(id), version: version(id) },
    region: await client.config.region(),
    item,
    roundTrip: unmarshall(item),
    request: {
      method: request.method,
      hostname: request.hostname,
      path: request.path,
      target: request.headers['x-amz-target'],
      contentType: request.headers['content-type'],
      // The JSON protocol may hand over the body as bytes.
      body: JSON.parse(typeof request.body === 'string' ? request.body : new TextDecoder().decode(request.body)),
    },
  };
};
